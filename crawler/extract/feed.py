"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0 (feedparser) and JSON Feed: bytes in, entries out.

feedparser only ever sees bytes in a stream (given a str or bytes it may open a URL or a
local file), with the HTTP context, unsanitized. What it cannot survive is kept from it.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser

from ..items import Article, Shelf
from ..markup import Attr, Tag, text_content, tokenize

MAX_TITLE = 2_000  # characters
MAX_BODY = 2_000_000  # characters
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_HTML_SPACE = " \t\n\r\f"
_XML_BASE = (b"xml:base", "xml:base".encode("utf-16-le"))  # found in UTF-16 BE text too
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


class FeedError(Exception):
    """The document is not a feed we can read; the message is one line."""


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    link: str
    date: datetime | None
    author: str
    body: str
    image: str  # an image enclosure or media thumbnail
    keywords: tuple[str, ...] = ()  # the entry's categories (RSS <category>, Atom, JSON tags)


@dataclass(frozen=True)
class Feed:
    title: str
    entries: list[FeedEntry]
    bozo: str | None  # why the document is not well-formed, if it is not


def parse_feed(body: bytes, url: str, headers: dict[str, str], zone: ZoneInfo) -> Feed:
    """The feed's entries; FeedError when there is nothing to archive and a reason why."""
    if not body.strip():
        raise FeedError("not a feed: the document is empty")
    if _looks_like_json(body, headers):
        return _json_feed(body, url, zone)
    prologue = body[: _prologue_end(body)]
    if _ENTITY_DECL.search(prologue):
        raise FeedError("the document declares XML entities (<!ENTITY): refused")
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["content-location"] = url
    try:
        parsed = feedparser.parse(
            io.BytesIO(_repair_charrefs(body)),
            response_headers=lowered,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises on some bad character references
        raise FeedError(f"the feed parser failed: {type(exc).__name__}: {exc}") from None
    bozo = _one_line(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    rebases = any(mark in body for mark in _XML_BASE)  # else every base is the feed URL
    entries = [_entry(e, url, zone, rebases) for e in parsed.entries]
    if not entries and bozo:
        raise FeedError(f"not a feed: {bozo}")
    feed_title = _text(parsed.feed.get("title", ""), parsed.feed.get("title_detail"))
    return Feed(_clip(feed_title, MAX_TITLE), entries, bozo)


def _repair_charrefs(body: bytes) -> bytes:
    """Character references to surrogates or past U+10FFFF make feedparser raise: they
    become U+FFFD, as an HTML parser would read them."""

    def repair(m: re.Match) -> bytes:
        code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        return m.group(0) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else b"&#xFFFD;"

    return _CHARREF.sub(repair, body) if b"&#" in body else body


def _prologue_end(body: bytes) -> int:
    """Where the root element starts: everything before is prologue (XML declaration,
    processing instructions, comments, the DOCTYPE with its internal subset), read as XML
    reads it, so that no `<` inside a literal or an instruction ends it early."""
    pos, n = 0, len(body)
    while pos < n:
        lt = body.find(b"<", pos)
        if lt < 0:
            return n
        if body.startswith(b"<?", lt):
            end = body.find(b"?>", lt + 2)
            pos = n if end < 0 else end + 2
        elif body.startswith(b"<!--", lt):
            end = body.find(b"-->", lt + 4)
            pos = n if end < 0 else end + 3
        elif body.startswith(b"<!", lt):
            pos = _declaration_end(body, lt + 2)
        else:
            return lt
    return n


def _declaration_end(body: bytes, pos: int) -> int:
    """Just after the `>` that ends a declaration (`<!DOCTYPE … [ … ]>`): quoted literals and
    the bracketed internal subset, with its own declarations and comments, are skipped."""
    depth, n = 0, len(body)
    while pos < n:
        c = body[pos : pos + 1]
        if c in (b'"', b"'"):
            end = body.find(c, pos + 1)
            pos = n if end < 0 else end + 1
            continue
        if body.startswith(b"<!--", pos):
            end = body.find(b"-->", pos + 4)
            pos = n if end < 0 else end + 3
            continue
        if c == b"[":
            depth += 1
        elif c == b"]":
            depth = max(depth - 1, 0)
        elif c == b">" and depth == 0:
            return pos + 1
        pos += 1
    return n


def _entry(entry: dict, feed_url: str, zone: ZoneInfo, rebases: bool = False) -> FeedEntry:
    title = _clip(_entry_title(entry), MAX_TITLE)
    link = _absolute(entry.get("link", ""), feed_url)
    raw_date = entry.get("published") or entry.get("updated") or ""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    date = parse_date(raw_date, zone, parsed)
    contents = entry.get("content") or []
    detail = contents[0] if contents else entry.get("summary_detail") or {}
    body = _clip(detail.get("value", "") if contents else entry.get("summary", ""), MAX_BODY)
    base = detail.get("base") or ""  # the content's xml:base, as feedparser resolved it
    if rebases and base not in (feed_url, link) and base.startswith(("http://", "https://")):
        body = _rebased(body, base)  # it wins over the entry link
    item_id = entry.get("id") or link or _sha1(title + raw_date)
    return FeedEntry(
        id=_clip(item_id, 2_000),
        title=title,
        link=link,
        date=date,
        author=_clip(entry.get("author", ""), 200),
        body=body.strip(_HTML_SPACE),
        image=_image(entry, feed_url),
        keywords=_keywords(t.get("term") for t in entry.get("tags") or () if isinstance(t, dict)),
    )


# ---- titles and bodies as a reader sees them

_MARKUP_TYPES = ("text/html", "application/xhtml+xml")


def _is_markup(detail: dict | None) -> bool:
    """Atom `type="html"`/`"xhtml"`, or an RSS title in which feedparser finds HTML."""
    return (detail or {}).get("type") in _MARKUP_TYPES


def _text(value: str, detail: dict | None) -> str:
    """A title as text: an HTML one loses its markup and has its references decoded; a plain
    one (`a < b`) is kept as it is."""
    return text_content(value or "") if _is_markup(detail) else value or ""


def _entry_title(entry: dict) -> str:
    """The entry's title as the store takes it: the store decodes the entities of every title
    (docs/FORMAT.md TITLE), so an HTML title made text keeps its `&` through that."""
    detail = entry.get("title_detail")
    title = _text(entry.get("title", ""), detail)
    return title.replace("&", "&amp;") if _is_markup(detail) else title


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_IMAGE_URL = re.compile(r"\.(?:gif|png|jpe?g|webp)", re.I)
_DATA = re.compile(r"\s*data:", re.I)


def _rebased(body: str, base: str) -> str:
    """The body with the relative URLs that docs/FORMAT.md edits 2–3 resolve (`<a href>`,
    `<img>`'s source) made absolute against the content's xml:base. The store resolves what
    is left against the item's URL, the entry link, which an xml:base overrides."""
    edits: list[tuple[int, int, str]] = []
    for tok in tokenize(body):
        if not isinstance(tok, Tag) or tok.closing or tok.name not in ("a", "img"):
            continue
        attr = tok.attr("href") if tok.name == "a" else _image_source(tok)
        url = htmllib.unescape(attr.value).strip() if attr and attr.value else ""
        if not url or _SCHEME.match(url):
            continue
        try:
            absolute = urljoin(base, url)
        except ValueError:  # not a URL (`//[::1`): left as it is, for the store to judge
            continue
        edits.append((attr.value_start, attr.value_end, _attribute_value(attr, absolute)))
    out, pos = [], 0
    for start, end, text in edits:  # tokens come in order and do not overlap
        out += [body[pos:start], text]
        pos = end
    return "".join(out) + body[pos:]


def _attribute_value(attr: Attr, url: str) -> str:
    """The new value's text as the store writes one: `&` and the quote escaped, and quoted
    where the old value was not."""
    value = url.replace("&", "&amp;")
    if attr.quote == "'":
        return value.replace("'", "&#39;")
    value = value.replace('"', "&quot;")
    return value if attr.quote else f'"{value}"'


def _image_source(tag: Tag) -> Attr | None:
    """The attribute the store takes an image's `src` from: `src`, else (missing, blank or a
    `data:` placeholder) the first lazy-loading attribute holding an image URL."""
    src = tag.attr("src")
    if src is not None and (src.value or "").strip() and not _DATA.match(src.value):
        return src
    names = (a for a in tag.attrs if a.name != "src" and not a.name.endswith("srcset"))
    lazy = (a for a in names if not a.name.startswith("on") and a.value)
    return next((a for a in lazy if _IMAGE_URL.search(a.value)), None)


def _image(entry: dict, feed_url: str) -> str:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return _absolute(enclosure["href"], feed_url)
    for key in ("media_thumbnail", "media_content"):
        for media in entry.get(key) or []:
            if media.get("url") and media.get("medium", "image") == "image":
                return _absolute(media["url"], feed_url)
    return ""


# ---- dates: feedparser reads zone-less times as UTC and misses Chinese forms; we do not.

_CN = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?)?"
)
_NUMERIC = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_date(text: str, zone: ZoneInfo, parsed=None) -> datetime | None:
    """An aware datetime for a feed date; times without a zone are in `zone`."""
    text = (text or "").strip()
    if not text:
        return None
    for reader in (_rfc822, _numeric, _chinese):
        try:
            moment = reader(text, zone)
        except (TypeError, ValueError, OverflowError):
            moment = None
        if moment is not None:
            return moment
    if parsed:  # a form only feedparser knows; it gives UTC
        try:
            return datetime(*parsed[:6], tzinfo=UTC)
        except (TypeError, ValueError):
            return None
    return None


def _rfc822(text: str, zone: ZoneInfo) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3,},?\s+)?\d{1,2}\s+[A-Za-z]{3}", text):
        return None
    moment = parsedate_to_datetime(text)
    if moment.tzinfo is None and re.search(r"-0000\s*$", text):  # UTC, local zone unknown
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _numeric(text: str, zone: ZoneInfo) -> datetime | None:
    m = _NUMERIC.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, offset = m.groups()
    moment = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
    )
    if offset is None:
        return moment.replace(tzinfo=zone)
    if offset != "Z" and ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return datetime.fromisoformat(moment.isoformat() + ("+00:00" if offset == "Z" else offset))


def _chinese(text: str, zone: ZoneInfo) -> datetime | None:
    m = _CN.search(text)
    if not m:
        return None
    parts = [int(p or 0) for p in m.groups()]
    return datetime(*parts, tzinfo=zone)


# ---- JSON Feed (feedparser 6.0 does not read it)


def _looks_like_json(body: bytes, headers: dict[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def _json_feed(body: bytes, url: str, zone: ZoneInfo) -> Feed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FeedError(f"not a feed: invalid JSON ({_one_line(exc)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError("not a feed: JSON without a JSON Feed version")
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = _absolute(_str(item.get("url")), url)
        title = _clip(_str(item.get("title")), MAX_TITLE)
        raw_date = _str(item.get("date_published")) or _str(item.get("date_modified"))
        body = _str(item.get("content_html")) or htmllib.escape(_str(item.get("content_text")))
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = next((_str(a.get("name")) for a in authors if isinstance(a, dict)), "")
        image = _str(item.get("image")) or _str(item.get("banner_image"))
        entries.append(
            FeedEntry(
                id=_clip(_str(item.get("id")) or link or _sha1(title + raw_date), 2_000),
                title=title,
                link=link,
                date=parse_date(raw_date, zone),
                author=author,
                body=_clip(body or _str(item.get("summary")), MAX_BODY).strip(_HTML_SPACE),
                image=_absolute(image, url),
                keywords=_keywords(item.get("tags") if isinstance(item.get("tags"), list) else ()),
            )
        )
    return Feed(_clip(_str(data.get("title")), MAX_TITLE), entries, None)


# ---- small helpers


def _absolute(link: str, base: str) -> str:
    link = (link or "").strip()
    return urljoin(base, link) if link else ""


def _keywords(terms) -> tuple[str, ...]:
    """An entry's categories as keywords: strings only, at most 20 of 100 characters."""
    kept = (_clip(term, 100).strip() for term in terms if isinstance(term, str))
    return tuple(dict.fromkeys(k for k in kept if k))[:20]


def _clip(value: object, limit: int) -> str:
    return str(value or "")[:limit]


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def entry_article(
    entry: FeedEntry, shelf: Shelf, feed_url: str, fetched_at: datetime, body: str | None = None
) -> Article:
    """The article of a feed entry (`body` from the entry's page when fetched in full)."""
    return Article(
        id=entry.id,
        url=entry.link or feed_url,
        title=entry.title,
        body=entry.body if body is None else body,
        shelf=shelf,
        date=entry.date,
        date_guessed=entry.date is None,
        author=entry.author,
        image=entry.image,
        keywords=entry.keywords,
        fetched_at=fetched_at,
    )
