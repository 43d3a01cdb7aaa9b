"""Any page: Sina's own extractor for Sina pages, else trafilatura; and telling feeds apart."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ..items import Article, Shelf
from .feed import parse_date
from .html import decode_html
from .sina_page import sina_page

_WRAPPER = re.compile(r"^\s*<html>\s*<body>(.*)</body>\s*</html>\s*$", re.S)


def is_sina(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "sina.com.cn" or host.endswith((".sina.com.cn", ".sina.cn"))


def page_body(body: bytes, url: str, content_type: str | None = None) -> str | None:
    """The main content of a page as HTML, or None when none can be found."""
    return read_any_page(body, url, content_type)[0]


def read_any_page(
    body: bytes, url: str, content_type: str | None = None
) -> tuple[str | None, str | None]:
    """The main content of a page as HTML (None when none can be found), and the Sina layout
    family that read it (None: not a Sina page; "?": no family knows it)."""
    html = decode_html(body, content_type)
    if is_sina(url):
        page = sina_page(html, url)
        return page.body, page.family
    return generic_body(html, url), None


def generic_body(html: str, url: str) -> str | None:
    """trafilatura's main-content HTML (text, links, images), without its wrapper."""
    import trafilatura  # heavy: loaded only when a page has to be read this way

    try:
        extracted = trafilatura.extract(
            html,
            url=url,
            output_format="html",
            include_images=True,
            include_links=True,
            include_formatting=True,
            include_comments=False,
        )
    except Exception:  # a page trafilatura cannot read: the caller keeps what it has
        return None
    if not extracted:
        return None
    m = _WRAPPER.match(extracted)
    return (m.group(1) if m else extracted).strip()


def generic_article(
    body: bytes,
    url: str,
    content_type: str | None,
    shelf: Shelf,
    zone: ZoneInfo,
    fetched_at: datetime,
) -> Article | None:
    """Any article page: trafilatura's title, date, author and main content."""
    import trafilatura

    html = decode_html(body, content_type)
    text = generic_body(html, url)
    if text is None:
        return None
    try:
        meta = trafilatura.extract_metadata(html, default_url=url)
    except Exception:  # metadata is optional: the body is what matters
        meta = None
    title = (getattr(meta, "title", None) or "").strip() or url
    date = parse_date(getattr(meta, "date", None) or "", zone)
    return Article(
        id=url,
        url=url,
        title=title,
        body=text,
        shelf=shelf,
        date=date,
        date_guessed=date is None,
        author=(getattr(meta, "author", None) or "").strip(),
        image=(getattr(meta, "image", None) or "").strip(),
        fetched_at=fetched_at,
    )


_FEED_TYPES = ("rss", "atom", "xml", "feed+json", "rdf")
_FEED_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S
)


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """A feed by its media type, or by how the document starts."""
    media = (content_type or "").split(";")[0].strip().lower()
    if any(kind in media for kind in _FEED_TYPES) and "html" not in media:
        return True
    head = body[:2048]
    return bool(_FEED_START.match(head)) or (
        head.lstrip().startswith(b"{") and b"jsonfeed.org/version" in head
    )
