"""Real feed corpora (tests/fixtures/feeds, with their licences) and hostile feeds of our own:
every entry feedparser sees is archived, every file is valid, nothing crashes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

from crawler.extract.feed import FeedError, entry_article, parse_feed
from crawler.items import Shelf
from crawler.store import ArchiveWriter
from crawler.store.judge import unsafe_markup
from crawler.store.verify import verify

CORPUS = Path(__file__).parent / "fixtures" / "feeds"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".xml", ".json", ".rss", ".atom"))
HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.M)
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "http://127.0.0.1:8097/feed.xml"


def headers_of(data: bytes) -> dict[str, str]:
    """The `Header:` lines feedparser's corpus gives some files (served with them)."""
    text = data.decode("utf-8", "replace")
    return {k.strip(): v.strip() for k, v in HEADER.findall(text)} or {"Content-Type": "text/xml"}


def archive(entries, root: Path) -> list[Path]:
    shelf = Shelf("测试", "corpus", "feed")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with ArchiveWriter(root) as writer:
        return [writer.write(entry_article(e, URL, when).filed(shelf)).path for e in entries]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_corpus_file(path: Path, tmp_path: Path):
    data = path.read_bytes()
    headers = headers_of(data)
    try:
        feed = parse_feed(data, URL, headers, SHANGHAI)
    except FeedError:
        seen = feedparser.parse(
            io.BytesIO(data),
            response_headers={
                **{k.lower(): v for k, v in headers.items()},
                "content-location": URL,
            },
        )
        assert not seen.entries, "feedparser sees entries we refused"
        return
    written = archive(feed.entries, tmp_path)
    if path.suffix != ".json":
        seen = feedparser.parse(
            io.BytesIO(data),
            response_headers={
                **{k.lower(): v for k, v in headers.items()},
                "content-location": URL,
            },
        )
        assert len(feed.entries) == len(seen.entries)
    assert len(set(written)) == len({e.id for e in feed.entries})  # one file per entry id
    assert verify(tmp_path) == []
    for file in written:  # titles are text in YAML; the body is what a browser renders
        assert unsafe_markup(file.read_text(encoding="utf-8").split("\n<div>   \n", 1)[1]) == []


def rss(items: str, prologue: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prologue}<rss version="2.0"><channel>'
        f"<title>t</title><link>http://e.org/</link>{items}</channel></rss>"
    ).encode()


def item(title: str, body: str = "<p>x</p>", guid: str = "1") -> str:
    return (
        f"<item><title>{title}</title><guid>{guid}</guid>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


HOSTILE = {
    "xxe": rss(item("&xxe;"), '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
    "billion_laughs": rss(
        item("&lol3;"),
        '<!DOCTYPE r [<!ENTITY lol "lol"><!ENTITY lol2 '
        '"&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;">]>',
    ),
    "quadratic": rss(item("&a;" * 5000), f'<!DOCTYPE r [<!ENTITY a "{"x" * 50000}">]>'),
    "surrogate_charref": rss(item("bad &#xD800; ref")),
    "huge_charref": rss(item("bad &#x110000; ref")),
    "frontmatter_injection": rss(item("a\n---\ntitle: pwned\n---\n' \" \\ : # &amp; !!python")),
    "path_traversal": rss(item("../../../../etc/passwd") + item("..", guid="2")),
    "xss": rss(
        item(
            "<script>alert(1)</script>",
            '<img src=x onerror="alert(1)">'
            '<a href="javascript:alert(2)">x</a><iframe src="//evil"></iframe>',
        )
    ),
    "empty": b"",
    "truncated": rss(item("whole") + item("cut", guid="2"))[:-60],
    "html_not_xml": b"<!DOCTYPE html><html><head><title>Not a feed</title></head><body>x</body>",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_feed(name: str, tmp_path: Path):
    data = HOSTILE[name]
    try:
        feed = parse_feed(data, URL, {"Content-Type": "application/rss+xml"}, SHANGHAI)
    except FeedError as exc:
        assert "\n" not in str(exc)
        return
    archive(feed.entries, tmp_path)
    assert verify(tmp_path) == []
    for file in tmp_path.rglob("*.md"):
        text = file.read_text(encoding="utf-8")
        assert "root:" not in text and unsafe_markup(text.split("<div>", 1)[1]) == []
        assert file.resolve().is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize(
    "prologue",
    [
        f'<!DOCTYPE r [<!ENTITY a "{"x" * 50000}">]>',
        # A `<x` before the root element that is not the root: in an instruction, a literal,
        # a comment of the internal subset.
        '<?xml-stylesheet href="<x"?><!DOCTYPE r [<!ENTITY a "x">]>',
        '<!DOCTYPE r SYSTEM "<x" [<!ENTITY a "x">]>',
        "<!DOCTYPE r PUBLIC '<x' 'y' [<!ENTITY a \"x\">]>",
        '<!DOCTYPE r [<!-- <x --><!ENTITY a "x">]>',
        '<!DOCTYPE r [<!ELEMENT r ANY><?pi <x?><!eNtItY a "x">]>',
    ],
)
def test_entity_declarations_are_refused_before_parsing(prologue):
    with pytest.raises(FeedError, match="ENTITY"):
        parse_feed(rss(item("&a;"), prologue), URL, {}, SHANGHAI)


def test_twenty_thousand_items(tmp_path: Path):
    items = "".join(item(f"第{i}条", guid=str(i)) for i in range(20_000))
    feed = parse_feed(rss(items), URL, {}, SHANGHAI)
    assert len(feed.entries) == 20_000 and len({e.id for e in feed.entries}) == 20_000


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026年11月26日 10:30", "2026-11-26T02:30:00+00:00"),
        ("2021-03-29 08:19:46", "2021-03-29T00:19:46+00:00"),
        ("2016/6/29 15:07:41", "2016-06-29T07:07:41+00:00"),
        ("Mon, 27 Sep 2021 23:54:59 GMT", "2021-09-27T23:54:59+00:00"),
        ("Tue, 10 May 2022 15:00:00 -0000", "2022-05-10T15:00:00+00:00"),
        ("2021-09-27T23:54:59+08:00", "2021-09-27T15:54:59+00:00"),
    ],
)
def test_dates_feedparser_misreads_are_read_in_the_source_zone(text, iso):
    feed = parse_feed(
        rss(f"<item><guid>1</guid><pubDate>{text}</pubDate></item>"), URL, {}, SHANGHAI
    )
    assert feed.entries[0].date.astimezone(UTC).isoformat() == iso


def test_entry_fields():
    body = rss(
        "<item><title>T &amp; U</title><link>/a/1</link><author>me@x (Me)</author>"
        '<guid isPermaLink="false">g-1</guid><description>short</description>'
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        '<![CDATA[ <p>full <img src="/i.png"></p> ]]></content:encoded>'
        '<enclosure url="http://e.org/e.jpg" type="image/jpeg" length="1"/></item>'
    )
    (entry,) = parse_feed(body, "http://e.org/feed", {}, SHANGHAI).entries
    assert (entry.id, entry.title, entry.link) == ("g-1", "T & U", "http://e.org/a/1")
    assert entry.body == '<p>full <img src="/i.png"></p>' and entry.image == "http://e.org/e.jpg"
    no_id = rss("<item><title>x</title><pubDate>2021-01-01</pubDate></item>")
    assert len(parse_feed(no_id, URL, {}, SHANGHAI).entries[0].id) == 40  # sha1 of title+date
