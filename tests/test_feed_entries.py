"""One bad entry never empties its feed (issue 28): an entry that cannot be read is skipped
with a warning naming it, a bad optional field (image, enclosure, authors, a time) is dropped
alone, and a page's declared charset that is no text encoding falls back to the usual one."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.extract import feed as feed_module
from crawler.extract.feed import parse_feed
from crawler.extract.page import decode_page, read_any_page
from crawler.extract.sina_article import read_page, sina_article
from crawler.extract.sina_roll import RollItem, parse_roll

from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply
from runner import crawl
from sina_cases import SINA_SOURCE, sina_cases
from sina_replay import roll_address, roll_body, serve_pages, synthetic_articles

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "https://feeds.test/feed"
JSON = {"Content-Type": "application/feed+json"}
HUGE = "9" * 5000  # past Python's 4300 digits: int() and str() of it raise
BAD_URLS = ["http://[::1", "http://[oops/x.png", "http://a.test:99999/x"]


def json_feed(items: list[dict], **extra: str) -> bytes:
    """A JSON Feed; a value "HUGE" becomes a 5000-digit integer (json.dumps cannot write it)."""
    data = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}
    return json.dumps({**data, **extra}).replace('"HUGE"', HUGE).encode()


def good(n: int) -> dict:
    return {"id": f"g{n}", "url": f"https://news.test/{n}", "title": f"好{n}", "content_html": "x"}


def titles(body: bytes, headers: dict[str, str]) -> list[str]:
    return [e.title for e in parse_feed(body, FEED_URL, headers, SHANGHAI).entries]


# ---- JSON Feed


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_json_item_whose_url_is_no_url_is_skipped_with_a_warning(url: str, caplog):
    bad = {**good(2), "id": "bad", "url": url}
    with caplog.at_level(logging.WARNING, "crawler"):
        assert titles(json_feed([good(1), bad, good(3)]), JSON) == ["好1", "好3"]
    (record,) = caplog.records
    assert record.getMessage().startswith(f"{FEED_URL}: entry 2 ('bad'): ")
    assert record.getMessage().endswith(", skipped")


@pytest.mark.parametrize("key", ["image", "banner_image"])
@pytest.mark.parametrize("url", BAD_URLS)
def test_a_json_item_s_bad_image_drops_the_image_alone(key: str, url: str):
    items = [good(1), {**good(2), key: url}, {**good(3), key: "/a.png"}]
    entries = parse_feed(json_feed(items), FEED_URL, JSON, SHANGHAI).entries
    assert [(e.title, e.image) for e in entries] == [
        ("好1", ""),
        ("好2", ""),
        ("好3", "https://feeds.test/a.png"),
    ]


@pytest.mark.parametrize("authors", [5, "ab", [5, None], {"name": "x"}, True])
def test_authors_of_an_odd_type_are_no_author(authors):
    items = [good(1), {**good(2), "authors": authors}, {**good(3), "author": 7}]
    entries = parse_feed(json_feed(items), FEED_URL, JSON, SHANGHAI).entries
    assert [(e.title, e.author) for e in entries] == [("好1", ""), ("好2", ""), ("好3", "")]


def test_a_5000_digit_integer_anywhere_is_kept_as_its_text():
    items = [good(1), {**good(2), "id": "HUGE", "date_published": "HUGE"}, good(3)]
    body = json_feed(items, expired="HUGE")
    entries = parse_feed(body, FEED_URL, JSON, SHANGHAI).entries
    assert [e.title for e in entries] == ["好1", "好2", "好3"]
    assert entries[1].id == HUGE[:2000] and entries[1].date is None


def test_an_item_that_is_no_object_is_skipped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, "crawler"):
        assert titles(json_feed([good(1), 5, good(3)]), JSON) == ["好1", "好3"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{FEED_URL}: entry 2: not an object, skipped"
    ]


# ---- RSS and Atom (feedparser)


def rss_with(extra: str, link: str = "https://news.test/2") -> bytes:
    guid = '<guid isPermaLink="false">bad</guid>'
    bad = f"<item><title>坏</title>{guid}<link>{link}</link>{extra}</item>"
    return rss("t", [rss_item("好1", "g1", "x"), bad, rss_item("好3", "g3", "x")])


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_enclosure_or_thumbnail_drops_the_image_alone(url: str):
    enclosure = f'<enclosure url="{url}" type="image/png" length="0"/>'
    thumbnail = f'<media:thumbnail xmlns:media="http://search.yahoo.com/mrss/" url="{url}"/>'
    for extra in (enclosure, thumbnail, enclosure + thumbnail.replace(url, "/t.png")):
        entries = parse_feed(rss_with(extra), FEED_URL, RSS, SHANGHAI).entries
        assert [e.title for e in entries] == ["好1", "坏", "好3"]
        assert entries[1].image == ("https://feeds.test/t.png" if "t.png" in extra else "")


def test_an_rss_link_that_is_no_url_skips_its_item_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, "crawler"):
        xml = rss_with("", link="https://news.test:99999/2")
        assert titles(xml, RSS) == ["好1", "好3"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{FEED_URL}: entry 2 ('bad'): its link 'https://news.test:99999/2' is not a URL, skipped"
    ]


def test_an_entry_that_raises_anything_is_skipped_alone(monkeypatch, caplog):
    """The guard itself: whatever reading one entry raises fails that entry only."""
    parse_date = feed_module.parse_date

    def exploding(text, zone, parsed=None):
        if "1999" in (text or ""):
            raise RuntimeError("boom")
        return parse_date(text, zone, parsed)

    monkeypatch.setattr(feed_module, "parse_date", exploding)
    bad_rss = rss_item("坏", "bad", "x", date="Fri, 01 Jan 1999 00:00:00 GMT")
    xml = rss("t", [rss_item("好1", "g1", "x"), bad_rss, rss_item("好3", "g3", "x")])
    items = [good(1), {**good(2), "date_published": "1999-01-01"}, good(3)]
    with caplog.at_level(logging.WARNING, "crawler"):
        assert titles(xml, RSS) == ["好1", "好3"]
        assert titles(json_feed(items), JSON) == ["好1", "好3"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{FEED_URL}: entry 2 ('bad'): RuntimeError: boom, skipped",
        f"{FEED_URL}: entry 2 ('g2'): RuntimeError: boom, skipped",
    ]


# ---- the Sina roll

SINA_URL = "https://finance.sina.com.cn/china/2024-01-01/doc-i{}.shtml"
BAD_TIMES = [
    float("inf"),
    float("nan"),
    float("-inf"),
    "²",
    "١٧٠٤٠٦٧٢٠٠",  # Arabic-Indic digits: int() reads them, a Unix time is ASCII
    "HUGE",  # a 5000-digit integer
    '"HUGE"',  # its text
    253402300800,  # 10000-01-01
    1e300,
    -5,
    "-5",
    0,
    True,
    [1704067200],
    None,
]


def roll(items: list[dict]) -> bytes:
    """A roll answer; "HUGE" becomes a 5000-digit integer, '"HUGE"' its text."""
    quoted = roll_body(items).replace(b'"\\"HUGE\\""', b'"' + HUGE.encode() + b'"')
    return quoted.replace(b'"HUGE"', HUGE.encode())


@pytest.mark.parametrize("intime", BAD_TIMES, ids=repr)
def test_a_roll_item_s_unusable_time_is_no_time(intime):
    items = [
        {"docid": "a", "url": SINA_URL.format("a"), "intime": "1704067200"},
        {"docid": "b", "url": SINA_URL.format("b"), "intime": intime, "ctime": intime},
    ]
    got = parse_roll(roll(items))
    assert [(i.id, i.intime) for i in got] == [("a", 1704067200), ("b", None)]


def test_a_roll_item_s_time_falls_back_to_its_ctime():
    items = [{"docid": "b", "url": SINA_URL.format("b"), "intime": "Infinity", "ctime": "12"}]
    assert [i.intime for i in parse_roll(roll(items))] == [12]


@pytest.mark.parametrize("url", ["http://[x", "http://[::1/doc-ix.shtml", "https://a:99999/x"])
def test_a_roll_item_whose_url_is_no_url_is_skipped(url: str, caplog):
    items = [
        {"docid": "a", "url": SINA_URL.format("a")},
        {"docid": "x", "url": url},
        {"docid": "c", "url": SINA_URL.format("c")},
    ]
    with caplog.at_level(logging.WARNING, "crawler"):
        assert [i.id for i in parse_roll(roll(items))] == ["a", "c"]
    assert [r.getMessage() for r in caplog.records] == [
        f"roll item 2 ('x'): its URL {url!r} is not a URL, skipped"
    ]


def test_a_5000_digit_integer_in_a_roll_fails_no_roll():
    items = [{"docid": "a", "url": SINA_URL.format("a"), "intime": 1, "page_count": "HUGE"}]
    assert [i.id for i in parse_roll(roll(items))] == ["a"]
    items = [{"docid": "HUGE", "url": SINA_URL.format("a")}]
    assert [i.id for i in parse_roll(roll(items))] == ["a"]


@pytest.mark.parametrize("intime", [10**20, 253402300800, -1, 2**63])
def test_an_article_whose_roll_time_is_out_of_range_takes_the_page_s(intime: int):
    case = next(c for c in sina_cases() if c.expected()["date"])
    page = read_page(case.page, case.url, case.content_type)
    item = RollItem(id="x", url=case.url, title="t", intime=intime)
    article = sina_article(page, item, datetime(2026, 1, 1, tzinfo=UTC))
    assert article.date == page.published and article.date is not None


# ---- a page's declared charset

NOT_PAGE_ENCODINGS = ["idna", "punycode", "undefined", "utf-7", "UTF7", "rot13", "base64"]
NOT_PAGE_ENCODINGS += ["zlib", "hex", "uu", "bz2", "quopri", "unicode_escape"]
NOT_PAGE_ENCODINGS += ["raw-unicode-escape", "utf-16", "utf-32", "cp037", "nonesuch"]
PAGE = "<html><head>{meta}</head><body><p>中文 +ADw-script+AD4- \\u0041</p></body></html>"


@pytest.mark.parametrize("charset", NOT_PAGE_ENCODINGS)
def test_a_charset_that_is_no_page_encoding_is_not_used(charset: str):
    """In the header or in <meta>: the other one, else UTF-8, reads the page."""
    utf8 = PAGE.format(meta=f'<meta charset="{charset}">').encode()
    assert "中文 +ADw-script+AD4- \\u0041" in decode_page(utf8)
    assert "中文 +ADw-script+AD4- \\u0041" in decode_page(utf8, f"text/html; charset={charset}")
    gbk = PAGE.format(meta='<meta charset="gbk">').encode("gb18030")
    assert "中文" in decode_page(gbk, f"text/html; charset={charset}")


@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined", "utf-7"])
def test_pages_with_such_a_charset_are_read(charset: str):
    paragraphs = "<p>这是正文的一段，足够长，可以被识别为正文内容，而不是页面的导航。</p>" * 12
    html = f'<html><head><meta charset="{charset}"></head><body><article>{paragraphs}</article>'
    body, family = read_any_page(
        html.encode(), "https://blog.test/p", f"text/html;charset={charset}"
    )
    assert "这是正文的一段" in body and family is None
    case = sina_cases()[0]
    page = read_page(case.page, case.url, f"text/html; charset={charset}")
    assert page.body and page.family == case.family


def test_declared_page_encodings_decode_as_a_browser_reads_them():
    text = "中文 “quoted” é"
    for charset, codec in [("gb2312", "gb18030"), ("GBK", "gb18030"), ("utf-8", "utf-8")]:
        assert text in decode_page(text.encode(codec), f"text/html; charset={charset}")
        meta = f"<meta http-equiv=Content-Type content='text/html; charset={charset}'>{text}"
        assert text in decode_page(meta.encode(codec))
    assert decode_page("é“".encode("cp1252"), "text/html; charset=iso-8859-1") == "é“"
    assert decode_page(b"\xef\xbb\xbf" + text.encode(), "text/html; charset=idna") == text


# ---- a crawl: every good item of a feed holding each bad kind is archived


def bad_feeds(replay: ReplayServer) -> list[dict]:
    """An RSS feed, a JSON Feed and the Sina roll, each holding good items and bad ones."""
    rss_items = [rss_item("好一", "g1", "<p>一</p>")]
    for n, url in enumerate(BAD_URLS):
        rss_items.append(rss_item(f"坏图{n}", f"img{n}", "<p>图</p>", image=url))
    rss_items.append(rss_item("坏链", "link", "<p>链</p>", link="https://news.test:99999/x"))
    rss_items.append(rss_item("好二", "g2", "<p>二</p>"))
    replay.add("https://feeds.test/a.xml", Reply(200, rss("甲", rss_items), RSS))
    items = [good(1), {**good(2), "authors": 5}, {**good(3), "url": "http://[::1"}]
    items += [{**good(4), "image": "http://[::1"}, {**good(5), "id": "HUGE"}, 7, good(6)]
    replay.add("https://feeds.test/b.json", Reply(200, json_feed(items, expired="HUGE"), JSON))
    articles = synthetic_articles(len(BAD_TIMES) + 1)
    for article, intime in zip(articles[1:], BAD_TIMES, strict=True):
        article.roll["intime"] = intime
    serve_pages(replay, articles)
    rolled = roll([a.roll for a in articles] + [{"docid": "x", "url": "http://[x"}])
    replay.add(roll_address(1686, 1), Reply(200, rolled))
    return [
        feed_source("甲", "https://feeds.test/a.xml"),
        feed_source("乙", "https://feeds.test/b.json"),
        {**SINA_SOURCE, "limit": 100},
    ]


@pytest.mark.process
def test_a_crawl_archives_every_good_item_beside_each_bad_kind(
    replay: ReplayServer, tmp_path: Path
):
    config = feeds_yaml(tmp_path, bad_feeds(replay))
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    written = {p.stem for p in (tmp_path / "archive").rglob("*.md")}
    assert {"好一", "坏图0", "坏图1", "坏图2", "好二"} <= written and "坏链" not in written
    assert {f"好{n}" for n in (1, 2, 4, 5, 6)} <= written and "好3" not in written
    sina = {f"合成新闻第{i}号：经济数据发布" for i in range(len(BAD_TIMES) + 1)}
    assert sina <= written
    assert "source failed" not in result.stderr + result.stdout
    assert "https://feeds.test/a.xml: entry 5 ('link'): " in result.stderr
    assert "https://feeds.test/b.json: entry 3 ('g3'): " in result.stderr
    assert "roll item " in result.stderr and "'http://[x' is not a URL, skipped" in result.stderr
