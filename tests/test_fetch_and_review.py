"""One-off fetches, and reviewing an archive: list, show, search, stats, reindex."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crawler.store.lock import ArchiveLock
from crawler.store.search import plain_text

from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply
from runner import crawl, fetch, run_cli
from sina_replay import SINA_NAME, real_articles, reference_articles, serve_sina

pytestmark = pytest.mark.process  # the crawler CLI, a fetch, a crawl

SINA_FOLDER = Path("金融") / "新浪财经" / SINA_NAME


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.md")}


def test_fetching_sina_pages_gives_the_bytes_a_crawl_gives(replay: ReplayServer, tmp_path):
    reals = [a for a in real_articles() if "doc-i" in a.url][:6]
    serve_sina(replay, reals)
    assert crawl(replay, tmp_path / "crawled").returncode == 0
    result = fetch(replay, tmp_path / "fetched", *[a.url for a in reals])
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "fetched") == files(tmp_path / "crawled")
    written = result.stdout.splitlines()  # the path of each file written, one a line
    assert sorted(Path(p).name for p in written) == sorted(
        Path(p).name for p in files(tmp_path / "fetched")
    )
    again = fetch(replay, tmp_path / "fetched", reals[0].url)
    assert again.returncode == 0 and again.stdout == ""
    assert again.stderr.startswith("unchanged: ")


def test_fetching_a_feed_gives_the_bytes_a_crawl_gives(replay: ReplayServer, tmp_path):
    xml = rss(
        "我的订阅",
        [
            rss_item(f"第{i}条", str(i), f"<p>{i}</p>", date="Mon, 27 Sep 2021 23:54:59 GMT")
            for i in range(3)
        ],
    )
    replay.add("https://feeds.test/f.xml", Reply(200, xml, RSS))
    config = feeds_yaml(tmp_path, [feed_source("名字", "https://feeds.test/f.xml")])
    assert crawl(replay, tmp_path / "crawled", config=config).returncode == 0
    result = fetch(
        replay,
        tmp_path / "fetched",
        "https://feeds.test/f.xml",
        "--category",
        "测试",
        "--site",
        "站点",
        "--name",
        "名字",
    )
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "fetched") == files(tmp_path / "crawled")
    own = fetch(replay, tmp_path / "own", "https://feeds.test/f.xml")
    assert own.returncode == 0 and len(files(tmp_path / "own")) == 3
    assert all(p.startswith("订阅/我的订阅/我的订阅/") for p in files(tmp_path / "own"))


def test_fetching_any_page(replay: ReplayServer, tmp_path):
    page = (
        "<html><head><title>一篇博客</title><meta name='author' content='张三'>"
        "<meta property='article:published_time' content='2026-11-20T08:00:00+08:00'>"
        "</head><body><article><h1>一篇博客</h1>"
        + "<p>这是正文的一段，足够长，可以被识别为正文内容。<img src='/p.jpg'></p>" * 12
        + "</article></body></html>"
    ).encode()
    replay.add("https://blog.test/post", Reply(200, page, {"Content-Type": "text/html"}))
    nameless = fetch(replay, tmp_path / "a", "https://blog.test/post")
    assert nameless.returncode == 1 and "give --source, or --category" in nameless.stderr
    result = fetch(
        replay,
        tmp_path / "a",
        "https://blog.test/post",
        "--category",
        "博客",
        "--site",
        "某站",
        "--name",
        "文章",
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "a" / "博客" / "某站" / "文章" / "一篇博客.md").read_text("utf-8")
    assert "这是正文的一段" in text and 'src="https://blog.test/p.jpg"' in text
    assert run_cli(None, "archive", "verify", "--archive", str(tmp_path / "a")).returncode == 0


def test_stdout_prints_and_writes_nothing(replay: ReplayServer, tmp_path):
    (article,) = reference_articles()[:1]
    serve_sina(replay, [article])
    result = fetch(replay, tmp_path / "none", article.url, "--stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("\n---\ntitle: ") and not (tmp_path / "none").exists()
    assert result.stderr == ""  # no word of an image pipeline nobody asked for


@pytest.mark.parametrize(
    ("url", "message", "code"),
    [
        ("ftp://example.org/x", "must be an http(s) URL", 2),
        ("http://example.com:99999/", "Port out of range", 2),
        ("http://[::1", "Invalid IPv6 URL", 2),
        ("https://missing.test/x", "HTTP 404", 1),
    ],
)
def test_bad_urls_are_one_line(replay: ReplayServer, tmp_path, url, message, code):
    result = fetch(replay, tmp_path / "a", url, "-s", "RETRY_TIMES=0")
    assert result.returncode == code and message in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr  # said once


def test_unresolvable_host(tmp_path):
    result = run_cli(
        None,
        "fetch",
        "--archive",
        str(tmp_path),
        "https://no-such-host.invalid/",
        "-s",
        "RETRY_TIMES=0",
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    server = ReplayServer().start()
    root = tmp_path_factory.mktemp("crawled") / "archive"
    serve_sina(server, reference_articles() + real_articles())  # CRAWLED of them
    assert crawl(server, root).returncode == 0
    server.shutdown()
    return root


CRAWLED = len(reference_articles()) + len(real_articles())


def review(root: Path, *args: str):
    return run_cli(None, "archive", *args, "--archive", str(root))


def test_list_newest_first_with_filters(crawled: Path):
    rows = [json.loads(line) for line in review(crawled, "list", "--json").stdout.splitlines()]
    assert len(rows) == CRAWLED and set(rows[0]) >= {"date", "source", "title", "path", "url", "id"}
    shown = review(crawled, "show", rows[0]["id"])  # the id is what `show` takes
    assert shown.returncode == 0 and rows[0]["path"] in shown.stdout
    dated = [r["date"] for r in rows]
    assert dated == sorted(dated, reverse=True)
    since = review(crawled, "list", "--json", "--since", "2022-01-01").stdout.splitlines()
    assert all(json.loads(r)["date"] >= "2022-01-01" for r in since) and 0 < len(since) < CRAWLED
    unknown = review(crawled, "list", "--source", "nope")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr == (
        f"crawler: error: --source nope: no such source in the archive (known: {SINA_NAME})\n"
    )


@pytest.mark.parametrize("text", ["副中心", "高质量发展", "中国", "税"])
def test_search_finds_exactly_the_files_containing_the_text(crawled: Path, text):
    result = review(crawled, "search", text, "--json")
    assert result.returncode == 0, result.stderr
    found = {json.loads(line)["path"] for line in result.stdout.splitlines()}
    expected = set()
    for path in crawled.rglob("*.md"):
        content = path.read_text("utf-8")
        title = content.split("\ntitle: ", 1)[1].split("\n", 1)[0]
        if text in title or text in plain_text(content.split("\n<div>   \n", 1)[1]):
            expected.add(path.relative_to(crawled).as_posix())
    assert found == expected and found


def test_search_puts_title_hits_first(crawled: Path):
    rows = [
        json.loads(x) for x in review(crawled, "search", "中国", "--json").stdout.split("\n") if x
    ]
    in_title = [("中国" in r["title"]) for r in rows]
    assert in_title == sorted(in_title, reverse=True) and in_title[0]


def test_search_json_has_ids(crawled: Path):
    rows = [
        json.loads(line)
        for line in review(crawled, "search", "中国", "--json").stdout.split("\n")
        if line
    ]
    assert rows and all(row["id"] for row in rows)


def hit_paths(result) -> list[str]:
    return [json.loads(line)["path"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("lower", "upper"), [("cpi", "CPI"), ("cp", "CP"), ("g", "G"), ("cpi", "CpI")]
)
def test_search_ignores_ascii_case(crawled: Path, lower, upper):
    found = hit_paths(review(crawled, "search", upper, "--json"))
    assert found and hit_paths(review(crawled, "search", lower, "--json")) == found


def test_several_words_must_all_match_anywhere(crawled: Path):
    both = set(hit_paths(review(crawled, "search", "中国", "经济", "--json")))
    china = set(hit_paths(review(crawled, "search", "中国", "--json")))
    economy = set(hit_paths(review(crawled, "search", "经济", "--json")))
    assert both == china & economy and both and both != china
    short = set(hit_paths(review(crawled, "search", "税", "中国", "--json")))
    assert short == set(hit_paths(review(crawled, "search", "税", "--json"))) & china


def test_search_limit_count_and_no_hit(crawled: Path):
    everything = hit_paths(review(crawled, "search", "中国", "--json"))
    assert hit_paths(review(crawled, "search", "中国", "--json", "--limit", "3")) == everything[:3]
    counted = review(crawled, "search", "中国", "--count")
    assert counted.returncode == 0 and counted.stdout == f"{len(everything)}\n"
    none = review(crawled, "search", "没有这个词语")
    assert none.returncode == 1 and none.stdout == ""
    assert none.stderr == "no item holds '没有这个词语'\n"
    assert review(crawled, "search", "没有这个词语", "--count").stdout == "0\n"
    unknown = review(crawled, "search", "中国", "--source", "nope")
    assert unknown.returncode == 2 and "known: " in unknown.stderr


@pytest.mark.parametrize(
    "words",
    [["中国"], ["税"], ["cpi"], ["G"], ["中国", "经济"], ["税", "中国"], ["的"], ["没有这个词语"]],
)
def test_search_with_a_limit_gives_the_first_hits_of_the_whole_list(crawled: Path, words):
    """SQLite keeps the first N itself (`--limit`): the same hits, in the same order, as the
    first N of every hit sorted here."""
    from crawler.store import ProvenanceIndex
    from crawler.store.search import search

    index = ProvenanceIndex.open_existing(crawled)
    try:
        everything = search(index.db, words)
        for limit in (1, 3, 7, 1000):
            assert search(index.db, words, limit=limit) == everything[:limit], limit
        assert search(index.db, words, SINA_NAME, 5) == search(index.db, words, SINA_NAME)[:5]
    finally:
        index.close()


def test_show_by_path_and_by_id(crawled: Path):
    path = (SINA_FOLDER / "0！.md").as_posix()
    by_path = review(crawled, "show", path)
    assert by_path.returncode == 0 and "title:      0！" in by_path.stdout
    assert "广东全省无新增本土确诊病例" in by_path.stdout and "<p>" not in by_path.stdout
    assert "<!--" not in by_path.stdout and "appendQr_wrap" not in by_path.stdout
    item_id = next(
        line.split()[-1] for line in by_path.stdout.splitlines() if line.startswith("id:")
    )
    assert review(crawled, "show", item_id).stdout == by_path.stdout
    absolute = review(crawled, "show", str(crawled / path))
    assert absolute.stdout == by_path.stdout
    missing = review(crawled, "show", "nope")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1


def test_stats(crawled: Path):
    out = review(crawled, "stats").stdout
    assert f"{SINA_NAME}: {CRAWLED} items, " in out and "items waiting for a retry: 0" in out
    assert " KiB\n" in out and "0.0 MiB" not in out  # the posts are some hundred KiB
    assert f"{SINA_NAME}: " in out.split("last crawl per source:")[1]


def test_a_stale_search_index_is_rebuilt_by_search_or_reported(crawled: Path, tmp_path):
    """Search rebuilds a search index that is missing or stale (a fresh clone has none);
    where it cannot (a read-only archive), it says so: reindex."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(crawled, copy)

    def spoil() -> None:
        db = sqlite3.connect(copy / ".crawler" / "archive.sqlite3")
        db.execute("DELETE FROM texts")
        db.commit()
        db.close()

    spoil()
    rebuilt = review(copy, "search", "副中心")
    assert rebuilt.returncode == 0 and rebuilt.stdout.count("\n") == 1, rebuilt.stderr
    spoil()
    locked = ArchiveLock(copy)  # a crawl at work: search does not wait, it says what to do
    locked.acquire()
    try:
        stale = review(copy, "search", "副中心")
    finally:
        locked.release()
    assert stale.returncode == 1 and "reindex" in stale.stderr and "Traceback" not in stale.stderr
