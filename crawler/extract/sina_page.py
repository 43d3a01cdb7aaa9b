"""Sina article pages, 2004–2024: one page object per layout family of SINA.md §1.

A page is matched to its family by what it contains. Each family says where its title,
date, media, keywords and body are; the body is the exact source text of its element.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import ClassVar
from zoneinfo import ZoneInfo

from .html import Element, Selector, find, link_texts, meta, selector, text_of

BEIJING = ZoneInfo("Asia/Shanghai")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(\d{1,2}):(\d{2})")
_DOT_DATE = re.compile(
    r"(\d{4})[.-](\d{1,2})[.-](\d{1,2})\D{0,40}?(\d{1,2}):(\d{2})(?::(\d{2}))?", re.S
)
_TITLE_SUFFIX = re.compile(r"(?:_[^_]*)*_新浪网$|_新浪[^_]*$")
_DOC_ID = re.compile(r"doc-i([a-z0-9]+)\.s?html", re.I)


def doc_id(url: str) -> str | None:
    """The item id of a Sina article URL (`doc-i<ID>.shtml` → `<ID>`)."""
    m = _DOC_ID.search(url)
    return m.group(1) if m else None


def beijing_time(text: str | None) -> datetime | None:
    """A Sina page date (`2018年12月28日 19:55`, `2018-12-28 19:55:10`, `2005.08.26 05:39`)."""
    if not text:
        return None
    if m := _CN_DATE.search(text):
        parts = [int(x) for x in m.groups()] + [0]
    elif m := _DOT_DATE.search(text):
        parts = [int(x or 0) for x in m.groups()]
    else:
        return None
    try:
        return datetime(*parts, tzinfo=BEIJING)
    except ValueError:
        return None


class SinaPage:
    """Fields common to every family; subclasses name their elements."""

    family: ClassVar[str] = "?"
    markers: ClassVar[tuple[Selector, ...]] = ()  # all must be present
    excludes: ClassVar[tuple[Selector, ...]] = ()  # none may be present
    title_at: ClassVar[tuple[Selector, ...]] = ()
    date_at: ClassVar[tuple[Selector, ...]] = ()
    media_at: ClassVar[tuple[Selector, ...]] = ()
    keywords_at: ClassVar[Selector | None] = None
    body_at: ClassVar[tuple[Selector, ...]] = ()

    def __init__(self, html: str, url: str):
        self.html = html
        self.url = url

    @classmethod
    def matches(cls, present: Callable[[Selector], bool]) -> bool:
        """Whether a page is of this family (`present` says whether it has an element); the
        excludes go first: one found spares the markers' search."""
        return not any(present(p) for p in cls.excludes) and all(present(p) for p in cls.markers)

    @cached_property
    def body_element(self) -> Element | None:
        for pattern in self.body_at:
            if element := find(self.html, pattern):
                return element
        return None

    @property
    def body(self) -> str | None:
        """The exact source text inside the body element, or None (video, slides)."""
        element = self.body_element
        return None if element is None or not element.closed else element.inner(self.html)

    @property
    def title(self) -> str:
        for pattern in self.title_at:
            if title := text_of(self.html, pattern, raw=True):
                return title
        page_title = text_of(self.html, selector("title"), raw=True)
        return _TITLE_SUFFIX.sub("", page_title).strip()

    @property
    def published(self) -> datetime | None:
        """Creation time: the create_at meta, else the displayed date (never published_time,
        which is the last update)."""
        created = beijing_time(meta(self.html, "weibo: article:create_at"))
        if created:
            return created
        for pattern in self.date_at:
            if moment := beijing_time(text_of(self.html, pattern)):
                return moment
        return None

    @property
    def media(self) -> str:
        for pattern in self.media_at:
            if media := text_of(self.html, pattern):
                return media
        return meta(self.html, "article:author") or meta(self.html, "mediaid") or ""

    @property
    def keywords(self) -> tuple[str, ...]:
        if self.keywords_at is not None:
            found = link_texts(self.html, find(self.html, self.keywords_at))
            if found:
                return found
        words = (w.strip() for w in re.split(r"[,，]", meta(self.html, "keywords") or ""))
        return tuple(dict.fromkeys(w for w in words if w and w != "sina.cn"))


class MobilePage(SinaPage):
    """G. finance.sina.cn mobile pages."""

    family = "G"
    markers = (selector("section", cls="art_content"),)
    title_at = (selector("h1", cls="art_tit_h1"),)
    date_at = (selector("time", cls="weibo_time"),)
    body_at = (selector("section", cls="art_content"),)

    @property
    def published(self) -> datetime | None:
        return super().published or beijing_time(meta(self.html, "article:published_time"))


class NewsPage(SinaPage):
    """E. news.sina.com.cn 2018–24: `div#article`, no #artibody."""

    family = "E"
    markers = (selector("h1", cls="main-title"), selector("div", id="article"))
    excludes = (selector("div", id="artibody"),)
    title_at = (selector("h1", cls="main-title"),)
    date_at = (selector("span", cls="date"),)
    media_at = (selector("a", cls="source"), selector("span", cls="source"))
    keywords_at = selector("div", id="keywords")
    body_at = (selector("div", id="article"),)


class FinancePage(SinaPage):
    """D. finance 2018–19 "main-title" pages with `div#artibody`."""

    family = "D"
    markers = (selector("h1", cls="main-title"), selector("div", id="artibody"))
    title_at = (selector("h1", cls="main-title"),)
    date_at = (selector("span", cls="date"),)
    media_at = (selector("a", cls="source"), selector("span", cls="source"))
    keywords_at = selector("div", cls="keywords")
    body_at = (selector("div", id="artibody"),)


class Article16Page(SinaPage):
    """C. 2016–17 "article_16" pages: `h1#artibodyTitle`, `.time-source`."""

    family = "C"
    markers = (selector("h1", id="artibodyTitle"), selector("span", cls="time-source"))
    title_at = (selector("h1", id="artibodyTitle"),)
    date_at = (selector("span", cls="time-source"),)
    media_at = (selector("span", attr=("data-sudaclick", "media_name")),)
    keywords_at = selector("div", cls="article-keywords")
    body_at = (selector("div", id="artibody"),)

    @property
    def media(self) -> str:
        media = super().media
        if media:
            return media
        shown = text_of(self.html, selector("span", cls="time-source"))
        return _CN_DATE.sub("", shown).strip()  # 2016: `2016年05月25日10:10 新浪财经`


class BlkPage(SinaPage):
    """B/B'. 2009 "blk" pages (GB2312) and their 2019 UTF-8 tech reuse."""

    family = "B"
    markers = (selector("h1", id="artibodyTitle"), selector("span", id="pub_date"))
    title_at = (selector("h1", id="artibodyTitle"),)
    date_at = (selector("span", id="pub_date"),)
    media_at = (selector("span", id="media_name"),)
    body_at = (selector("div", id="artibody"),)


class TablePage(SinaPage):
    """A. 2004–05 table layout (GB2312): `th.f24` or `td.title14`, free-text date."""

    family = "A"
    markers = (
        Selector(
            "", pattern=re.compile(r"<(?:th|td)\b[^<>]*\bclass\s*=\s*[\"']?(?:f24|title14)\b", re.I)
        ),
    )
    title_at = (selector("th", cls="f24"), selector("td", cls="title14"))
    body_at = (selector("font", id="zoom"), selector("td", cls="l17"))

    @cached_property
    def body_element(self) -> Element | None:
        """The innermost `td.l17` (2005 pages nest one for the text inside one for the frame)."""
        element = super().body_element
        while element is not None and element.name == "td":
            inner = find(self.html, self.body_at[1], element.content_start, element.content_end)
            if inner is None:
                break
            element = inner
        return element

    @property
    def published(self) -> datetime | None:
        return beijing_time(self._dateline)

    @property
    def media(self) -> str:
        m = re.search(
            r"<font\s+color=[\"']?#A20010[\"']?>(.*?)</font>", self._dateline, re.I | re.S
        )
        return " ".join(m.group(1).split()) if m else ""

    @cached_property
    def _dateline(self) -> str:
        m = _CN_DATE.search(self.html)
        return self.html[m.start() : m.start() + 200] if m else ""


class ArtibodyPage(SinaPage):
    """F. any other page with `div#artibody` (the fragments RSSHub kept): body only."""

    family = "F"
    markers = (selector("div", id="artibody"),)
    body_at = (selector("div", id="artibody"),)


FAMILIES: tuple[type[SinaPage], ...] = (
    MobilePage,
    NewsPage,
    FinancePage,
    Article16Page,
    BlkPage,
    TablePage,
    ArtibodyPage,
)


def sina_page(html: str, url: str) -> SinaPage:
    """The page object of the first family whose markers the page has."""
    seen: dict[Selector, bool] = {}  # families share markers: each is looked for once

    def present(selector: Selector) -> bool:
        if selector not in seen:
            seen[selector] = selector.search(html) is not None
        return seen[selector]

    for family in FAMILIES:
        if family.matches(present):
            return family(html, url)
    return SinaPage(html, url)  # no known body element: a video or slide page
