"""One fuzz target per pure layer: bytes in, the layer's invariant checked.

A target returns when the invariant holds. It raises `Broken` (an AssertionError) when the
layer's answer breaks it, and lets through any exception the layer does not declare: the
layer's own error (FeedError, RollError, ConfigError) is an answer, anything else is a find.
Each target's docstring is its invariant.

Strings are read from the bytes as UTF-8 with encoded surrogates kept (`surrogatepass`, else
`surrogateescape`): a JSON feed's `"\\ud800"` puts a lone surrogate in a title or a body.

Run by tests/test_fuzz_layers.py (Hypothesis, bounded, and every saved find in
tests/cases/fuzz/<target>/) and by scripts/fuzz_atheris.py (atheris, for a time budget).
tests/cases/fuzz/<target>.dict holds the words each target's input is made of: Hypothesis
draws from them, atheris takes the file as its dictionary.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import unicodedata
import xml.parsers.expat
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from crawler import urls
from crawler.config import ConfigError, load_config, url_problem
from crawler.extract.feed import FeedError, parse_feed
from crawler.extract.page import read_any_page
from crawler.extract.sina_article import read_page, sina_article
from crawler.extract.sina_live import flash_article, parse_live
from crawler.extract.sina_media import MediaPage, sina_page
from crawler.extract.sina_roll import RollError, parse_roll
from crawler.items import Article, Shelf
from crawler.markup import (
    RAW_TEXT,
    Comment,
    RawText,
    Tag,
    _attributes,
    as_text,
    element_end,
    nesting_depth,
    text_content,
    tokenize,
)
from crawler.markup import tokens as markup_tokens
from crawler.store import index
from crawler.store.active import is_dangerous_url
from crawler.store.hexo_syntax import hexo_syntax_edits, neutralize_hexo_syntax
from crawler.store.judge import safe_markdown, unsafe_markup
from crawler.store.paths import STEM_MAX_BYTES, collision_stems, stem_for
from crawler.store.state import TextState, source_folder
from crawler.store.template import safe_markup

CASES = Path(__file__).parent / "cases" / "fuzz"
PAGE_URL = "https://finance.sina.com.cn/roll/2024-01-02/doc-inaaaaaa0001.shtml"
FEED_URL = "https://feeds.example.com/feed.xml"
FETCHED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
SHELVES = (Shelf("金融", "新浪财经", "fuzz"), Shelf("金融", "新浪财经", "fuzz", clean=True))
ZONE = ZoneInfo("Asia/Shanghai")


class Broken(AssertionError):
    """The layer answered, but its answer breaks the target's invariant."""


def check(holds: bool, what: str, detail: object = "") -> None:
    """`what` is the invariant's name: a find's signature (scripts/fuzz_atheris.py)."""
    if not holds:
        raise Broken(f"{what}: {detail!r:.300}")


def text_of(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


# ---- crawler/urls.py


def fuzz_urls(data: bytes) -> None:
    """split, host, netloc, is_web, join and absolute never raise, whatever the URL and
    base (the first line is the base, the rest the URL), and what `absolute` returns is an
    http(s) URL with a host that parses again."""
    base, _, url = text_of(data).partition("\n")
    for one in (url, base):
        parts = urls.split(one)
        check(parts is None or parts.port is None or 0 <= parts.port <= 65535, "port", one)
        check(isinstance(urls.host(one), str) and isinstance(urls.netloc(one), str), "str", one)
        urls.is_web(one)
    for a, b in ((base, url), (FEED_URL, url), (url, base)):
        urls.join(a, b)
        made = urls.absolute(a, b)
        check(made is None or urls.is_web(made), "absolute is web", (a, b, made))


# ---- crawler/markup.py


def fuzz_markup(data: bytes) -> None:
    """tokenize never raises; its tokens come in order, do not overlap and lie inside the
    input; a tag or comment starts at `<`; every attribute lies inside its tag, its value is
    the text it spans, and the one-match fast path reads a tag as the slow path does.
    element_end, nesting_depth, text_content and as_text never raise; `tokens` (kept for
    the next pass) gives what tokenize does; where no raw text starts, the reading that
    scans raw text is that one too (nesting_depth reads it then)."""
    html = text_of(data)
    pos = 0
    for tok in tokenize(html):
        check(pos <= tok.start < tok.end <= len(html), "in order", (pos, tok))
        pos = tok.end
        if isinstance(tok, RawText):
            continue
        check(html[tok.start] == "<", "starts at <", tok)
        if isinstance(tok, Comment) or tok.closing:
            continue
        for attr in tok.attrs:
            check(tok.start < attr.start <= attr.end <= tok.end, "attribute inside tag", attr)
            if attr.value is not None:
                check(html[attr.value_start : attr.value_end] == attr.value, "value", attr)
        slow, _, slow_end, slow_closing = _attributes(html, tok.start)
        check(slow_end == tok.end, "fast tag end = slow", (tok, slow_end))
        check(slow == tok.attrs, "fast attributes = slow", (tok.attrs, slow))
        check(slow_closing == tok.self_closing, "fast self-closing = slow", tok)
    for tok in tokenize(html, comments=False, raw_text=False):
        check(isinstance(tok, Tag), "only tags", tok)
    spans = [(type(t), t.start, t.end) for t in tokenize(html)]
    for _ in range(2):  # read, then kept: the same tokens either way
        check(
            [(type(t), t.start, t.end) for t in markup_tokens(html)] == spans,
            "tokens = tokenize",
            html,
        )
    starts_raw = any(
        isinstance(t, Tag) and not t.closing and t.name in RAW_TEXT for t in tokenize(html)
    )
    if not starts_raw:
        scanning = [(type(t), t.start, t.end) for t in tokenize(html, raw_text=False)]
        check(scanning == spans, "no raw text: both readings alike", html)
    first = html.find(">") + 1
    element_end(html, "div", first)
    nesting_depth(html)
    text_content(html)
    as_text(html)


# ---- crawler/store/body.py, judge.py, template.py safe_markup


def fuzz_body(data: bytes) -> None:
    """safe_markup (edits 1–3, one raw HTML block, the judge) never raises, with and without
    `clean`; its output is a fixed point (a second pass gives it back unchanged); the judge
    (crawler/store/active.py's rules, as lexbor reads the page) finds nothing active in it
    nor in its Markdown (safe_markdown); none of its images' URLs is dangerous."""
    body = text_of(data)
    for shelf in SHELVES:
        article = Article(id="fuzz", url=PAGE_URL, title="fuzz", body=body, shelf=shelf)
        out, images, _ = safe_markup(article)
        again, _, _ = safe_markup(replace(article, body=out))
        check(again == out, "idempotent", (out, again))
        check(not unsafe_markup(out), "nothing active survives", (out, unsafe_markup(out)))
        check(not any(is_dangerous_url(i) for i in images), "images are safe", images)
    markdown, _ = safe_markdown(out)
    found = unsafe_markup(markdown, markdown=True)
    check(not found, "nothing active survives in Markdown", (markdown, found))


# ---- crawler/store/hexo_syntax.py


def fuzz_hexo_syntax(data: bytes) -> None:
    """neutralize_hexo_syntax never raises, and what it gives complies with edit 6: a second
    pass finds no edit to make (no excerpt marker, no fence at a line start, no `<` inside a
    tag, no open_graph image that fails to parse)."""
    body = text_of(data)
    out = neutralize_hexo_syntax(body)
    left = hexo_syntax_edits(out)
    check(not left, "complies after one pass", (out, left))


# ---- crawler/extract/feed.py

_GOOD_JSON = (
    '{"id":"good-%d","title":"good-%d","url":"https://example.com/%d","content_html":"<p>x</p>"}'
)
_GOOD_RSS = (
    "<item><guid>good-%d</guid><title>good-%d</title><link>https://example.com/%d</link></item>"
)
_JSON_FEED = '{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[%s,%s,%s]}'
_RSS = '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>t</title>%s%s%s</channel></rss>'


def _good(template: str) -> tuple[str, str]:
    return template % (1, 1, 1), template % (2, 2, 2)


def _json_document(data: bytes) -> bool:
    """Whether `data` is a JSON text (UTF-8; a 5000-digit number is JSON too)."""
    try:
        json.loads(data.decode("utf-8"), parse_int=len)
    except (ValueError, RecursionError):
        return False
    return True


def _well_formed(data: bytes) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = lambda *a: (_ for _ in ()).throw(ValueError("DTD"))
    try:
        parser.Parse(data, True)
    except (xml.parsers.expat.ExpatError, ValueError, RecursionError):
        return False
    return True


def _feed_titles(document: bytes) -> set[str] | None:
    """The entry titles of a feed document, None when parse_feed refuses it (FeedError)."""
    try:
        feed = parse_feed(document, FEED_URL, {}, ZONE)
    except FeedError:
        return None
    for entry in feed.entries:
        check(isinstance(entry.title, str) and isinstance(entry.body, str), "entry fields", entry)
        check(not entry.image or urls.is_web(entry.image), "image is a web URL", entry.image)
    return {entry.title for entry in feed.entries}


def fuzz_feed(data: bytes) -> None:
    """parse_feed raises nothing but FeedError on any document; and the input as one item
    between two good ones, in a JSON Feed and in an RSS channel, loses neither good entry
    whenever the document it makes is valid JSON / well-formed XML (one bad entry never loses
    the others). Its images are web URLs."""
    _feed_titles(data)
    good = {"good-1", "good-2"}
    document = _splice(_JSON_FEED, _GOOD_JSON, data)
    if _json_document(document):
        titles = _feed_titles(document)
        check(titles is not None and good <= titles, "good JSON entries kept", titles)
    document = _splice(_RSS, _GOOD_RSS, data)
    if _well_formed(document):
        titles = _feed_titles(document)
        check(titles is not None and good <= titles, "good RSS entries kept", titles)


def _splice(document: str, good: str, data: bytes) -> bytes:
    """`document` with `data`, as it is, between two good entries."""
    before, after = (document % (good % (1, 1, 1), "\0", good % (2, 2, 2))).split("\0")
    return before.encode() + data + after.encode()


# ---- crawler/extract/sina_roll.py

_GOOD_ROLL = (
    '{"url":"https://finance.sina.com.cn/roll/2024-01-0%d/doc-inaaaaaa000%d.shtml",'
    '"title":"good-%d","intime":1704160000}'
)
_ROLL = '{"result":{"status":{"code":0},"data":[%s,%s,%s]}}'
_ROLL_PAGE = (
    '<html><head><title>t</title></head><body><h1 class="main-title">t</h1>'
    '<span class="date">2024年01月02日 10:00</span><div id="artibody"><p>x</p></div></body></html>'
).encode()


def _roll_items(document: bytes) -> list | None:
    try:
        items = parse_roll(document)
    except RollError:
        return None
    page = read_page(_ROLL_PAGE, PAGE_URL, None)
    for item in items:
        check(bool(item.id) and urls.is_web(item.url), "item has id and web URL", item)
        article = sina_article(page, item, FETCHED)
        check(article is not None, "the page's article", item)
    return items


def fuzz_roll(data: bytes) -> None:
    """parse_roll raises nothing but RollError on any answer; every item it gives has an id
    and an http(s) URL, and makes an article with sina_article (its intime a date); the input
    as one item between two good ones loses neither whenever the answer is valid JSON."""
    _roll_items(data)
    document = _splice(_ROLL, _GOOD_ROLL, data)
    if _json_document(document):
        titles = {item.title for item in _roll_items(document) or ()}
        check({"good-1", "good-2"} <= titles, "good roll items kept", titles)


# ---- crawler/extract/page.py, sina_page.py, sina_article.py


def fuzz_page(data: bytes) -> None:
    """read_page (the charset from a BOM, the header or <meta>) and sina_article never raise
    on any page bytes, nor do the page's fields; read_any_page gives the same body for a Sina
    URL. An article's body is the page's own text."""
    for content_type in (None, "text/html"):
        page = read_page(data, PAGE_URL, content_type)
        _ = (page.title, page.published, page.media, page.keywords, page.family, page.is_media)
        article = sina_article(page, None, FETCHED)
        own = article is None or page.is_media or article.body in page.html
        check(own, "body is the page's", article)
    body, _ = read_any_page(data, PAGE_URL, None)
    check(body == read_page(data, PAGE_URL, None).body, "read_any_page = read_page", body)


# ---- crawler/extract/sina_media.py: slide and video pages

SLIDE_URL = "https://slide.finance.sina.com.cn/sc/slide_31_84574_1.html"
VIDEO_URL = "https://video.sina.com.cn/p/finance/2024-01-02/detail-ivideo0001.d.html"
# The only markup a made body holds: its own (each value of the page's is text in it).
_MADE_TAGS = {"p", "div", "img", "span", "a"}


def fuzz_media(data: bytes) -> None:
    """A slide or video page never raises, whatever its data; a body it makes holds no markup
    but its own (`_MADE_TAGS`): the page's values are text in it, and attribute values
    quoted whole."""
    text = data.decode("utf-8", "replace")
    for html, url in (
        (f"<script>var slide_data = {text}\n</script>", SLIDE_URL),
        (f"<script>$SCOPE['video'] = {{video_id:'1', pic:'{text}'}};</script>{text}", VIDEO_URL),
    ):
        page = sina_page(html, url)
        check(isinstance(page, MediaPage), "a media page", type(page))
        _ = (page.title, page.published, page.media, page.keywords, page.recognized)
        body = page.body
        if body is None:
            continue
        tags = [t for t in tokenize(body) if isinstance(t, Tag)]
        check(all(t.name in _MADE_TAGS for t in tags), "only its own markup", body[:300])
        check(all(a.value is not None for t in tags for a in t.attrs), "attributes quoted", body)


# ---- crawler/extract/sina_live.py

_GOOD_FLASH = (
    '{"id": %d, "rich_text": "good-%d", "create_time": "2024-01-02 10:00:00",'
    ' "tag": [{"name": "公司"}], "ext": "{\\"stocks\\": []}"}'
)
_LIVE = '{"result":{"status":{"code":0},"data":{"feed":{"list":[%s,%s,%s]}}}}'


def _flash_texts(document: bytes) -> set[str] | None:
    try:
        flashes = parse_live(document)
    except RollError:
        return None
    for flash in flashes:
        article = flash_article(flash, FETCHED)
        check(bool(article.id) and article.id.isdigit(), "flash has a numeric id", flash)
        check(article.title.strip() != "" and "\n" not in article.title, "one-line title", flash)
        check(urls.is_web(article.url), "flash has a web URL", flash)
    return {flash.text for flash in flashes}


def fuzz_live(data: bytes) -> None:
    """parse_live raises nothing but RollError on any answer; every flash it gives makes an
    article with an id, a title and a web URL; the input as one flash between two good ones
    loses neither whenever the answer is valid JSON (unless it is one no flash can be read of:
    then, with the good ones, still neither)."""
    _flash_texts(data)
    document = _LIVE % (_GOOD_FLASH % (1, 1), data.decode("utf-8", "replace"), _GOOD_FLASH % (2, 2))
    if _json_document(document.encode()):
        texts = _flash_texts(document.encode()) or set()
        check({"good-1", "good-2"} <= texts, "good flashes kept", texts)


# ---- crawler/store/state.py

_STATE_FILES = ("items/fuzz/2024-01.jsonl", "images/ab.jsonl", "retries.jsonl", "feeds.jsonl")
_TABLES = ("items", "retries", "feeds", "images", "item_images")


def _state_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(index.SCHEMA)
    return db


def _rows(db: sqlite3.Connection) -> dict[str, list]:
    """The rows the text state holds (a retry's attempts and last error are the cache's)."""
    rows = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in _TABLES}
    rows["retries"] = [row[:4] + row[6:] for row in rows["retries"]]
    return rows


def fuzz_state(data: bytes) -> None:
    """TextState.load never raises on attacker-written state files (the input is every one
    of them: an items file, an image shard, retries.jsonl, feeds.jsonl); what it loads it
    saves again, and that loads back the same rows."""
    with tempfile.TemporaryDirectory() as root:
        hidden = Path(root) / ".crawler"
        for name in _STATE_FILES:
            path = hidden / "state" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        db = _state_db()
        TextState(hidden).load(db)
        loaded = _rows(db)
        again = Path(root) / "again"
        TextState(again).save(db, None, None)
        db2 = _state_db()
        TextState(again).load(db2)
        check(_rows(db2) == loaded, "save then load round-trips", loaded)


# ---- crawler/config.py


def fuzz_config(data: bytes) -> None:
    """load_config on any feeds.yaml raises nothing but ConfigError; a config it accepts has
    sources whose names make a folder (source_folder), whose time zones load and whose feed
    URLs have no problem."""
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "feeds.yaml"
        path.write_bytes(data)
        try:
            config = load_config(path)
        except ConfigError as exc:
            check("\n" not in str(exc), "one-line error", str(exc))
            return
    for source in config.sources:
        folder = source_folder(source.name)
        check(_portable(folder), "source folder portable", folder)
        ZoneInfo(source.timezone)
        check(source.type != "feed" or url_problem(source.url) is None, "url", source.url)


# ---- crawler/store/paths.py

# Windows refuses `"` too, but the reference STEM rule keeps it (docs/FORMAT.md "Paths": the
# reference archive's names hold it, and an archive is continued byte for byte).
_WINDOWS_FORBIDDEN = re.compile(r"[<>:/\\|?*\x00-\x1f\x7f]")
_DEVICES = re.compile(r"(?:CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(?:\..*)?", re.I)


def _portable(name: str) -> bool:
    """A file name every common file system takes (Windows' rules are the strictest)."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return (
        0 < size <= 255
        and not _WINDOWS_FORBIDDEN.search(name)
        and not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)
        and name[-1] not in " ."
        and name[0] not in " ._"  # Hexo skips names starting with `_`; `.` is hidden
        and not _DEVICES.fullmatch(name)
    )


def fuzz_paths(data: bytes) -> None:
    """The STEM of any title (the first line) is a portable file name of at most 240 bytes,
    and so is each of its first collision names (for any item id: the rest) with `.md`; the
    folder of any source name (the title again) is one too. None of them raises."""
    title, _, item_id = text_of(data).partition("\n")
    check(_portable(source_folder(title)), "source folder portable", title)
    stem = stem_for(title)
    check(_portable(stem) and len(stem.encode()) <= STEM_MAX_BYTES, "stem portable", stem)
    for _, name in zip(range(4), collision_stems(stem, item_id), strict=False):
        check(_portable(name + ".md"), "collision name portable", name)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "urls": fuzz_urls,
    "markup": fuzz_markup,
    "body": fuzz_body,
    "hexo_syntax": fuzz_hexo_syntax,
    "feed": fuzz_feed,
    "roll": fuzz_roll,
    "page": fuzz_page,
    "media": fuzz_media,
    "live": fuzz_live,
    "state": fuzz_state,
    "config": fuzz_config,
    "paths": fuzz_paths,
}


def dictionary(target: str) -> Path:
    """The target's libFuzzer dictionary: the words its input is made of."""
    return CASES / f"{target}.dict"


_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)")


def tokens(target: str) -> list[bytes]:
    """The words of the target's dictionary (`"…"` lines, `\\xNN`, `\\\\` and `\\"` escaped)."""
    words = []
    for line in dictionary(target).read_bytes().splitlines():
        line = line.strip()
        if line.startswith(b'"') and line.endswith(b'"') and len(line) >= 2:
            words.append(_ESCAPE.sub(_unescape, line[1:-1]))
    return words


def _unescape(m: re.Match) -> bytes:
    code = m.group(1)
    return bytes([int(code[1:], 16)]) if len(code) == 3 and code[:1] == b"x" else code
