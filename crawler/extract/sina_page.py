"""Sina article pages, 2004–2024: one page object per layout family of docs/SINA.md §1.

A page is matched to its family by what it contains (`markers`, `excludes`): exactly one of
the dated families claims each saved page (each case in tests/cases/sina/ names its family),
and the fallback family F only takes pages none of them claims. Each family says where its
title, date, media, keywords and body are, and between which days its saved pages were
published (`seen`); the body is the exact source text of its element.

A page no family claims is a slide or video page (sina_media.py), or a layout no family knows
yet: `recognized` is False, and the crawl keeps it as a sample.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cached_property
from typing import ClassVar
from zoneinfo import ZoneInfo

from .html import Element, Selector, find, innermost, link_texts, meta, selector, text_of

BEIJING = ZoneInfo("Asia/Shanghai")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(\d{1,2}):(\d{2})")
_DOT_DATE = re.compile(
    r"(\d{4})[.-](\d{1,2})[.-](\d{1,2})\D{0,40}?(\d{1,2}):(\d{2})(?::(\d{2}))?", re.S
)
# An article's doc id in its URL: `doc-i<ID>.shtml` on the desktop hosts, `detail-i<ID>.d.html`
# on the mobile ones (finance.sina.cn, news.sina.cn) and video pages: one id for one article.
_DOC_ID = re.compile(r"(?:doc|detail)-i([a-z0-9]+)(?:\.d)?\.s?html", re.I)
# Sina's other item URLs: 看点 (k.sina.com.cn, k.sina.cn) `article_<uid>_<ID>.html`, 财经头条
# `articles/view/<uid>/<ID>`, and slide albums `slide_<channel>_<sid>_<aid>.html`.
_OTHER_IDS = (
    re.compile(r"/article_\d+_([0-9a-z]+)\.html", re.I),
    re.compile(r"/articles/view/\d+/([0-9a-z]+)", re.I),
    re.compile(r"/(slide_\d+_\d+_\d+)\.html", re.I),
)
_PUBLISH_ID = re.compile(r"[0-9a-z]{6,40}")


def without_site_name(title: str) -> str:
    """A page title without the site's name: from the first `_` on when it ends in `_新浪网`
    (`标题_财经_新浪网`), else from the last `_` when that part starts with `新浪`
    (`标题_新浪财经`). In one pattern, `(?:_[^_]*)*_新浪网$`, every `_` rescans the rest."""
    text = title.removesuffix("\n")  # `$` also matches before a final newline
    cut = text.find("_") if text.endswith("_新浪网") else text.rfind("_")
    if cut < 0 or not (text.endswith("_新浪网") or text.startswith("_新浪", cut)):
        return title
    return title[:cut] + title[len(text) :] if text.endswith("_新浪网") else title[:cut]


def doc_id(url: str) -> str | None:
    """The doc id of a Sina article URL (`doc-i<ID>.shtml`, `detail-i<ID>.d.html` → `<ID>`)."""
    m = _DOC_ID.search(url)
    return m.group(1) if m else None


def url_id(url: str) -> str | None:
    """The item id a Sina URL gives: its doc id, else the id of a 看点, 财经头条 or slide URL."""
    if found := doc_id(url):
        return found
    for pattern in _OTHER_IDS:
        if m := pattern.search(url):
            return m.group(1)
    return None


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

    family: ClassVar[str] = "?"  # "?": no family claims the page
    seen: ClassVar[tuple[str, str]] = ("", "")  # first and last day of its saved pages
    fallback: ClassVar[bool] = False  # claims only pages no other family claims
    is_media: ClassVar[bool] = False  # a slide or video page (sina_media.py), no article page
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

    @property
    def publish_id(self) -> str | None:
        """The doc id the page says it is (`<meta name="publishid">`): the same on every host
        that serves the article (desktop, mobile, 看点)."""
        found = (meta(self.html, "publishid") or "").lower()
        return found if _PUBLISH_ID.fullmatch(found) else None

    @property
    def recognized(self) -> bool:
        """A page of a known family whose body element is there and closed: an article."""
        return self.body is not None

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
        """The exact source text inside the body element, or None (no such element)."""
        element = self.body_element
        return None if element is None or not element.closed else element.inner(self.html)

    @property
    def title(self) -> str:
        for pattern in self.title_at:
            if title := text_of(self.html, pattern, raw=True):
                return title
        page_title = text_of(self.html, selector("title"), raw=True)
        return without_site_name(page_title).strip()

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
    def date_origin(self) -> str | None:
        """Where `published` comes from: "page meta" (create_at), "page" (the shown date)."""
        if beijing_time(meta(self.html, "weibo: article:create_at")):
            return "page meta"
        return "page" if self.published else None

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
    seen = ("2005-08-26", "2005-08-26")
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
    seen = ("2018-09-28", "2024-05-16")
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
    seen = ("2018-09-28", "2019-09-09")
    markers = (selector("h1", cls="main-title"), selector("div", id="artibody"))
    title_at = (selector("h1", cls="main-title"),)
    date_at = (selector("span", cls="date"),)
    media_at = (selector("a", cls="source"), selector("span", cls="source"))
    keywords_at = selector("div", cls="keywords")
    body_at = (selector("div", id="artibody"),)


class Article16Page(SinaPage):
    """C. 2016–17 "article_16" pages: `h1#artibodyTitle`, `.time-source`."""

    family = "C"
    seen = ("2016-05-25", "2017-07-27")
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
    seen = ("2009-11-09", "2019-09-11")
    markers = (selector("h1", id="artibodyTitle"), selector("span", id="pub_date"))
    title_at = (selector("h1", id="artibodyTitle"),)
    date_at = (selector("span", id="pub_date"),)
    media_at = (selector("span", id="media_name"),)
    body_at = (selector("div", id="artibody"),)


class TablePage(SinaPage):
    """A. 2004–05 table layout (GB2312): `th.f24` or `td.title14`, free-text date."""

    family = "A"
    seen = ("2004-10-13", "2005-03-31")
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
        if element is None or element.name != "td":
            return element
        return innermost(self.html, element, self.body_at[1])

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
    """F. the fallback: any other page with `div#artibody` (the 2021–22 finance pages whose
    #artibody RSSHub kept): body only, the roll item gives the rest."""

    family = "F"
    seen = ("2022-01-24", "2022-01-24")
    fallback = True
    markers = (selector("div", id="artibody"),)
    body_at = (selector("div", id="artibody"),)


# The newest first: `claim` stops at the first that claims a page, and no two claim one.
FAMILIES: tuple[type[SinaPage], ...] = (
    NewsPage,
    FinancePage,
    MobilePage,
    Article16Page,
    BlkPage,
    TablePage,
    ArtibodyPage,
)


def _present(html: str) -> Callable[[Selector], bool]:
    """Whether the page has an element, each selector looked for once (families share
    markers)."""
    seen: dict[Selector, bool] = {}

    def present(selector: Selector) -> bool:
        if selector not in seen:
            seen[selector] = selector.search(html) is not None
        return seen[selector]

    return present


def _claiming(html: str) -> Iterator[type[SinaPage]]:
    """The families whose markers the page has, as they are found; the fallback family only
    if no other has."""
    present, dated = _present(html), False
    for family in FAMILIES:
        if not family.fallback and family.matches(present):
            dated = True
            yield family
    if not dated:
        yield from (f for f in FAMILIES if f.fallback and f.matches(present))


def claims(html: str) -> list[type[SinaPage]]:
    """Every family that claims the page (tests/test_sina_extract.py holds that exactly one
    claims each saved page)."""
    return list(_claiming(html))


def claim(html: str) -> type[SinaPage] | None:
    """The family that claims the page: a crawl's one pass over it, which stops at the first
    (no two dated families claim one page)."""
    return next(_claiming(html), None)
