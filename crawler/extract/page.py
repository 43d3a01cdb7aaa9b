"""Any page: Sina's own extractor for Sina pages, else trafilatura; and telling feeds apart."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    to_unicode,
)

from .. import urls
from ..items import Article
from ..markup import Tag, element_end, text_content, tokenize
from .feed import parse_date
from .sina_media import sina_page

_WRAPPER = re.compile(r"^\s*<html>\s*<body>(.*)</body>\s*</html>\s*$", re.S)


def is_sina(url: str) -> bool:
    host = urls.host(url)
    return host == "sina.com.cn" or host.endswith((".sina.com.cn", ".sina.cn"))


def decode_page(body: bytes, content_type: str | None = None) -> str:
    """Text of an HTML page: BOM, then the HTTP header's charset, then <meta>'s, else UTF-8,
    as w3lib (Scrapy) names them (GBK is GB18030, Latin-1 is windows-1252). A declared codec
    that is no page encoding (idna, punycode, UTF-7, rot13, base64) is passed over."""
    codec, bom = read_bom(body)
    if codec and bom:
        return to_unicode(body[len(bom) :], codec)
    declared = (http_content_type_encoding(content_type), html_body_declared_encoding(body))
    codec = next((c for c in declared if c and _reads_markup(c)), "utf-8")
    return to_unicode(body, codec)


# Markup's ASCII (with escapes other codecs read: `\u0041`, `\\`), then every other byte.
_MARKUP = bytes(c for c in range(0x20, 0x7F) if c != 0x5C) + b"\t\n\r\\u0041\\\\"
_PROBE = _MARKUP + bytes(range(0x80, 0x100))


@lru_cache(maxsize=64)
def _reads_markup(codec: str) -> bool:
    """Whether `codec` reads any bytes, and the ASCII of markup as ASCII, as every page
    encoding does: the escapes, UTF-7 and UTF-16/32 without a BOM do not, and idna, punycode,
    `undefined` and the bytes-to-bytes codecs (rot13, base64) do not decode at all."""
    try:
        return to_unicode(_PROBE, codec).startswith(_MARKUP.decode("ascii"))
    except (LookupError, UnicodeError):
        return False


def page_body(
    body: bytes, url: str, content_type: str | None = None, title: str = ""
) -> str | None:
    """The main content of a page as HTML, or None when none can be found."""
    return read_any_page(body, url, content_type, title)[0]


def read_any_page(
    body: bytes, url: str, content_type: str | None = None, title: str = ""
) -> tuple[str | None, str | None]:
    """The main content of a page as HTML (None when none can be found), and the Sina layout
    family that read it (None: not a Sina page; "?": no family knows it). `title` is the
    article's: a page read by trafilatura does not repeat it as its first heading."""
    html = decode_page(body, content_type)
    if is_sina(url):
        page = sina_page(html, url)
        return page.body, page.family
    return generic_body(html, url, title), None


def generic_body(html: str, url: str, title: str = "") -> str | None:
    """trafilatura's main-content HTML (text, links, images), without its wrapper, and
    without the page's heading when that is the article's `title` (a post shows it once)."""
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
    return _without_title((m.group(1) if m else extracted).strip(), title)


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _without_title(body: str, title: str) -> str:
    """The body without a leading heading whose text is the title (white space folded,
    entities decoded: the title as the store will write it)."""
    first = next(iter(tokenize(body)), None)
    if not title or not isinstance(first, Tag) or first.start or first.name not in _HEADINGS:
        return body
    end = element_end(body, first.name, first.end)
    if end is None or text_content(body[first.end : end[0]]) != _folded(title):
        return body
    return body[end[1] :].lstrip()


def _folded(title: str) -> str:
    return " ".join(htmllib.unescape(title).split())


# A page's date with its time and zone (htmldate gives the day alone by default); `%z` is
# empty for a time without a zone, which parse_date then reads in the source's zone.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def generic_article(
    body: bytes,
    url: str,
    content_type: str | None,
    zone: ZoneInfo,
    fetched_at: datetime,
) -> Article | None:
    """Any article page: trafilatura's title, date, author and main content."""
    import trafilatura
    from trafilatura.settings import set_date_params

    html = decode_page(body, content_type)
    try:
        dates = {**set_date_params(), "outputformat": _DATE_FORMAT}
        meta = trafilatura.extract_metadata(html, default_url=url, date_config=dates)
    except Exception:  # metadata is optional: the body is what matters
        meta = None
    title = (getattr(meta, "title", None) or "").strip() or url
    text = generic_body(html, url, title)
    if text is None:
        return None
    date = parse_date(getattr(meta, "date", None) or "", zone)
    return Article(
        id=url,
        url=url,
        title=title,
        body=text,
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
