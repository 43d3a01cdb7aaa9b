"""What a reader sees: every Sina case and a set of feeds crawled into the blog set-up
(examples/blog) the way its README says, published with `npm run build`, and every generated
page read back with a WHATWG parser (lexbor):

- the rendered article (landscape's `.article-entry`) reads as the body does: the same text,
  white space folded, and no element the body lacks (a `pre`, `code` or `p` made by Markdown);
- every link into the site on every page resolves to a file in public/;
- every image of an article is a kept file of the image store in public/, or the remote URL
  the body holds;
- each post is at `p/<12 hex>.html` (Hexo's `:hash`) and its `<time datetime>` is the front
  matter's instant, shown as the date in Beijing, whatever zone the machine is in;
- a screenshot of a Sina post in headless Chromium (the path is printed).

Needs Node.js and npm (Hexo from the npm registry, `npm ci`); the screenshot needs Debian's
`chromium`. Outside CI a machine without them skips; in CI (CI=true) a missing one fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html import escape
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml
from conftest import needs
from selectolax.lexbor import LexborHTMLParser, LexborNode

from browser import chromium, serve_folder
from feed_replay import RSS, feed_source, feeds_yaml, rebuilt_feeds
from replay import IMAGE_URL, ReplayServer, Reply, image_bytes
from runner import crawl
from sina_replay import (
    LIVE_NAME,
    SINA_NAME,
    real_articles,
    real_flashes,
    reference_articles,
    serve_live,
    serve_sina,
    synthetic_flash,
)

pytestmark = [pytest.mark.slow, pytest.mark.node, pytest.mark.process]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = "http://example.com/"  # examples/blog/_config.yml `url`
CORPUS = Path(__file__).parent / "fixtures" / "feeds"
REAL_FEEDS = sorted(
    p
    for folder in ("realworld-feedjira", "realworld-rss-parser")
    for p in (CORPUS / folder).iterdir()
    if p.suffix in (".xml", ".json", ".rss", ".atom") and p.stem != "unrecognized"  # not a feed
)
OPENING, TRAILER = "\n<div>   \n", "  \n</div>\n" + " " * 12
WHITE = re.compile(r"[\t\n\f\r ]+")  # HTML's white space; U+3000 and NBSP are text


def reader_feed() -> bytes:
    """An Atom feed of what finance headlines and blog bodies hold: `%`, `#`, `?`, quotes and
    spaces in titles, an HTML title, relative URLs under xml:base, Markdown-looking text,
    blank and indented lines inside `<pre>` and `<textarea>`."""
    entries = [
        ("1-5月投资同比下降27%，增92.1%", "<p>百分比 27% 与 %D1 在正文里。</p>"),
        ("C# 与 F#？问答 \"引号\" '单引号' a?b=1&c", "<p>标题里的井号、问号和引号。</p>"),
        (
            "Fed holds rates <em>steady</em>",
            '<p>An <em>HTML</em> title.</p><img src="img/fed.jpg"><a href="notes/2">more</a>',
        ),
        (
            "  Markdown   lookalikes  ",
            "<p>第一段</p>\n\n    <p>缩进四格</p>\n\n* 不是列表\n# 不是标题\n1. 不是编号\n\n"
            "<pre>code\n\n    indented\n</pre>\n<textarea>a\n\n  b</textarea>\n<p>尾段</p>",
        ),
    ]
    xml = "".join(
        f'<entry xml:base="https://blog.test/2024/"><title type="html">{escape(title)}</title>'
        f"<id>urn:reader:{n}</id><updated>2024-03-12T0{n}:30:00+08:00</updated>"
        f'<link href="https://blog.test/2024/{n}.html"/>'
        f'<content type="html">{escape(body)}</content></entry>'
        for n, (title, body) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>reader</title><id>urn:reader</id><updated>2024-03-12T00:00:00Z</updated>"
        f"{xml}</feed>"
    ).encode()


def serve_everything(server: ReplayServer) -> list[dict]:
    """The Sina roll with every saved page (slide and video pages too) and the reference posts
    (shipped defaults, remote images), the 7×24 live feed's real flashes and one with a
    picture, the reference posts again as RSS feeds (images kept and rewritten), the
    real-world feeds and the reader feed; every image URL answered with a picture."""
    serve_sina(server, real_articles() + reference_articles())
    pictured = synthetic_flash(1, multimedia='{"img_url":["https:\\/\\/n.sinaimg.cn\\/z.jpg"]}')
    serve_live(server, [pictured, *real_flashes()])
    sources = [
        {"name": SINA_NAME, "site": "新浪财经", "category": "金融", "type": "sina"},
        {"name": LIVE_NAME, "site": "新浪财经", "category": "7×24", "type": "sina_live"},
    ]
    for feed in rebuilt_feeds():
        server.add(feed.url, Reply(200, feed.xml, RSS))
        kept = {"images": "keep", "rewrite_images": True, "limit": 100}
        name = f"{feed.name} RSS"  # one of them is the Sina roll's name
        sources.append(feed_source(name, feed.url, feed.category, feed.site, **kept))
    for path in REAL_FEEDS:
        url = f"https://feeds.test/{path.parent.name}/{path.name}"
        server.add(url, Reply(200, path.read_bytes(), {"Content-Type": _media_type(path)}))
        sources.append(feed_source(path.stem, url, "订阅", path.parent.name))
    atom = {"Content-Type": "application/atom+xml; charset=utf-8"}
    server.add("https://feeds.test/reader.atom", Reply(200, reader_feed(), atom))
    sources.append(feed_source("读者", "https://feeds.test/reader.atom", "订阅", "测试"))
    server.resolver = lambda url: (
        Reply(200, image_bytes(url), {"Content-Type": "image/png"})
        if IMAGE_URL.search(url)
        else None
    )
    return sources


def _media_type(path: Path) -> str:
    if path.suffix == ".json":
        return "application/feed+json; charset=utf-8"
    return "application/atom+xml" if path.suffix == ".atom" else "application/rss+xml"


@dataclass(frozen=True)
class Post:
    source: str  # below source/_posts, as Hexo names it
    front: dict
    body: str  # BODY of docs/FORMAT.md's template
    page: Path  # its page in public/, as Hexo links it
    hash_page: str  # `p/<:hash>.html`, Hexo 7's :hash computed here

    @property
    def instant(self) -> str:
        """The front matter's date as `<time datetime>` writes it (Date.toISOString)."""
        return parsedate_to_datetime(self.front["date"]).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class Blog:
    public: Path
    posts: list[Post]

    @property
    def shown(self) -> list[Post]:
        """The posts whose page was generated (test_every_post_… names the others)."""
        return [post for post in self.posts if post.page.is_file()]


@pytest.fixture(scope="module")
def blog(hexo_site: Path, server: ReplayServer, tmp_path_factory) -> Blog:
    """The archive crawled over loopback into the site's source/_posts and generated by the
    README's command, in a zone that is neither UTC nor Beijing."""
    server.reset()
    config = feeds_yaml(tmp_path_factory.mktemp("reader"), serve_everything(server))
    archive = hexo_site / "source" / "_posts"
    shutil.rmtree(archive, ignore_errors=True)
    shutil.rmtree(hexo_site / "public", ignore_errors=True)
    result = crawl(server, archive, config=config)
    assert "Traceback" not in result.stderr, result.stderr
    assert f" 0 of {len(REAL_FEEDS) + len(rebuilt_feeds()) + 3} source(s) failed" in result.stdout
    assert f"{SINA_NAME}: {len(real_articles()) + len(reference_articles())} new" in result.stdout
    build = subprocess.run(
        ["npm", "run", "--silent", "build"],
        cwd=hexo_site,
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    public = hexo_site / "public"
    paths = post_paths(hexo_site)
    posts = [read_post(p, archive, public, paths) for p in sorted(archive.rglob("*.md"))]
    assert len(posts) > 100
    return Blog(public, posts)


# Every post's source file and the path of its page, as Hexo generates it
POST_PATHS = """
const Hexo = require('hexo');
const hexo = new Hexo(process.cwd(), { silent: true });
hexo.init()
  .then(() => hexo.load())
  .then(() => {
    const posts = hexo.locals.get('posts').toArray();
    console.log(JSON.stringify(Object.fromEntries(posts.map((p) => [p.source, p.path]))));
  })
  .then(() => hexo.exit())
  .catch((err) => { console.error(err); process.exit(1); });
"""


def post_paths(site: Path) -> dict[str, str]:
    """Hexo's page path of each post: '_posts/金融/…/<title>.md' → 'p/35fa138e758f.html'."""
    result = subprocess.run(
        ["node", "-e", POST_PATHS], cwd=site, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def read_post(path: Path, archive: Path, public: Path, paths: dict[str, str]) -> Post:
    text = path.read_text(encoding="utf-8")
    _, front, rest = text.split("\n---\n", 2)
    assert rest.startswith(OPENING) and rest.endswith(TRAILER), path
    front = yaml.safe_load(front)
    source = path.relative_to(archive).as_posix()
    # lib/plugins/filter/post_permalink.js: sha1(slug + date.unix()), slug = the path below
    # _posts without its extension (lib/plugins/processor/post.js parseFilename)
    unix = int(parsedate_to_datetime(front["date"]).timestamp())
    digest = hashlib.sha1(f"{source.removesuffix('.md')}{unix}".encode()).hexdigest()[:12]
    body = rest.removeprefix(OPENING).removesuffix(TRAILER)
    path = paths[f"_posts/{source}"]  # as written to public/, not URL-encoded
    page = public / path / "index.html" if path.endswith("/") else public / path
    return Post(source, front, body, page, f"p/{digest}.html")


def folded(text: str) -> str:
    return WHITE.sub(" ", text).strip()


def first_difference(a: str, b: str) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def body_alone(body: str) -> LexborNode:
    """The body as a browser reads it on its own, in the template's `<div>`: the `body`
    element of that document."""
    return LexborHTMLParser(f"<!DOCTYPE html><body><div>{body}  \n</div>").body


def article(post: Post) -> LexborNode:
    return LexborHTMLParser(post.page.read_text(encoding="utf-8")).css_first(".article-entry")


def element_names(node: LexborNode) -> Counter:
    """Tag names of the elements below `node` (not itself), with multiplicity."""
    names = Counter(n.tag for n in node.traverse() if not n.tag.startswith(("-", "_")))
    names[node.tag] -= 1
    return +names


def report(failures: list[str], what: str, total: int) -> str:
    shown = "\n  ".join(failures[:25])
    return f"{len(failures)} of {total} {what}:\n  {shown}"


def test_every_post_is_at_its_hash_and_nothing_hidden_is_published(blog: Blog):
    moved = [
        f"{p.source}: {p.page.relative_to(blog.public)}, not {p.hash_page}"
        for p in blog.posts
        if p.page.relative_to(blog.public).as_posix() != p.hash_page
    ]
    assert moved == [], report(moved, "posts not at p/<hash>.html", len(blog.posts))
    missing = [p.source for p in blog.posts if not p.page.is_file()]
    assert missing == [], report(missing, "posts without their page", len(blog.posts))
    published = [p.relative_to(blog.public) for p in blog.public.rglob("*")]
    assert not [p for p in published if ".crawler" in p.parts], "provenance published"
    store = [p for p in published if p.parts[0] == "_posts" and len(p.parts) > 1]
    assert store and all(p.parts[1] == "images" for p in store)


def test_the_article_reads_as_its_body(blog: Blog):
    """(a) The text of the rendered article is the body's text, white space folded."""
    failures = []
    for post in blog.shown:
        shown, body = folded(article(post).text()), folded(body_alone(post.body).text())
        if shown != body:
            at = first_difference(shown, body)
            window = slice(max(0, at - 30), at + 50)
            failures.append(f"{post.source}: at {at}: page {shown[window]!r} body {body[window]!r}")
    assert failures == [], report(
        failures, "articles whose text is not the body's", len(blog.shown)
    )


def test_the_article_holds_no_element_the_body_lacks(blog: Blog):
    """(b) The article's elements are the body's, one for one (Markdown made none)."""
    failures = []
    for post in blog.shown:
        shown, body = element_names(article(post)), element_names(body_alone(post.body))
        if shown != body:
            extra, lost = dict(shown - body), dict(body - shown)
            failures.append(f"{post.source}: added {extra}, lost {lost}")
    assert failures == [], report(failures, "articles with other elements", len(blog.shown))


LINKS = (("a[href]", "href"), ("link[href]", "href"), ("script[src]", "src"))


def site_file(public: Path, url: str) -> Path | None:
    """The file a static server answers `url` of the site with (percent-decoded path, a
    folder's index.html), or None: a URL outside the site is nobody's file here."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != SITE:
        return None
    target = public / unquote(parts.path, errors="replace").lstrip("/")
    return target / "index.html" if target.is_dir() or parts.path.endswith("/") else target


def test_every_link_into_the_site_resolves(blog: Blog):
    """(c) Every `a[href]`, `link[href]`, `script[src]` of every page that points into the
    site is a file in public/."""
    pages = sorted(blog.public.rglob("*.html"))
    broken: dict[str, list[str]] = {}  # link → the pages that hold it
    seen = 0
    for page in pages:
        here = SITE + page.relative_to(blog.public).as_posix()
        tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
        for selector, name in LINKS:
            for node in tree.css(selector):
                value = node.attributes.get(name) or node.attributes.get(f"xlink:{name}") or ""
                target = site_file(blog.public, urljoin(here, value.strip()))
                seen += target is not None
                if target is not None and not target.is_file():
                    broken.setdefault(f"{name}={value!r}", []).append(
                        str(page.relative_to(blog.public))
                    )
    assert seen > len(pages) * 10  # the theme's own links were read
    failures = [f"{link} on {len(on)} page(s), as {on[0]}" for link, on in sorted(broken.items())]
    assert failures == [], report(failures, "links that resolve to no file", seen)


def test_every_image_is_kept_or_the_bodys_remote_url(blog: Blog):
    """(d) Each image of an article loads from the image store in public/, or is the remote
    URL the body holds."""
    failures, kept, remote = [], 0, 0
    for post in blog.shown:
        here = SITE + post.page.relative_to(blog.public).as_posix()
        held = {img.attributes.get("src") for img in body_alone(post.body).css("img")}
        for img in article(post).css("img"):
            src = img.attributes.get("src") or ""
            target = site_file(blog.public, urljoin(here, src.strip()))
            if target is None and src in held and urlsplit(src).scheme in ("https", "http"):
                remote += 1
            elif target is not None and target.is_file() and "_posts/images" in target.as_posix():
                kept += 1
            else:
                failures.append(f"{post.source}: <img src={src!r}>")
    assert kept and remote
    assert failures == [], report(failures, "images neither kept nor remote", kept + remote)


def test_the_post_shows_the_articles_date_in_beijing(blog: Blog):
    """(e) `<time datetime>` is the front matter's instant and its text the day in Beijing,
    though Hexo ran in New York."""
    failures = []
    for post in blog.shown:
        time = LexborHTMLParser(post.page.read_text(encoding="utf-8")).css_first(
            "article .article-meta time[datetime]"
        )
        day = parsedate_to_datetime(post.front["date"]).astimezone(SHANGHAI).strftime("%Y-%m-%d")
        shown = (time.attributes["datetime"], time.text(strip=True))
        if shown != (post.instant, day):
            failures.append(f"{post.source}: {shown}, front matter {(post.instant, day)}")
    assert failures == [], report(failures, "posts showing another date", len(blog.shown))


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain picture of one colour (what the browser is shown for every remote image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.browser
def test_screenshot_of_a_sina_post(blog: Blog, server: ReplayServer, tmp_path: Path):
    """One Sina post as Chromium shows it, the site served over loopback and every other
    request answered by the replay server (remote images as grey pictures, nothing else)."""
    needs("chromium", why="the screenshot")
    sina = [p for p in blog.shown if p.front["categories"][-1] == SINA_NAME]
    post = max(sina, key=lambda p: (p.body.count("<img"), len(p.body)))
    picture = png(480, 270, (176, 190, 197))
    server.resolver = lambda url: (
        Reply(200, picture, {"Content-Type": "image/png"}) if IMAGE_URL.search(url) else None
    )
    site = serve_folder(blog.public)
    shot = tmp_path / "sina-post.png"
    url = f"http://127.0.0.1:{site.server_address[1]}/{post.page.relative_to(blog.public)}"
    try:
        chromium(
            url,
            "--ignore-certificate-errors",  # the replay server's throwaway certificates
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            proxy=server.url,
            profile=tmp_path / "profile",
            budget_ms=5000,
        )
    finally:
        site.shutdown()
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"\nscreenshot of {post.source} ({url}): {shot}")
