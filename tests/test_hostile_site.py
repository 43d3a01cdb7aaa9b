"""No feed can put live script or navigation on the published blog, judged by the real
consumers: Hexo 7 with the landscape theme renders the archive, headless Chromium loads every
page while a beacon records what the pages ask the attacker's host for, and a WHATWG parser
(lexbor) reads every page beside the theme's page of a benign post.

The cases are data (tests/fixtures/hostile/cases.yaml). Needs Node.js and npm (Hexo from the
npm registry) and Debian's `chromium`; outside CI a machine without them skips, in CI (CI=true)
a missing one is a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import needs, run_in_site
from selectolax.lexbor import LexborHTMLParser

from crawler.store import ProvenanceIndex
from crawler.store.fields import plain_or_quoted

from browser import chromium, serve_folder
from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply, image_bytes
from runner import crawl

pytestmark = [pytest.mark.slow, pytest.mark.node]
CASES = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "hostile" / "cases.yaml").read_text(encoding="utf-8")
)["cases"]
EVIL_HOST = "evil.test"
EVIL = f"http://{EVIL_HOST}"
DATE = "Mon, 27 Sep 2021 23:54:59 GMT"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'/hit/svg-file\')"><script>fetch("http://evil.test/hit/svg-script")</script></svg>'


def body_of(case: dict) -> str:
    """The case's payload between two benign paragraphs that must survive."""
    payload = case["html"].replace("EVIL", EVIL)
    return f"<p>前文{case['id']}</p>{payload}<p>后文{case['id']}</p>"


def title_of(case: dict) -> str:
    return f"hostile {case['id']}"


def rss_feed(cases: list[dict]) -> bytes:
    items = [
        rss_item(title_of(c), c["id"], body_of(c), date=DATE, link=f"https://feeds.test/{c['id']}")
        for c in cases
    ]
    return rss("hostile rss", items)


def atom_feed(cases: list[dict]) -> bytes:
    entries = "".join(
        f"<entry><title>{escape(title_of(c))}</title><id>urn:hostile:{c['id']}</id>"
        f"<updated>2021-09-27T23:54:59Z</updated>"
        f'<link href="https://feeds.test/{c["id"]}"/>'
        f'<content type="html">{escape(body_of(c))}</content></entry>'
        for c in cases
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>hostile atom</title><id>urn:hostile</id><updated>2021-09-27T23:54:59Z</updated>"
        f"{entries}</feed>"
    ).encode()


def json_feed(cases: list[dict]) -> bytes:
    items = [
        {
            "id": c["id"],
            "url": f"https://feeds.test/{c['id']}",
            "title": title_of(c),
            "content_html": body_of(c),
            "date_published": "2021-09-27T23:54:59Z",
        }
        for c in cases
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "hostile json", "items": items}
    return json.dumps(feed).encode()


FORMATS = {
    "rss": (rss_feed, RSS),
    "atom": (atom_feed, {"Content-Type": "application/atom+xml; charset=utf-8"}),
    "json": (json_feed, {"Content-Type": "application/feed+json; charset=utf-8"}),
}


def serve_hostile(replay: ReplayServer) -> list[dict]:
    """Feeds holding every case: round robin over RSS, Atom and JSON Feed in HTML body format,
    and all of them again (JSON Feed) in Markdown body format; images kept and rewritten."""
    groups: dict[str, list[dict]] = {kind: [] for kind in FORMATS}
    xml_cases = [c for c in CASES if not c.get("json_only")]
    for i, case in enumerate(xml_cases):
        groups[list(FORMATS)[i % 3]].append(case)
    groups["json"].extend(c for c in CASES if c.get("json_only"))
    sources = []
    for kind, (build, headers) in FORMATS.items():
        url = f"https://feeds.test/{kind}.feed"
        replay.add(url, Reply(200, build(groups[kind]), headers))
        sources.append(feed_source(f"hostile-{kind}", url, images="keep", rewrite_images=True))
    replay.add("https://feeds.test/md.feed", Reply(200, json_feed(CASES), FORMATS["json"][1]))
    sources.append(
        feed_source(
            "hostile-md",
            "https://feeds.test/md.feed",
            images="keep",
            rewrite_images=True,
            body_format="markdown",
            limit=len(CASES),
        )
    )
    replay.add("https://feeds.test/benign.feed", Reply(200, rss_feed([BENIGN]), RSS))
    sources.append(
        feed_source("benign", "https://feeds.test/benign.feed", images="keep", rewrite_images=True)
    )

    def resolve(url: str) -> Reply | None:
        path = urlsplit(url).path
        if path.endswith(".svg"):
            return Reply(200, SVG, {"Content-Type": "image/svg+xml"})
        if path.endswith("fake.png"):
            return Reply(
                200,
                b"<html><script>fetch('/hit/fake')</script></html>",
                {"Content-Type": "image/png"},
            )
        if path.endswith(".png"):
            return Reply(200, image_bytes(url), {"Content-Type": "image/png"})
        return None

    replay.resolver = resolve
    return sources


BENIGN = {"id": "benign", "html": '<p>普通文章</p><img src="EVIL/ok.png">'}


@pytest.fixture(scope="module")
def published(hexo_site: Path, server: ReplayServer, tmp_path_factory) -> Path:
    """The hostile archive crawled over loopback and generated by Hexo: the public folder."""
    needs("chromium", why="the browser check")
    server.reset()
    work = tmp_path_factory.mktemp("hostile")
    config = feeds_yaml(work, serve_hostile(server))
    posts = hexo_site / "source" / "_posts"
    shutil.rmtree(posts, ignore_errors=True)
    shutil.rmtree(hexo_site / "public", ignore_errors=True)
    result = crawl(server, posts, config=config)
    assert result.returncode == 0, result.stderr
    run_in_site(hexo_site, "npx", "--no-install", "hexo", "generate", "--silent")
    return hexo_site / "public"


def post_pages(public: Path) -> dict[str, Path]:
    """Post page of each case and format: 'hostile <id>@hostile-rss' → its page (the source
    is the post's deepest category: the URL names neither, examples/blog's permalink)."""
    pages = {}
    for page in public.rglob("*.html"):
        tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
        title = tree.css_first("h1.article-title")
        if title is not None:
            source = tree.css(".article-category-link")[-1].text(strip=True)
            pages[f"{title.text(strip=True)}@{source}"] = page
    return pages


class Beacon(ThreadingHTTPServer):
    """The attacker's host as the browser's proxy: records every request that leaves the page
    (nothing leaves the machine), answers images with a picture and anything else empty."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BeaconHandler)
        self.hits: list[tuple[str, str]] = []  # (url, Accept)
        self.lock = threading.Lock()


class _BeaconHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass

    def _record(self) -> None:
        with self.server.lock:
            self.server.hits.append((self.path, self.headers.get("Accept", "")))

    def do_GET(self) -> None:
        self._record()
        png = image_bytes(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(png)))
        self.end_headers()
        self.wfile.write(png)

    do_POST = do_GET

    def do_CONNECT(self) -> None:
        self._record()
        self.send_response(403)
        self.end_headers()


def test_no_payload_runs_in_chromium(published: Path, tmp_path: Path):
    beacon = Beacon()
    threading.Thread(target=beacon.serve_forever, daemon=True).start()
    site = serve_folder(published)
    base = f"http://127.0.0.1:{site.server_address[1]}/"
    pages = [p.relative_to(published).as_posix() for p in published.rglob("*.html")]
    images = [p.relative_to(published).as_posix() for p in (published / "_posts").rglob("*.*")]
    images = [p for p in images if not p.endswith(".html")]
    assert len(pages) > len(CASES) and images
    proxy = f"http://127.0.0.1:{beacon.server_address[1]}"

    def load(i_rel: tuple[int, str]) -> str:
        i, rel = i_rel
        profile = tmp_path / f"profile-{i % 2}"
        return chromium(base + rel, "--dump-dom", proxy=proxy, profile=profile).stdout

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            doms = list(pool.map(load, enumerate(pages + images)))
    finally:
        beacon.shutdown()
        site.shutdown()
    assert sum("article-title" in dom for dom in doms) >= len(CASES), "pages did not load"
    attacker = [
        (url, accept)
        for url, accept in beacon.hits
        if urlsplit(url).hostname == EVIL_HOST and not accept.startswith("image/")
    ]
    assert attacker == [], f"requests to the attacker that are not plain image loads: {attacker}"


ACTIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "portal", "form"}
ACTIVE_TAGS |= {"base", "link"}
LOADS = re.compile(r"@import|url\(|expression|binding|behavior", re.I)
URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction", "srcset", "values", "to"}


def active_markup(html: str) -> set[str]:
    """Every piece of active markup on a page, described without what varies between posts."""
    found = set()
    for node in LexborHTMLParser(html).root.traverse():
        tag, attrs = node.tag.lower(), node.attributes
        if tag in ACTIVE_TAGS or tag == "style" and LOADS.search(node.text()):
            found.add(f"<{tag} {sorted(attrs.items())}> {node.text()[:200]}")
        if tag == "meta" and "http-equiv" in {a.lower() for a in attrs}:
            found.add(f"<meta {sorted(attrs.items())}>")
        for name, value in attrs.items():
            name = name.lower()
            if name.startswith("on"):
                found.add(f"{name} on <{tag}>: {value}")
            elif name in URL_ATTRS and value:
                url = "".join(value.split()).lower()
                if any(
                    s in url for s in ("javascript:", "vbscript:", "data:text", "data:image/svg")
                ):
                    found.add(f"{name} on <{tag}>: {value}")
    return found


def test_generated_pages_hold_no_active_markup_beyond_the_theme(published: Path):
    pages = post_pages(published)
    theme = active_markup(pages["hostile benign@benign"].read_text(encoding="utf-8"))
    assert any("<script" in item for item in theme)  # the theme's own scripts are seen
    extra = {}
    for key, page in sorted(pages.items()):
        found = active_markup(page.read_text(encoding="utf-8")) - theme
        if found:
            extra[key] = sorted(found)
    for page in published.glob("**/page/*/index.html"):
        found = active_markup(page.read_text(encoding="utf-8")) - theme
        if found:
            extra[page.relative_to(published).as_posix()] = sorted(found)
    assert extra == {}


def test_benign_text_around_each_payload_survives(published: Path):
    pages = post_pages(published)
    missing = []
    for case in CASES:
        for source in ("hostile-md", _html_source_of(case)):
            page = pages.get(f"{title_of(case)}@{source}")
            if page is None:
                missing.append(f"{case['id']}@{source}: no page")
                continue
            tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
            text = tree.css_first(".article-entry").text()
            wanted = [f"前文{case['id']}"] + ([] if case.get("swallows") else [f"后文{case['id']}"])
            missing.extend(f"{case['id']}@{source}: {w}" for w in wanted if w not in text)
    assert missing == [], missing


def _html_source_of(case: dict) -> str:
    """The HTML-format source serve_hostile put the case in."""
    if case.get("json_only"):
        return "hostile-json"
    xml_cases = [c for c in CASES if not c.get("json_only")]
    return f"hostile-{list(FORMATS)[xml_cases.index(case) % 3]}"


def test_unsafe_bodies_are_sanitized_and_noted(published: Path, hexo_site: Path):
    index = ProvenanceIndex.open_existing(hexo_site / "source" / "_posts")
    try:
        sanitized = {r.item_id.removeprefix("urn:hostile:") for r in index.records() if r.sanitized}
    finally:
        index.close()
    assert {"svg-cdata", "math-cdata", "textarea-open"} <= sanitized
    assert "script" not in sanitized  # removed in place: the rest stays byte for byte
    # docs/FORMAT.md BODY edit 5 leaves no blank line for Markdown to split a body at: the
    # Markdown-block cases are disarmed in place, as plain HTML (the beacon above stays silent).
    assert not {c["id"] for c in CASES if c["family"] == "Markdown block"} & sanitized


JS_YAML_TRAPS = ["1e3", "0o17", "0x1F", "+.INF", ".nan", "1_000", "2021-01-01", "~", "null"]
JS_YAML_TRAPS += ["True", "yes", "no", "on", "-", "?", ":x", "<<", "新浪财经", "21世纪经济报道"]


def test_plain_scalars_mean_the_same_to_js_yaml(hexo_site: Path):
    """Every front-matter scalar we may write plain reads back as the same string in js-yaml,
    Hexo's YAML reader, as in PyYAML."""
    doc = "".join(f"- {plain_or_quoted(text)}\n" for text in JS_YAML_TRAPS)
    doc += "".join(f"author: {plain_or_quoted(t, key='author')}\n" for t in JS_YAML_TRAPS[:1])
    script = (
        "const y=require('js-yaml');let s='';process.stdin.on('data',d=>s+=d);"
        "process.stdin.on('end',()=>{const [l,a]=s.split('author: ');"
        "console.log(JSON.stringify([y.load(l),y.load('author: '+a).author]))})"
    )
    result = subprocess.run(
        ["node", "-e", script], cwd=hexo_site, input=doc, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    items, author = json.loads(result.stdout)
    assert items == JS_YAML_TRAPS
    assert author == JS_YAML_TRAPS[0]
    assert yaml.safe_load(doc.split("author: ")[0]) == JS_YAML_TRAPS
