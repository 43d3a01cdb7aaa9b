"""Sina's slide (图集) and video pages: no article element, their content in the page's data.

A slide page carries its pictures and captions in an inline `var slide_data = {…}` (JSON:
`slide` the album, `images` the pictures in order); a video page names its video in its
player's settings (`video_id:'…'`) and shows a title, a summary and a poster. Each becomes a
body of Sina's own article markup (`div.img_wrapper > img + span.img_descr`, `<p>`), made
here from the page's values, every one escaped: the store judges it like any page's body.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from datetime import datetime
from functools import cached_property

from .. import urls
from .html import meta, selector, text_of
from .sina_page import SinaPage, beijing_time, claim, without_site_name

_SLIDE_DATA = re.compile(r"\bslide_data\s*=\s*(?=\{)")
# A player setting as a script writes it: `video_id:'1'`, `videoId: 1`, `"video_id":"1"`.
_VIDEO_ID = re.compile(
    r"""\b(?:video_id|videoId)['"]?\s*[:=]\s*['"]?(?!(?:null|undefined|false|true)\b)"""
    r"""([0-9A-Za-z_-]{1,40})"""
)
_POSTER = re.compile(
    r"""\b(?:pic|poster|image)['"]?\s*:\s*['"]((?:https?:)?(?:\\?/){2}[^'"\s<>]{1,2000})['"]"""
)
# A picture's address in slide_data, the biggest first (RSSHub takes `download_img`).
_IMAGE_KEYS = ("download_img", "image_url", "img_url", "url", "thumb_160")
MAX_SLIDES = 1000
VIDEO_LINK_TEXT = "观看视频"


def _text(value: str) -> str:
    return htmllib.escape(" ".join(value.split()), quote=False)


def _image_url(value: object) -> str:
    """An http(s) or protocol-relative picture address, or ''."""
    if not isinstance(value, str) or len(value) > 2000:
        return ""
    value = value.strip()
    full = "https:" + value if value.startswith("//") else value
    return value if urls.is_web(full) else ""


def _string(value: object) -> str:
    """A text value of the page's data (entities it holds decoded once: it is shown as text)."""
    return htmllib.unescape(value).strip() if isinstance(value, str) else ""


def _figure(src: str, caption: str, album: str) -> str:
    """A picture as Sina's articles show one: its caption below it, else the album's title
    as its `alt` (a theme shows an `alt` as a caption too: never both)."""
    if caption:
        descr = f'<span class="img_descr">{_text(caption)}</span>'
        return f'<div class="img_wrapper"><img src="{htmllib.escape(src)}" alt="">{descr}</div>'
    alt = htmllib.escape(album)
    return f'<div class="img_wrapper"><img src="{htmllib.escape(src)}" alt="{alt}"></div>'


class MediaPage(SinaPage):
    """A page of Sina's that is no article page: a slide or video page (`family` says which);
    its body is made from the page's data, None when that is not there (not `recognized`:
    an unknown layout, kept as a sample)."""

    is_media = True

    @property
    def title(self) -> str:
        if found := (meta(self.html, "og:title") or "").strip():  # entities decoded
            return found
        if found := text_of(self.html, selector("h1")).strip():
            return found
        return super().title

    @property
    def summary(self) -> str:
        return meta(self.html, "description") or meta(self.html, "og:description") or ""


class SlidePage(MediaPage):
    """A slide page: every picture with its caption, in order, after the album's intro."""

    family = "slides"

    @cached_property
    def data(self) -> dict | None:
        m = _SLIDE_DATA.search(self.html)
        if m is None:
            return None
        try:
            data, _ = json.JSONDecoder().raw_decode(self.html, m.end())
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

    @property
    def album(self) -> dict:
        album = (self.data or {}).get("slide")
        return album if isinstance(album, dict) else {}

    @property
    def slides(self) -> list[tuple[str, str, str]]:
        """(picture, its title, its caption) of each picture with an address, in order."""
        images = (self.data or {}).get("images")
        found = []
        for image in images[:MAX_SLIDES] if isinstance(images, list) else ():
            if not isinstance(image, dict):
                continue
            src = next((u for k in _IMAGE_KEYS if (u := _image_url(image.get(k)))), "")
            if src:
                found.append((src, _string(image.get("title")), _string(image.get("intro"))))
        return found

    @property
    def title(self) -> str:
        for key in ("long_title", "title"):
            if title := _string(self.album.get(key)):
                return title
        return super().title

    @property
    def published(self) -> datetime | None:
        return super().published or beijing_time(_string(self.album.get("createtime")))

    @property
    def body(self) -> str | None:
        slides = self.slides
        if not slides:
            return None
        title = self.title
        intro = _string(self.album.get("intro")) or self.summary
        parts = [f"<p>{_text(intro)}</p>"] if intro and intro != title else []
        albums = {title, *(_string(self.album.get(k)) for k in ("title", "long_title"))}
        for src, name, caption in slides:  # a picture titled as its album has no caption
            parts.append(_figure(src, caption or (name if name not in albums else ""), title))
        return "\n".join(parts) + "\n"


class VideoPage(MediaPage):
    """A video page: the poster, linked to the page, the summary, and the link to watch it
    there (no video file is kept)."""

    family = "video"

    @property
    def video_id(self) -> str | None:
        m = _VIDEO_ID.search(self.html)
        return m.group(1) if m else None

    @property
    def poster(self) -> str:
        found = meta(self.html, "og:image") or ""
        if not _image_url(found) and (m := _POSTER.search(self.html)):
            found = m.group(1).replace("\\/", "/")  # a JSON string's `\/`
        return _image_url(found)

    @property
    def title(self) -> str:
        return without_site_name(super().title).strip()

    @property
    def body(self) -> str | None:
        if self.video_id is None or not urls.is_web(self.url):
            return None
        link, title = htmllib.escape(self.url), self.title
        parts = []
        if poster := self.poster:
            image = f'<img src="{htmllib.escape(poster)}" alt="{htmllib.escape(title)}">'
            parts.append(f'<p><a href="{link}">{image}</a></p>')
        if summary := self.summary:
            parts.append(f"<p>{_text(summary)}</p>")
        parts.append(f'<p><a href="{link}">{VIDEO_LINK_TEXT}</a></p>')
        return "\n".join(parts) + "\n"


MEDIA_PAGES: dict[str, type[MediaPage]] = {"slides": SlidePage, "video": VideoPage}


# What marks a slide or video page (from RSSHub's sina routes, consumer code: slide pages
# live on slide.<channel>.sina.com.cn with their pictures in an inline `slide_data`, videos
# on video.sina.com.cn with a `video_id`).
MEDIA_HOSTS = {
    "video": re.compile(r"^video\.(?:[\w-]+\.)*sina\.(?:com\.)?cn$"),
    "slides": re.compile(r"^(?:slide|photo)\.(?:[\w-]+\.)*sina\.(?:com\.)?cn$"),
}
MEDIA_MARKERS = {"slides": re.compile(r"\bvar\s+slide_data\b|\bslide_data\s*=")}


def media_kind(html: str, url: str) -> str | None:
    """ "video" or "slides" for a page that is one by its host or its content, else None."""
    host = urls.host(url)
    for kind, pattern in MEDIA_HOSTS.items():
        if pattern.match(host):
            return kind
    for kind, pattern in MEDIA_MARKERS.items():
        if pattern.search(html):
            return kind
    return None


def sina_page(html: str, url: str) -> SinaPage:
    """The page object of the family that claims the page; else a slide or video page, or a
    page of no known family (`family` "?", not `recognized`)."""
    if family := claim(html):
        return family(html, url)
    if kind := media_kind(html, url):
        return MEDIA_PAGES[kind](html, url)
    return SinaPage(html, url)
