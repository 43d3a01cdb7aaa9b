"""Hexo's own syntax is text in BODY (docs/FORMAT.md BODY edit 6), and no front-matter name or
title holds markup a theme or helper writes into a page unescaped (TITLE, CATEGORY / AUTHOR).
In-process first, then once through Hexo 7 and landscape (examples/blog)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import frontmatter
import pytest
from conftest import run_in_site
from selectolax.lexbor import LexborHTMLParser

from crawler.items import Article, Shelf
from crawler.spiders.fetch import FetchTarget
from crawler.store import ArchiveWriter
from crawler.store.fields import inert_name, inert_title
from crawler.store.hexo_syntax import (
    CODE_FENCE,
    EXCERPT_MARKER,
    WORD_JOINER,
    neutralize_hexo_syntax,
)
from crawler.store.judge import unsafe_markup
from crawler.store.paths import stem_for
from crawler.store.template import render_article
from crawler.store.verify import check_file

WJ = WORD_JOINER
DATE = datetime(2021, 9, 27, 23, 54, 59, tzinfo=UTC)
# Hexo 7.3's filters, as node_modules/hexo/dist/plugins/filter/ has them.
HEXO_EXCERPT = re.compile(r"<!-- ?more ?-->", re.I)
HEXO_OPEN_GRAPH_IMAGE = re.compile("<img [^>]*src=['\"]([^'\"]+)([^>]*>)", re.I)
HEXO_FENCE = re.compile(
    r"^((?:[^\S\r\n]*>){0,3}[^\S\r\n]*)(`{3,}|~{3,})[^\S\r\n]*((?:.*?[^`\s])?)[^\S\r\n]*\n"
    r"((?:[\s\S]*?\n)?)(?:(?:[^\S\r\n]*>){0,3}[^\S\r\n]*)\2[^\S\r\n]?(\n+|$)",
    re.M,
)
HEXO_EXTERNAL_LINK = re.compile(
    r"<a(?:\s+?|\s+?[^<>]+?\s+?)href=[\"']((?:https?:|//)[^<>\"']+)[\"'][^<>]*>", re.I
)


@pytest.mark.parametrize(
    ("body", "written"),
    [
        # attribute values: `&lt;` reads the same
        (
            '<p title="<!--more--><img src=x onerror=alert(1)>">a</p>',
            '<p title="&lt;!--more-->&lt;img src=x onerror=alert(1)>">a</p>',
        ),
        ("<img alt='<!-- MORE -->' src=a.png>", "<img alt='&lt;!-- MORE -->' src=a.png>"),
        ("<img alt=<!--more-->>", "<img alt=&lt;!--more-->>"),
        # comments: the marker's word changes (a comment's text is not shown), not its end
        ("<!-- more -->", "<!-- _more -->"),
        ("<!-- x <!-- more --> y -->", "<!-- x <!-- _more --> y -->"),
        ("<!--\tMore\n-->", "<!--\t_More\n-->"),
        # raw text: RCDATA reads references; CSS an escape; the rest a word joiner
        ("<textarea><!-- more --></textarea>", "<textarea>&lt;!-- more --></textarea>"),
        ("<title><!--more--></title>", "<title>&lt;!--more--></title>"),
        ("<style><!-- more --> p{}</style>", "<style><!-- m\\6f re --> p{}</style>"),
        ("<xmp><!--more--></xmp>", f"<xmp><{WJ}!--more--></xmp>"),
        ("<noscript><!-- more --></noscript>", f"<noscript><{WJ}!-- more --></noscript>"),
    ],
)
def test_the_excerpt_marker_is_broken_where_it_stands(body: str, written: str):
    assert neutralize_hexo_syntax(body) == written
    assert not HEXO_EXCERPT.search(written)
    assert not EXCERPT_MARKER.search(written)


def test_what_a_browser_reads_stays_the_same():
    body = (
        '<p title="a <!-- more --> b" data-x="<a href=\'http://x.test/\'>">t</p>'
        "<textarea>c <!--more--> d</textarea><!-- more --><p>e</p>"
    )
    before, after = LexborHTMLParser(body), LexborHTMLParser(neutralize_hexo_syntax(body))
    assert after.css_first("p").attributes == before.css_first("p").attributes
    assert after.css_first("textarea").text() == before.css_first("textarea").text()
    assert [n.tag for n in after.body.traverse(include_text=False)] == [
        n.tag for n in before.body.traverse(include_text=False)
    ]


def test_every_less_than_inside_a_tag_is_a_reference():
    """Hexo's external-link filter writes `target="_blank"` into every `<a … href="http…">`
    of a page, attribute values included: its quote would end the value."""
    body = "<p title=\"<a href='http://x.test/'><img src=y onerror=alert(1)>\">a</p>"
    written = neutralize_hexo_syntax(body)
    assert written == body.replace("<a", "&lt;a").replace("<img", "&lt;img")
    assert not HEXO_EXTERNAL_LINK.search(written)


def test_tags_that_raw_text_holds_inside_svg_hold_no_less_than():
    body = "<svg><xmp><img title=\"<a href='http://x.test/'>\"></xmp></svg>"
    assert neutralize_hexo_syntax(body) == body.replace("<a ", f"<{WJ}a ")
    body = '<svg><textarea><b title="<a href=http://x>">x</b></textarea></svg>'
    assert neutralize_hexo_syntax(body) == body.replace("<a ", "&lt;a ")


@pytest.mark.parametrize(
    ("body", "written"),
    [
        (
            "<p>a</p>\n```\n<!--\n```\n<b>x</b>\n-->",
            "<p>a</p>\n&#96;``\n<!--\n&#96;``\n<b>x</b>\n-->",
        ),
        ("x\n  > >~~~~ js\ny\n~~~~", "x\n  > >&#126;~~~ js\ny\n&#126;~~~"),
        ("```\na\n```", "&#96;``\na\n&#96;``"),
        ("x\u3000\n\u3000```", "x\u3000\n\u3000&#96;``"),  # JavaScript's \s holds U+3000
        ("x\u2028```", "x\u2028&#96;``"),  # and its ^ follows U+2028
        ('<p title="\n```">', '<p title="\n&#96;``">'),
        ("<!--\n~~~\n-->", "<!--\n&#126;~~\n-->"),
        ("<style>\n```\n</style>", "<style>\n\\60 ``\n</style>"),
        ("<xmp>\n```\n</xmp>", f"<xmp>\n{WJ}```\n</xmp>"),
        ("a ``` b\n`` c", "a ``` b\n`` c"),  # no fence: not at a line start, or two only
    ],
)
def test_code_fences_at_a_line_start_are_broken(body: str, written: str):
    assert neutralize_hexo_syntax(body) == written
    assert not HEXO_FENCE.search(f"<div>   \n{written}  \n</div>\n")
    assert not CODE_FENCE.search(written)


def test_a_body_without_hexo_syntax_keeps_every_byte():
    body = '<p class="a">x &lt; y</p>\n<!-- 文末 -->\n<style>.a{}</style>`code` ~ ``'
    assert neutralize_hexo_syntax(body) == body


def test_the_marker_made_by_removing_a_script_is_broken_too():
    article = _article('<p title="<!-- mo<script></script>re -->">x</p>')
    body = _body_of(render_article(article))
    assert not EXCERPT_MARKER.search(body) and not unsafe_markup(body)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("<img src=x onerror=alert(1)>", "＜img src=x onerror=alert(1)＞"),
        ("AT&T 'news' \"x\" `y`", "AT＆T ＇news＇ ＂x＂ ｀y｀"),
        ("  新浪\n财经 ", "新浪 财经"),
        ("金融", "金融"),
    ],
)
def test_names_are_inert(raw: str, name: str):
    assert inert_name(raw) == name


@pytest.mark.parametrize(
    ("title", "written"),
    [
        ("a < b", "a < b"),
        ("a <em> b", "a ＜em> b"),
        ("</p><!-- more --><?x", "＜/p>＜!-- more -->＜?x"),
        ("美股\"熔断\"：'一天'", "美股\"熔断\"：'一天'"),  # quotes stay (the reference posts)
        ("1<2 & 3>2", "1<2 & 3>2"),
    ],
)
def test_titles_lose_only_a_less_than_that_opens_markup(title: str, written: str):
    assert inert_title(title) == written


def test_a_feed_without_source_is_filed_under_its_title_made_inert(tmp_path: Path):
    """Folders, categories and author agree: the folders are the categories' STEMs."""
    target = FetchTarget(
        "https://f.test/feed", Shelf("金融", "新浪财经", "x"), None, ZoneInfo("UTC")
    )
    shelf = target.feed_shelf("<b>Feed</b> & 'co'")
    article = _article("<p>x</p>", shelf=shelf, title="<img src=x>", author="<i>A</i>")
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article).path
    post = frontmatter.loads(path.read_text("utf-8"))
    name = "＜b＞Feed＜/b＞ ＆ ＇co＇"
    assert post["categories"] == ["订阅", name, name]
    assert post["author"] == name
    assert post["title"] == "＜img src=x>"
    folder = stem_for(name)  # `/` is `_` in a folder name, as everywhere
    assert path.relative_to(tmp_path).parts == ("订阅", folder, folder, "＜img src=x_.md")
    assert check_file(path.read_bytes()) == []


def test_an_extracted_author_is_inert():
    shelf = Shelf("金融", "新浪财经", "n", author="extracted")
    text = render_article(_article("<p>x</p>", shelf=shelf, author='<svg onload=alert(1)>"'))
    assert "\nauthor: ＜svg onload=alert(1)＞＂\n" in text.decode()


def test_verify_names_each_kind_of_hexo_syntax():
    good = render_article(_article("<p>x</p>")).decode()
    marker = good.replace("<p>x</p>", "<p>x</p><!-- more -->")
    assert any("Hexo syntax in body" in p for p in check_file(marker.encode()))
    title = good.replace("title: 't'", "title: '<b>t'")
    assert any("title holds" in p for p in check_file(title.encode()))
    author = good.replace("author: 站点", "author: '<b>'")
    assert any("markup characters" in p for p in check_file(author.encode()))


def _article(
    body: str, *, shelf: Shelf | None = None, title: str = "t", author: str = ""
) -> Article:
    return Article(
        id=title + body,
        url="https://example.org/a",
        title=title,
        body=body,
        shelf=shelf or Shelf("金融", "站点", "名字"),
        date=DATE,
        author=author,
    )


def _body_of(data: bytes) -> str:
    return data.decode().split("<div>   \n", 1)[1].rsplit("  \n</div>", 1)[0]


# End to end: Hexo 7, landscape, hexo-renderer-marked. Each live outcome is an element the
# input had only as text: an <img data-live>, Hexo's <span id="more">, a highlighted block.
LIVE = "<img data-live={n} src=x.png>"
HOSTILE_BODIES = {
    "attribute marker": '<p title="<!--more-->' + LIVE.format(n=1) + '">甲</p>',
    "comment marker": "<p>乙</p><!-- x <!-- more --> y --><p>乙后</p>",
    "external link": "<p title=\"<a href='http://example.org/'>" + LIVE.format(n=2) + '">丙</p>',
    "fence": "<p>丁</p>\n```\n<!--\n```\n" + LIVE.format(n=3) + "\n-->\n<p>丁后</p>",
    "svg raw text": "<svg><xmp><img title=\"<a href='http://example.org/'>"
    + LIVE.format(n=4)
    + '"></xmp></svg><p>戊</p>',
    # open_graph makes a URL of every `<img …src="…"`: one that does not parse failed the page
    "open graph": "<p>壬</p><img data-src=\"https://%zz/x.png\"><!-- <img src='http://a b/'> -->"
    '<textarea><img src="https://%zz/"></textarea>',
}


@pytest.fixture(scope="module")
def public(hexo_site: Path) -> Path:
    posts = hexo_site / "source" / "_posts"
    shutil.rmtree(posts, ignore_errors=True)
    shutil.rmtree(hexo_site / "public", ignore_errors=True)
    target = FetchTarget("https://f.test/", Shelf("金融", "站点", "名字"), None, ZoneInfo("UTC"))
    feed = target.feed_shelf(LIVE.format(n=5))
    markdown = Shelf("金融", "站点", "md", body_format="markdown")
    with ArchiveWriter(posts) as writer:
        for i, (key, body) in enumerate(HOSTILE_BODIES.items()):
            writer.write(_dated(_article(body, title=f"case {key}"), i))
        writer.write(_dated(_article("<p>己</p>", shelf=feed, title=LIVE.format(n=6)), 10))
        author = Shelf("金融", "站点", "author", author="extracted")
        writer.write(_dated(_article("<p>庚</p>", shelf=author, author=LIVE.format(n=7)), 11))
        body = (
            "<p>辛 &lt;!-- more --&gt;</p><!-- more -->"
            '<img alt="<!-- more -->" src="a.png"><code>&lt;!-- more --&gt;</code>'
        )
        writer.write(_dated(_article(body, shelf=markdown, title="case markdown"), 12))
    run_in_site(hexo_site, "npx", "--no-install", "hexo", "generate", "--silent")
    return hexo_site / "public"


def _dated(article: Article, minutes: int) -> Article:
    return replace(article, date=DATE + timedelta(minutes=minutes))


@pytest.mark.slow
@pytest.mark.node
def test_hexo_finds_none_of_its_syntax_and_no_field_is_markup(public: Path):
    pages = sorted(public.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        tree = LexborHTMLParser(page.read_text("utf-8"))
        where = page.relative_to(public)
        assert not tree.css("[data-live]"), where
        assert not tree.css("span#more"), where
        assert not tree.css("figure.highlight"), where
        main = tree.css_first("#main")
        assert not main.css("a[target]"), where  # the external-link filter found nothing


@pytest.mark.slow
@pytest.mark.node
def test_the_home_page_shows_every_post_whole(public: Path):
    tree = LexborHTMLParser((public / "index.html").read_text("utf-8"))
    titles = {a.text(strip=True) for a in tree.css("#main .article-title")}
    assert {f"case {key}" for key in HOSTILE_BODIES} <= titles
    text = tree.css_first("#main").text()
    for word in ("甲", "乙后", "丙", "丁后", "戊"):
        assert word in text
    sidebar = tree.css_first("#sidebar").text()
    assert "＜img data-live=5 src=x.png＞" in sidebar  # the feed's title, a category, as text


@pytest.mark.slow
@pytest.mark.node
def test_the_marker_reads_as_the_body_had_it(public: Path):
    texts = {}
    for page in public.glob("p/*.html"):
        tree = LexborHTMLParser(page.read_text("utf-8"))
        title = tree.css_first("h1.article-title")
        if title is not None:
            texts[title.text(strip=True)] = tree.css_first(".article-entry")
    assert texts["case attribute marker"].css_first("p").attributes["title"] == (
        "<!--more-->" + LIVE.format(n=1)
    )
    assert "辛 <!" in texts["case markdown"].text()  # marked's smartypants makes -- a dash
    assert texts["case markdown"].css_first("code").text() == "<!-- more -->"


def test_an_image_open_graph_cannot_parse_is_no_image_to_it():
    body = (
        "<img data-src=\"https://%zz/x.png\"><!-- <img src='http://a b/'> -->"
        '<textarea><img src="https://%zz/"></textarea><img src="https://ok.test/a.png">'
    )
    assert neutralize_hexo_syntax(body) == (
        "<img\tdata-src=\"https://%zz/x.png\"><!-- <img\tsrc='http://a b/'> -->"
        '<textarea>&lt;img src="https://%zz/"></textarea><img src="https://ok.test/a.png">'
    )
    seen = HEXO_OPEN_GRAPH_IMAGE.findall(neutralize_hexo_syntax(body))
    assert [src for src, _ in seen] == ["https://ok.test/a.png"]


@pytest.mark.slow
@pytest.mark.node
def test_every_post_has_its_page(public: Path):
    titles = set()
    for page in public.glob("p/*.html"):
        title = LexborHTMLParser(page.read_text("utf-8")).css_first("h1.article-title")
        titles.add(title.text(strip=True))
    assert {f"case {key}" for key in HOSTILE_BODIES} <= titles


@pytest.mark.slow
@pytest.mark.node
def test_hexo_regexes_here_are_hexos(hexo_site: Path):
    """The regular expressions above are those of the Hexo examples/blog installs."""
    hexo = hexo_site / "node_modules/hexo/dist/plugins/filter"
    excerpt = (hexo / "after_post_render/excerpt.js").read_text()
    assert f"const rExcerpt = /{HEXO_EXCERPT.pattern}/i;" in excerpt
    fence = (hexo / "before_post_render/backtick_code_block.js").read_text()
    assert HEXO_FENCE.pattern.replace("\\/", "/") in fence.replace("\\/", "/")
    graph = (hexo.parent / "helper/open_graph.js").read_text()
    assert f"const imgPattern = /{HEXO_OPEN_GRAPH_IMAGE.pattern}/gi;" in graph
    link = (hexo / "after_render/external_link.js").read_text()
    assert HEXO_EXTERNAL_LINK.pattern.replace('\\"', '"') in link.replace("\\/", "/")
