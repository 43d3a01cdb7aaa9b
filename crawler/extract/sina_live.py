"""Sina Finance's 7×24 live feed (`zhibo.sina.com.cn/api/zhibo/feed`): its flashes, one
article each (docs/SINA.md §6).

A page of the feed is `result.data.feed.list`, newest first; a flash has an `id`, its text
(`rich_text`, Sina's markup), `create_time` and `update_time` (Beijing), `tag` (the feed's
own topics) and `ext`, a JSON string of its `stocks` and its page (`docurl`).
"""

from __future__ import annotations

import html as htmllib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from .. import urls
from ..errors import one_line
from ..items import Article
from ..markup import Tag, text_content, tokenize
from .sina_page import BEIJING, beijing_time
from .sina_roll import RollError, api_result, canonical_url

LIVE_API = "https://zhibo.sina.com.cn/api/zhibo/feed"
LIVE_PAGE = "https://finance.sina.com.cn/7x24/"  # the feed's own page: its Referer
PAGE_SIZE = 10  # the most the API gives a page (RSSHub)
MAX_HEADLINE = 80  # characters of a 【headline】 that is a title
TITLE_CHARS = 40  # characters of a title made of the text, when it has no headline
_HEADLINE = re.compile(rf"^\s*【([^【】]{{1,{MAX_HEADLINE}}})】")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_SYMBOL = re.compile(r"[A-Za-z0-9_.]{1,20}")
# A picture's address in `multimedia`: the string is cut at what no URL holds, and each piece
# matched whole (one pattern over the string would rescan from every `//`: quadratic).
_NO_URL = re.compile(r"""[\s"'<>()\[\]{},\\]+""")
_IMAGE = re.compile(r"(?:https?:)?//[^?#]{1,2000}\.(?:jpe?g|png|gif|webp)(?:\?.{0,2000})?", re.I)
MAX_MULTIMEDIA = 100_000  # characters of `multimedia` read
# The inline markup a flash's text may keep (Sina's rich_text is text, now and then bold or a
# link): anything else, or markup that does not close, and the text is shown as text,
# so that it cannot take in the lines after it (a comment, a <textarea>, an open <div>).
_INLINE = {"b", "strong", "i", "em", "u", "a", "span", "font", "sub", "sup"}
# A stock's quote page on Sina by its market (ext.stocks[].market); others are named only.
QUOTE_PAGES = {
    "cn": "https://finance.sina.com.cn/realstock/company/{}/nc.shtml",
    "hk": "https://stock.finance.sina.com.cn/hkstock/quotes/{}.html",
    "us": "https://stock.finance.sina.com.cn/usstock/quotes/{}.html",
}
log = logging.getLogger("crawler")


@dataclass(frozen=True)
class Stock:
    market: str
    symbol: str
    name: str


@dataclass(frozen=True)
class Flash:
    id: str
    text: str  # rich_text: Sina's markup
    time: datetime | None = None  # create_time
    updated: datetime | None = None  # update_time: when Sina last changed it
    url: str = LIVE_PAGE  # its own page (ext.docurl), else the feed's
    tags: tuple[str, ...] = ()
    stocks: tuple[Stock, ...] = ()
    images: tuple[str, ...] = ()


def live_url(zhibo_id: int, page: int) -> str:
    query = {"zhibo_id": zhibo_id, "page": page, "pagesize": PAGE_SIZE, "dire": "f", "dpc": 1}
    return f"{LIVE_API}?{urlencode(query)}"


def parse_live(body: bytes) -> list[Flash]:
    """The flashes of one page of the feed, in order, each id once, deleted ones left out;
    RollError if the answer is no list, or lists flashes of which none can be read (the
    feed's shape changed: the drift alarm)."""
    data = api_result(body, "live feed").get("data")
    feed = data.get("feed") if isinstance(data, dict) else None
    entries = feed.get("list") if isinstance(feed, dict) else None
    if not isinstance(entries, list):
        raise RollError("no 'data.feed.list' in the answer")
    flashes, seen, unread = [], set(), 0
    for n, entry in enumerate(entries, start=1):
        try:
            flash = _flash(entry)
        except Exception as exc:
            log.warning("live flash %d: %s, skipped", n, one_line(exc))
            flash = None
        if flash is None:
            unread += not (isinstance(entry, dict) and _deleted(entry) is True)
        elif flash.id not in seen:
            seen.add(flash.id)
            flashes.append(flash)
    if entries and unread == len(entries):
        raise RollError(f"none of its {len(entries)} flashes has an id and a text: has it changed?")
    return flashes


_DELETED = {1, "1", "true"}  # True is 1, False is 0
_KEPT = {0, "0", "false", "", None}


def _deleted(entry: dict) -> bool | None:
    """Whether Sina took the flash back (`is_delete`); None when the value says neither (a
    changed format: the flash is unread, which the drift alarm counts)."""
    value = entry.get("is_delete")
    value = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(value, int | float | str | None):  # a list, an object: unhashable
        return None
    return True if value in _DELETED else False if value in _KEPT else None


def _flash(entry: object) -> Flash | None:
    if not isinstance(entry, dict) or _deleted(entry) is not False:
        return None
    flash_id = entry.get("id")
    flash_id = str(flash_id) if isinstance(flash_id, (int, str)) else ""
    text = entry.get("rich_text")
    if not (flash_id.isascii() and flash_id.isdigit() and len(flash_id) <= 20):
        return None
    if not isinstance(text, str) or not text_content(text).strip():
        return None
    ext = _ext(entry.get("ext"))
    page = ext.get("docurl") if isinstance(ext.get("docurl"), str) else entry.get("docurl")
    return Flash(
        id=flash_id,
        text=text.strip(),
        time=_time(entry.get("create_time")),
        updated=_time(entry.get("update_time")),
        url=canonical_url(page) if isinstance(page, str) and canonical_url(page) else LIVE_PAGE,
        tags=_tags(entry.get("tag")),
        stocks=_stocks(ext.get("stocks")),
        images=_images(entry.get("multimedia")),
    )


def _ext(value: object) -> dict:
    """`ext`: a JSON string (a mapping given as such is taken too); {} when it is neither."""
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


def _time(value: object) -> datetime | None:
    moment = beijing_time(value) if isinstance(value, str) else None
    return moment if moment is None or moment.year >= 2000 else None  # 1970-01-01: none


def _tags(value: object) -> tuple[str, ...]:
    tags = value if isinstance(value, list) else ()
    names = (t.get("name") for t in tags if isinstance(t, dict))
    folded = (" ".join(n.split()) for n in names if isinstance(n, str))
    return tuple(dict.fromkeys(n for n in folded if n))


def _stocks(value: object) -> tuple[Stock, ...]:
    found = {}
    for stock in value if isinstance(value, list) else ():
        if not isinstance(stock, dict):
            continue
        market, symbol, name = (stock.get(k) for k in ("market", "symbol", "key"))
        if not (isinstance(symbol, str) and _SYMBOL.fullmatch(symbol)):
            continue
        name = " ".join(name.split()) if isinstance(name, str) else ""
        market = market.strip().lower() if isinstance(market, str) else ""
        found.setdefault((market, symbol), Stock(market, symbol, name or symbol))
    return tuple(found.values())


def _images(value: object) -> tuple[str, ...]:
    """The pictures of `multimedia` (a string holding their addresses, however it wraps
    them: markup or JSON), in order, each once."""
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (dict, list)) else ""
    pieces = _NO_URL.split(value[:MAX_MULTIMEDIA].replace("\\/", "/"))
    found = (p for p in pieces if _IMAGE.fullmatch(p))
    return tuple(dict.fromkeys(u for u in found if urls.is_web(urls.join("https:", u) or "")))


def _contained(text: str) -> str:
    """The flash's text as markup when it is inline markup that closes, else as text, every
    character of it shown (`A<B股` stays `A<B股`): either way nothing of it reaches past
    its paragraph."""
    opened: list[str] = []
    for tok in tokenize(text):
        if not isinstance(tok, Tag) or (tok.name not in _INLINE and tok.name != "br"):
            return htmllib.escape(text)
        if tok.name == "br" or tok.self_closing and not tok.closing:
            continue
        if not tok.closing:
            opened.append(tok.name)
        elif not opened or opened.pop() != tok.name:
            return htmllib.escape(text)
    return text if not opened else htmllib.escape(text)


def flash_title(text: str) -> str:
    """Its 【headline】 (without the brackets), else its first sentence, cut at TITLE_CHARS
    characters."""
    plain = " ".join(text_content(text).split())
    if (m := _HEADLINE.match(plain)) and m.group(1).strip():
        return m.group(1).strip()
    if m := _SENTENCE_END.search(plain):
        plain = plain[: m.start()]
    return plain if len(plain) <= TITLE_CHARS else plain[: TITLE_CHARS - 1] + "…"


def flash_body(flash: Flash) -> str:
    """The flash as a post: its text, its pictures, then a line of its time (Beijing: the
    post's date shows the day alone), one of its topics and one of its stocks (each linked to
    its quote page where Sina has one)."""
    text = _contained(flash.text)
    parts = ["<p>" + text.replace("\r\n", "\n").replace("\n", "<br>\n") + "</p>"]
    for src in flash.images:
        parts.append(f'<div class="img_wrapper"><img src="{htmllib.escape(src)}"></div>')
    if flash.time is not None:
        parts.append(f"<p>时间：{flash.time.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}（北京时间）</p>")
    if flash.tags:
        parts.append(f"<p>标签：{htmllib.escape('、'.join(flash.tags))}</p>")
    if flash.stocks:
        named = []
        for stock in flash.stocks:
            shown = f"{htmllib.escape(stock.name)}（{htmllib.escape(stock.symbol)}）"
            if page := QUOTE_PAGES.get(stock.market):
                shown = f'<a href="{htmllib.escape(page.format(stock.symbol))}">{shown}</a>'
            named.append(shown)
        parts.append(f"<p>相关股票：{'、'.join(named)}</p>")
    return "\n".join(parts) + "\n"


def flash_article(flash: Flash, fetched_at: datetime | None = None) -> Article:
    return Article(
        id=flash.id,
        url=flash.url,
        title=flash_title(flash.text),
        body=flash_body(flash),
        date=flash.time,
        date_guessed=flash.time is None,
        keywords=flash.tags + tuple(s.name for s in flash.stocks if s.name not in flash.tags),
        fetched_at=fetched_at or datetime.now(UTC),
    )
