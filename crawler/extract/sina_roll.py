"""The Sina roll API (`feed.mix.sina.com.cn/api/roll/get`): JSON or JSONP in, roll items out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from .sina_page import doc_id

ROLL_API = "https://feed.mix.sina.com.cn/api/roll/get"
ROLL_REFERER = "https://finance.sina.com.cn/"
PAGE_ID = 155
PAGE_SIZE = 50
_JSONP = re.compile(
    r"^\s*(?:try\s*\{)?\s*[\w$.]+\s*\((.*)\)\s*;?\s*(?:\}\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}\s*;?)?\s*$",
    re.S,
)


class RollError(Exception):
    """The roll API answered, but not with a list (error status, not JSON)."""


@dataclass(frozen=True)
class RollItem:
    id: str
    url: str
    title: str = ""
    intime: int | None = None  # Unix seconds
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


def parse_roll(body: bytes) -> list[RollItem]:
    """The items of one roll page, in order, each docid once; RollError if it is no list."""
    text = body.decode("utf-8-sig", "replace").strip()
    m = _JSONP.match(text) if not text.startswith("{") else None
    try:
        data = json.loads(m.group(1) if m else text)
    except (json.JSONDecodeError, RecursionError):
        raise RollError(f"not JSON: {text[:60]!r}") from None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise RollError("no 'result' object in the answer")
    status = result.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    if str(code) != "0":
        raise RollError(f"roll API error {code}: {status.get('msg', '')}".strip())
    entries = result.get("data")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise RollError("'data' is not a list")
    items, seen = [], set()
    for entry in entries:
        item = _item(entry) if isinstance(entry, dict) else None
        if item is not None and item.id not in seen:
            seen.add(item.id)
            items.append(item)
    return items


def _item(entry: dict) -> RollItem | None:
    url = canonical_url(_text(entry.get("url")) or _text(entry.get("wapurl")))
    if not url:
        return None
    item_id = doc_id(url) or _text(entry.get("docid")).removeprefix("comos:")
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
        media=_text(entry.get("media_name")) or _text(entry.get("media")),
        author=_text(entry.get("author")),
        keywords=keywords,
    )


def canonical_url(url: str) -> str:
    """An article URL without tracking query or fragment; '' if it is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None
