"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0 (feedparser) and JSON Feed: bytes in, entries out.

feedparser only ever sees bytes in a stream (given a str or bytes it may open a URL or a
local file), with the HTTP context, unsanitized. What it cannot survive is kept from it.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import feedparser

from .. import urls
from ..errors import one_line
from ..items import Article
from ..markup import Attr, Tag, text_content, tokenize

MAX_TITLE = 2_000  # characters
MAX_BODY = 2_000_000  # characters
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_HTML_SPACE = " \t\n\r\f"
_XML_BASE = (b"xml:base", "xml:base".encode("utf-16-le"))  # found in UTF-16 BE text too
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
log = logging.getLogger("crawler")


class FeedError(Exception):
    """The document is not a feed we can read; the message is one line."""


class EntryError(Exception):
    """One entry cannot be archived (its link is no URL): it alone is skipped."""


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
    updated: datetime | None = None  # when the feed says the entry last changed


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
    entries = _readable(parsed.entries, url, lambda e: _entry(e, url, zone, rebases))
    if not entries and bozo:
        raise FeedError(f"not a feed: {bozo}")
    feed_title = _text(parsed.feed.get("title", ""), parsed.feed.get("title_detail"))
    return Feed(_clip(feed_title, MAX_TITLE), entries, bozo)


def _readable(raw: Iterable, feed_url: str, read: Callable[[object], FeedEntry]) -> list:
    """The entries `read` makes sense of. One it cannot read (a link that is no URL, a value
    of a shape no reader expects) is skipped with a warning naming it, never its feed."""
    entries = []
    for n, item in enumerate(raw, start=1):
        try:
            entries.append(read(item))
        except EntryError as exc:
            _skipped(feed_url, n, item, str(exc))
        except Exception as exc:
            _skipped(feed_url, n, item, one_line(exc))
    return entries


def _skipped(feed_url: str, n: int, item: object, reason: str) -> None:
    log.warning("%s: entry %d%s: %s, skipped", feed_url, n, _named(item), reason)


def _named(item: object) -> str:
    """How a warning names an entry: by its id, else its link, else its title."""
    keys = ("id", "link", "url", "title")
    values = (item.get(k) for k in keys) if isinstance(item, dict) else ()
    name = next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")
    return f" ({name[:100]!r})" if name else ""


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
    link = _link(entry.get("link", ""), feed_url)
    raw_date = entry.get("published") or entry.get("updated") or ""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    date = parse_date(raw_date, zone, parsed)
    # dict.get: feedparser's own get() answers `updated` with `published` when it is missing
    updated = parse_date(_str(dict.get(entry, "updated")), zone, dict.get(entry, "updated_parsed"))
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
        updated=updated,
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
        absolute = urls.join(base, url)
        if absolute is None:  # not a URL (`//[::1`): left as it is, for the store to judge
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
    """The entry's own picture: its first image enclosure, else media thumbnail or content,
    whose URL is a web one (a bad one is passed over, the entry kept)."""
    enclosures = (
        e.get("href")
        for e in entry.get("enclosures") or []
        if str(e.get("type", "")).startswith("image/")
    )
    media = (
        m.get("url")
        for key in ("media_thumbnail", "media_content")
        for m in entry.get(key) or []
        if m.get("medium", "image") == "image"
    )
    return _first_image((*enclosures, *media), feed_url)


def _first_image(candidates: Iterable[object], feed_url: str) -> str:
    """The first candidate that is an http(s) URL read against the feed's, or ""."""
    found = (urls.absolute(feed_url, c) for c in candidates if isinstance(c, str) and c.strip())
    return next((url for url in found if url), "")


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
        data = read_json(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FeedError(f"not a feed: invalid JSON ({_one_line(exc)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError("not a feed: JSON without a JSON Feed version")
    items = data.get("items") if isinstance(data.get("items"), list) else []
    entries = _readable(items, url, lambda item: _json_entry(item, url, zone))
    return Feed(_clip(_str(data.get("title")), MAX_TITLE), entries, None)


def read_json(text: str) -> object:
    """JSON as `json.loads` reads it, but an integer past Python's digit limit (which fails
    the whole document) is kept as its text: one value never spoils the rest."""
    return json.loads(text, parse_int=_integer)


def _integer(digits: str) -> int | str:
    try:
        return int(digits)
    except ValueError:
        return digits


def _json_entry(item: object, feed_url: str, zone: ZoneInfo) -> FeedEntry:
    if not isinstance(item, dict):
        raise EntryError("not an object")
    link = _link(_str(item.get("url")), feed_url)
    title = _clip(_str(item.get("title")), MAX_TITLE)
    raw_date = _str(item.get("date_published")) or _str(item.get("date_modified"))
    body = _str(item.get("content_html")) or htmllib.escape(_str(item.get("content_text")))
    tags = item.get("tags")
    return FeedEntry(
        id=_clip(_str(item.get("id")) or link or _sha1(title + raw_date), 2_000),
        title=title,
        link=link,
        date=parse_date(raw_date, zone),
        author=_json_author(item),
        body=_clip(body or _str(item.get("summary")), MAX_BODY).strip(_HTML_SPACE),
        image=_first_image((item.get("image"), item.get("banner_image")), feed_url),
        keywords=_keywords(tags if isinstance(tags, list) else ()),
        updated=parse_date(_str(item.get("date_modified")), zone),
    )


def _json_author(item: dict) -> str:
    """The first author's name (JSON Feed 1.1 `authors`, else 1.0 `author`); authors of
    another shape are no author."""
    authors = item.get("authors") or [item.get("author")]
    people = authors if isinstance(authors, list) else ()
    return next((_str(a.get("name")) for a in people if isinstance(a, dict)), "")


# ---- small helpers


def _link(link: str, base: str) -> str:
    """The entry's link read against the feed's URL ("" when it has none); EntryError when
    it is no URL: the entry is then skipped."""
    link = (link or "").strip()
    if not link:
        return ""
    joined = urls.join(base, link)
    if joined is None:
        raise EntryError(f"its link {link[:200]!r} is not a URL")
    return joined


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
    entry: FeedEntry, feed_url: str, fetched_at: datetime, body: str | None = None
) -> Article:
    """The article of a feed entry (`body` from the entry's page when fetched in full)."""
    return Article(
        id=entry.id,
        url=entry.link or feed_url,
        title=entry.title,
        body=entry.body if body is None else body,
        date=entry.date,
        date_guessed=entry.date is None,
        author=entry.author,
        image=entry.image,
        keywords=entry.keywords,
        fetched_at=fetched_at,
    )
