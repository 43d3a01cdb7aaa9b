"""Feed and page fields as a reader expects them (issue 26): an entry's xml:base, HTML
titles, a page body that does not repeat its title, a page date with its time. In process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.extract.feed import entry_article, parse_feed
from crawler.extract.page import generic_article, generic_body
from crawler.items import Shelf
from crawler.store import ArchiveWriter
from crawler.store.template import render_article

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "https://feeds.test/feed.xml"
SHELF = Shelf("测试", "站点", "名字")
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def atom(entries: str, feed_base: str = "") -> bytes:
    base = f' xml:base="{feed_base}"' if feed_base else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{base}>'
        f"<title>t</title><id>urn:feed</id><updated>2024-03-12T01:00:00Z</updated>{entries}"
        "</feed>"
    ).encode()


def atom_entry(content: str, *, link: str = "https://news.test/2024/fed.html", attrs: str = ""):
    return (
        f"<entry{attrs}><id>urn:1</id><title>Fed</title><link href='{link}'/>"
        f"<updated>2024-03-12T01:00:00Z</updated>{content}</entry>"
    )


def html_content(markup: str, attrs: str = "", element: str = "content") -> str:
    escaped = markup.replace("&", "&amp;").replace("<", "&lt;")
    return f'<{element} type="html"{attrs}>{escaped}</{element}>'


def body_of(xml: bytes) -> str:
    """The BODY the archive writes for the feed's one entry."""
    (entry,) = parse_feed(xml, FEED_URL, {}, SHANGHAI).entries
    text = render_article(entry_article(entry, FEED_URL, WHEN).filed(SHELF)).decode()
    return text.split("\n<div>   \n", 1)[1]


# ---- xml:base


BASE = "https://cdn.test/media/"
IMAGE = html_content('<img src="img/fed.jpg">')


@pytest.mark.parametrize(
    "xml",
    [
        atom(atom_entry(html_content('<img src="img/fed.jpg">', f' xml:base="{BASE}"'))),
        atom(atom_entry(IMAGE, attrs=f' xml:base="{BASE}"')),
        atom(atom_entry(IMAGE), feed_base=BASE),
        atom(atom_entry(IMAGE), feed_base=BASE)
        .replace(b'encoding="utf-8"', b'encoding="utf-16"')
        .decode()
        .encode("utf-16-be"),
    ],
    ids=["on-content", "on-entry", "on-feed", "utf-16"],
)
def test_xml_base_resolves_the_content_s_images(xml: bytes):
    body = body_of(xml)
    assert '<img src="https://cdn.test/media/img/fed.jpg" referrerpolicy="no-referrer">' in body
    (entry,) = parse_feed(xml, FEED_URL, {}, SHANGHAI).entries
    assert entry.link == "https://news.test/2024/fed.html"  # identity: the link, unchanged
    assert entry_article(entry, FEED_URL, WHEN).filed(SHELF).url == entry.link


def test_a_relative_xml_base_resolves_against_the_enclosing_one():
    content = html_content(
        '<p><a href="../more.html">more</a><img src="a.jpg"></p>', ' xml:base="b/"'
    )
    body = body_of(atom(atom_entry(content, attrs=' xml:base="https://cdn.test/x/"')))
    assert '<a href="https://cdn.test/x/more.html">' in body
    assert '<img src="https://cdn.test/x/b/a.jpg"' in body


def test_xml_base_covers_links_lazy_images_and_summaries():
    markup = (
        "<p><a href='p?a=1&amp;b=2'>x</a> <a href=\"https://else.test/\">abs</a>"
        '<img src="data:image/gif;base64,R0lGOD" data-src="lazy.jpg"><a href=q>u</a></p>'
    )
    summary = html_content(markup, element="summary")
    body = body_of(atom(atom_entry(summary, attrs=' xml:base="https://cdn.test/m/"')))
    assert "<a href='https://cdn.test/m/p?a=1&amp;b=2'>" in body
    assert '<a href="https://else.test/">' in body  # absolute: its bytes as served
    assert '<img src="https://cdn.test/m/lazy.jpg" data-src="https://cdn.test/m/lazy.jpg"' in body
    assert '<a href="https://cdn.test/m/q">' in body


def test_xhtml_content_under_xml_base():
    content = (
        '<content type="xhtml" xml:base="https://cdn.test/x/">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><img src="a.jpg"/></div></content>'
    )
    assert '<img src="https://cdn.test/x/a.jpg"' in body_of(atom(atom_entry(content)))


def test_without_xml_base_relative_urls_resolve_against_the_entry_link():
    body = body_of(atom(atom_entry(html_content('<img src="img/fed.jpg"><a href="/">home</a>'))))
    assert '<img src="https://news.test/2024/img/fed.jpg"' in body
    assert '<a href="https://news.test/">' in body
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        b"<title>x</title><link>https://news.test/a/b.html</link>"
        b'<description><![CDATA[<img src="c.jpg">]]></description></item></channel></rss>'
    )
    (entry,) = parse_feed(rss, FEED_URL, {}, SHANGHAI).entries
    assert entry.body == '<img src="c.jpg">'  # as the feed holds it: the store resolves it


@pytest.mark.parametrize("base", ["javascript:alert(1)//", "data:text/html,x/"])
def test_an_xml_base_that_is_not_http_is_not_followed(base: str):
    body = body_of(atom(atom_entry(IMAGE, attrs=f' xml:base="{base}"')))
    assert '<img src="https://news.test/2024/img/fed.jpg"' in body


def test_a_url_that_cannot_be_resolved_fails_no_feed():
    markup = '<img src="//[::1/x.jpg"><a href="ok.html">ok</a>'
    xml = atom(atom_entry(html_content(markup), attrs=' xml:base="https://cdn.test/"'))
    (entry,) = parse_feed(xml, FEED_URL, {}, SHANGHAI).entries
    assert entry.body == '<img src="//[::1/x.jpg"><a href="https://cdn.test/ok.html">ok</a>'


# ---- titles


def atom_titled(title: str) -> bytes:
    return atom(
        f"<entry><id>urn:1</id>{title}<link href='https://news.test/a'/>"
        "<updated>2024-03-12T01:00:00Z</updated><content>x</content></entry>"
    )


def rss_titled(title: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        f"<title>{title}</title><description>x</description></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("xml", "title", "stem"),
    [
        (
            atom_titled('<title type="html">Fed holds rates &lt;em&gt;steady&lt;/em&gt;</title>'),
            "'Fed holds rates steady'",
            "Fed holds rates steady",
        ),
        (
            atom_titled(
                '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                "Fed <em>holds</em> &amp; waits</div></title>"
            ),
            "'Fed holds & waits'",
            "Fed holds & waits",
        ),
        (  # HTML whose text holds `&lt;` and `&amp;`: decoded once, not twice
            atom_titled('<title type="html">a &amp;lt; b &amp;amp; &lt;b&gt;c&lt;/b&gt;</title>'),
            "'a < b & c'",
            "a _ b & c",
        ),
        (atom_titled('<title type="text">a &lt; b</title>'), "'a < b'", "a _ b"),
        # a `<` that opens markup is `＜` (docs/FORMAT.md, TITLE: Hexo's list_posts is raw)
        (atom_titled("<title>a &lt;em&gt; b</title>"), "'a ＜em> b'", "a ＜em_ b"),
        (rss_titled("Fed &lt;em&gt;steady&lt;/em&gt;"), "'Fed steady'", "Fed steady"),
        (rss_titled("a &lt; b"), "'a < b'", "a _ b"),
        (rss_titled("AT&amp;T"), "'AT&T'", "AT&T"),
    ],
    ids=[
        "atom-html",
        "atom-xhtml",
        "html-entities",
        "atom-text",
        "atom-default",
        "rss-html",
        "rss-text",
        "rss-amp",
    ],
)
def test_html_titles_become_text(xml: bytes, title: str, stem: str, tmp_path: Path):
    (entry,) = parse_feed(xml, FEED_URL, {}, SHANGHAI).entries
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(entry_article(entry, FEED_URL, WHEN).filed(SHELF)).path
    assert f"\ntitle: {title}\n" in path.read_text("utf-8")
    assert path.name == f"{stem}.md"


def test_an_html_feed_title_names_fetched_folders_as_text():
    xml = atom_titled("<title>x</title>").replace(
        b"<title>t</title>", b'<title type="html">My &lt;b&gt;feed&lt;/b&gt; &amp;amp; more</title>'
    )
    assert parse_feed(xml, FEED_URL, {}, SHANGHAI).title == "My feed & more"


# ---- pages read by trafilatura

PARAGRAPHS = "<p>这是正文的一段，足够长，可以被识别为正文内容，而不是页面的导航或者页脚。</p>" * 12


def page(head: str, heading: str) -> str:
    return (
        f"<html><head><title>Fed holds rates steady - News</title>{head}</head><body>"
        f"<nav>menu</nav><article>{heading}{PARAGRAPHS}</article><footer>f</footer></body></html>"
    )


def article_of(html: str, zone: ZoneInfo = SHANGHAI):
    article = generic_article(html.encode(), "https://blog.test/post", "text/html", zone, WHEN)
    return article.filed(SHELF)


@pytest.mark.parametrize(
    "heading",
    ["<h1>Fed holds rates steady</h1>", "<h1>Fed  holds\n rates <em>steady</em></h1>"],
)
def test_a_page_body_does_not_repeat_the_title(heading: str):
    article = article_of(
        page('<meta property="og:title" content="Fed holds rates steady">', heading)
    )
    assert article.title == "Fed holds rates steady"
    assert "<h1" not in article.body and article.body.startswith("<p>这是正文的一段")


def test_a_heading_that_is_not_the_title_stays():
    html = page("", "<h1>Fed holds rates steady</h1>")
    body = generic_body(html, "https://blog.test/post", "Another title")
    assert body.startswith("<h1>Fed holds rates steady</h1>")
    assert generic_body(html, "https://blog.test/post", "Fed holds rates steady").startswith("<p>")
    assert generic_body(html, "https://blog.test/post").startswith("<h1>")  # no title given


@pytest.mark.parametrize(
    ("meta", "date"),
    [
        ("2024-03-12T09:00+08:00", "Tue, 12 Mar 2024 01:00:00 GMT"),
        ("2024-03-12T09:00:30Z", "Tue, 12 Mar 2024 09:00:30 GMT"),
        ("2024-03-12T09:00:00", "Tue, 12 Mar 2024 01:00:00 GMT"),  # no zone: the source's
    ],
)
def test_a_page_date_keeps_its_time_and_zone(meta: str, date: str):
    html = page(f'<meta property="article:published_time" content="{meta}">', "")
    article = article_of(html)
    assert not article.date_guessed
    assert f"\ndate: {date}\n" in render_article(article).decode()


def test_an_entrys_categories_are_its_keywords_and_with_tags_keywords_its_tags():
    xml = atom(
        atom_entry(
            html_content("<p>x</p>")
            + '<category term="经济"/><category term="Fed"/><category term="经济"/>'
            + '<category term="&lt;b&gt;x&lt;/b&gt;"/>'
        )
    )
    (entry,) = parse_feed(xml, FEED_URL, {"Content-Type": "application/atom+xml"}, SHANGHAI).entries
    assert entry.keywords == ("经济", "Fed", "<b>x</b>")
    article = entry_article(entry, FEED_URL, WHEN).filed(Shelf("测试", "站点", "名字", tags=True))
    text = render_article(article).decode("utf-8")
    assert "\ntags: \n - 经济\n - Fed\nheadimg: " in text  # markup-like categories are no tags
    assert "tags:" not in render_article(entry_article(entry, FEED_URL, WHEN).filed(SHELF)).decode()


def test_json_feed_tags_are_keywords_and_odd_values_are_dropped():
    import json

    item = {"id": "1", "title": "a", "content_html": "<p>x</p>", "tags": ["A", 5, None, "B", ""]}
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    headers = {"Content-Type": "application/feed+json"}
    (entry,) = parse_feed(json.dumps(feed).encode(), FEED_URL, headers, SHANGHAI).entries
    assert entry.keywords == ("A", "B")
    feed["items"][0]["tags"] = "A,B"  # not a list: no keywords, no failure
    (entry,) = parse_feed(json.dumps(feed).encode(), FEED_URL, headers, SHANGHAI).entries
    assert entry.keywords == ()
