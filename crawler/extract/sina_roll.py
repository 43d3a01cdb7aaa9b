"""The Sina roll API (`feed.mix.sina.com.cn/api/roll/get`): JSON or JSONP in, roll items out."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlunsplit

from .. import urls
from ..errors import one_line
from .feed import read_json
from .sina_page import doc_id, url_id

ROLL_API = "https://feed.mix.sina.com.cn/api/roll/get"
ROLL_REFERER = "https://finance.sina.com.cn/"
PAGE_ID = 155
PAGE_SIZE = 50
_JSONP = re.compile(
    r"^\s*(?:try\s*\{)?\s*[\w$.]+\s*\((.*)\)\s*;?\s*(?:\}\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}\s*;?)?\s*$",
    re.S,
)
# The roll times a date can be made of: after 1970, before 9999-12-30 (a day short of the
# last a datetime holds, so that no zone takes one out of range).
_SECONDS = range(1, int(datetime(9999, 12, 30, tzinfo=UTC).timestamp()) + 1)
log = logging.getLogger("crawler")


class RollError(Exception):
    """The roll API answered, but not with a list (error status, not JSON)."""


@dataclass(frozen=True)
class RollItem:
    id: str
    url: str
    title: str = ""
    intime: int | None = None  # Unix seconds
    mtime: int | None = None  # Unix seconds: when Sina last changed the article
    media: str = ""
    author: str = ""
    keywords: tuple[str, ...] = ()


def roll_url(lid: int, page: int, num: int = PAGE_SIZE, *, pageid: int = PAGE_ID) -> str:
    query = urlencode({"pageid": pageid, "lid": lid, "num": min(num, PAGE_SIZE), "page": page})
    return f"{ROLL_API}?{query}"


# The page each roll belongs to, sent as its Referer (the API answers the pages it serves).
ROLL_REFERERS = {
    155: ROLL_REFERER,  # finance.sina.com.cn: 国内滚动, 宏观, 地方, 部委, 金融, TOP10
    384: "https://finance.sina.com.cn/roll/",  # the finance roll page: 财经, 股市, 美股, …
    153: "https://news.sina.com.cn/roll/",  # news categories
}


def roll_referer(pageid: int) -> str:
    return ROLL_REFERERS.get(pageid, ROLL_REFERER)


def api_result(body: bytes, api: str = "roll") -> dict:
    """The `result` object of a Sina API's answer (JSON, or JSONP such as
    `try{cb({…});}catch(e){};`) whose status is 0; RollError naming `api` if it is none."""
    text = body.decode("utf-8-sig", "replace").strip()
    m = _JSONP.match(text) if not text.startswith("{") else None
    try:
        data = read_json(m.group(1) if m else text)
    except (json.JSONDecodeError, RecursionError):
        raise RollError(f"not JSON: {text[:60]!r}") from None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise RollError("no 'result' object in the answer")
    status = result.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    if str(code) != "0":
        raise RollError(f"{api} API error {code}: {status.get('msg', '')}".strip())
    return result


def parse_roll(body: bytes) -> list[RollItem]:
    """The items of one roll page, in order, each docid once; RollError if it is no list."""
    entries = api_result(body).get("data")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise RollError("'data' is not a list")
    items, seen = [], set()
    for n, entry in enumerate(entries, start=1):
        item = _guarded(entry, n) if isinstance(entry, dict) else None
        if item is not None and item.id not in seen:
            seen.add(item.id)
            items.append(item)
    return items


def _guarded(entry: dict, n: int) -> RollItem | None:
    """The entry's item: one that raises, whatever it holds, is skipped alone."""
    try:
        return _item(entry, n)
    except Exception as exc:
        _skipped(n, entry, one_line(exc))
        return None


def _item(entry: dict, n: int) -> RollItem | None:
    given = _text(entry.get("url")) or _text(entry.get("wapurl"))
    url = canonical_url(given)
    if not url:
        if given and urls.split(given) is None:
            _skipped(n, entry, f"its URL {given[:200]!r} is not a URL")
        return None
    # One article, one id, whichever host the roll lists it on (docs/SINA.md §0).
    docid = _text(entry.get("docid")).removeprefix("comos:")
    item_id = doc_id(url) or docid or url_id(url)
    if not item_id:
        return None
    keywords = tuple(
        k.strip() for k in re.split(r"[,，]", _text(entry.get("keywords"))) if k.strip()
    )
    return RollItem(
        id=item_id,
        url=url,
        title=_text(entry.get("title")) or _text(entry.get("stitle")),
        intime=_seconds(entry.get("intime")) or _seconds(entry.get("ctime")),
        mtime=_seconds(entry.get("mtime")),
        media=_text(entry.get("media_name")) or _text(entry.get("media")),
        author=_text(entry.get("author")),
        keywords=keywords,
    )


def _skipped(n: int, entry: dict, reason: str) -> None:
    """A roll item that cannot be read is said, as a skipped feed entry is; not its roll."""
    docid = _text(entry.get("docid"))
    name = f" ({docid[:100]!r})" if docid else ""
    log.warning("roll item %d%s: %s, skipped", n, name, reason)


def canonical_url(url: str) -> str:
    """An article URL without tracking query or fragment; '' if it is not http(s)."""
    parts = urls.split(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _seconds(value: object) -> int | None:
    """A roll time (Unix seconds, a number or its ASCII digits) that a date can be made of;
    None for any other (Infinity, NaN, `²`, year 10000, negative): the item has no time."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in _SECONDS else None


def roll_date(seconds: int | None) -> datetime | None:
    """The moment of a roll time, or None when there is none it can be."""
    checked = _seconds(seconds)
    return None if checked is None else datetime.fromtimestamp(checked, UTC)
