"""A crawl shared by two workers and one writer through Redis (scrapy-redis) gives the same
archive as one process, fetches every page once, and survives a killed worker.

Needs redis-server (`.ci/run` installs it); outside CI a machine without it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from redis_server import redis_binary, redis_server
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import main
from crawler.cluster import decode, encode
from crawler.items import Article, Capture, ImageOutcome, Pending, Sample, Shelf
from crawler.store import ProvenanceIndex
from crawler.store.verify import verify

from replay import ReplayServer, Reply
from runner import FAST, ROOT, crawl, run_cli
from sina_replay import (
    LIVE,
    ROLL,
    SINA_NAME,
    live_config,
    md_files,
    real_flashes,
    serve_live,
    serve_pages,
    sina_config,
    synthetic_articles,
    synthetic_flash,
)

ARTICLES = 300


@contextlib.contextmanager
def own_redis(folder: Path, *extra: str):
    """A redis-server of this test's own: (url, process); CI must have one, others skip."""
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is needed for the scale-out tests in CI")
        pytest.skip("redis-server not installed")
    with redis_server(binary, folder, *extra) as started:
        yield started


@pytest.fixture
def redis_url(tmp_path: Path):
    """An empty Redis: CI's (CRAWLER_TEST_REDIS, started by .ci/run), else one of our own."""
    if url := os.environ.get("CRAWLER_TEST_REDIS"):
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    with own_redis(tmp_path) as (url, _):
        yield url


def start(server: ReplayServer, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **server.proxy_env()}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cluster_run(server: ReplayServer, redis_url: str, config: Path, archive: Path, workers=2):
    """The writer and `workers` workers, started together as cron would on each machine."""
    writer = start(
        server, "write", "--redis", redis_url, "-c", str(config), "--archive", str(archive)
    )
    crawlers = [
        start(server, "crawl", "--redis", redis_url, "-c", str(config), *FAST)
        for _ in range(workers)
    ]
    return writer, crawlers


def finished(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)  # each one exits by itself
    return process.returncode, out, err


def midway(replay: ReplayServer, redis_url: str, workers: int) -> None:
    """Wait until every worker has joined the run and a quarter of the mirror's articles
    have been asked for (so that a kill lands mid-crawl however loaded the machine is)."""
    members = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 90
    while (
        members.scard("crawler:members") < workers
        or sum(1 for url in replay.requests if "doc-i" in url) < ARTICLES // 4
    ):
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.05)


def run_again(replay: ReplayServer, redis_url: str, config: Path, archive: Path) -> None:
    """A whole run of the writer and two workers, every one of them exiting 0."""
    writer, workers = cluster_run(replay, redis_url, config, archive)
    for worker in workers:
        code, _, err = finished(worker)
        assert code == 0, err
    code, _, err = finished(writer)
    assert code == 0, err


@pytest.fixture
def mirror(replay: ReplayServer, tmp_path: Path):
    articles = synthetic_articles(ARTICLES)
    pages = serve_pages(replay, articles)
    config = sina_config(tmp_path / "config", pages=pages + 1, limit=1000)
    single = crawl(replay, tmp_path / "single", config=config)
    assert single.returncode == 0, single.stderr
    assert f"{ARTICLES} new" in single.stdout
    replay.requests.clear()
    return articles, config, md_files(tmp_path / "single")


@pytest.mark.process
def test_two_workers_and_a_writer_make_the_single_process_archive(
    replay: ReplayServer, redis_url: str, tmp_path: Path, mirror
):
    articles, config, expected = mirror
    writer, workers = cluster_run(replay, redis_url, config, tmp_path / "shared")
    for worker in workers:
        code, _, err = finished(worker)
        assert code == 0, err
        assert err == ""  # quiet, as cron wants it
    code, out, err = finished(writer)
    assert code == 0, err
    assert err == ""
    assert f"{ARTICLES} new, 0 updated, 0 unchanged, 0 failed" in out
    assert md_files(tmp_path / "shared") == expected  # byte for byte
    assert verify(tmp_path / "shared") == []
    seen = Counter(replay.requests)
    assert {a.url: seen[a.url] for a in articles} == {a.url: 1 for a in articles}
    assert all(count == 1 for url, count in seen.items() if url.startswith(ROLL[:30])), seen

    replay.requests.clear()
    writer, workers = cluster_run(replay, redis_url, config, tmp_path / "shared")
    assert all(finished(w)[0] == 0 for w in workers)
    code, out, err = finished(writer)
    assert code == 0, err
    assert "0 new, 0 updated, 50 unchanged" in out  # the first roll page: all archived
    assert replay.requests == [ROLL.format(lid=1686, page=1)]  # nothing archived refetched


@pytest.mark.process
def test_a_worker_killed_midway_loses_nothing(
    replay: ReplayServer, redis_url: str, tmp_path: Path, mirror
):
    articles, config, expected = mirror
    replay.latency = 0.1  # slow enough to kill a worker in the middle
    archive = tmp_path / "shared"
    writer, (doomed, survivor) = cluster_run(replay, redis_url, config, archive)
    midway(replay, redis_url, workers=2)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    code, _, err = finished(survivor)
    assert code == 0, err
    code, out, err = finished(writer)
    assert code == 1  # honest: a worker was lost
    assert "stopped without reporting (killed?)" in err
    assert verify(archive) == []

    replay.latency = 0.0
    run_again(replay, redis_url, config, archive)
    assert md_files(archive) == expected  # still identical: nothing lost, nothing twice
    assert verify(archive) == []


@pytest.mark.process
def test_a_writer_killed_midway_loses_nothing(
    replay: ReplayServer, redis_url: str, tmp_path: Path, mirror
):
    articles, config, expected = mirror
    replay.latency = 0.05
    archive = tmp_path / "shared"
    writer, workers = cluster_run(replay, redis_url, config, archive)
    midway(replay, redis_url, workers=2)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    for worker in workers:  # they finish the queue; their items wait in Redis
        code, _, err = finished(worker)
        assert code == 0, err
    replay.latency = 0.0
    run_again(replay, redis_url, config, archive)
    assert md_files(archive) == expected  # the next writer wrote what the dead one left
    assert verify(archive) == []


@pytest.mark.process
def test_redis_lost_midway_is_one_line_and_the_next_run_completes(
    replay: ReplayServer, tmp_path: Path, mirror
):
    articles, config, expected = mirror
    replay.latency = 0.05
    archive = tmp_path / "shared"
    with own_redis(tmp_path) as (url, server):
        writer, (worker,) = cluster_run(replay, url, config, archive, workers=1)
        midway(replay, url, workers=1)
        server.kill()
        for process in (worker, writer):
            code, _, err = finished(process, timeout=60)
            assert code == 1
            assert err.splitlines()[-1].startswith(f"crawler: error: lost Redis at {url}: ")
            assert "Traceback" not in err
    assert verify(archive) == []
    replay.latency = 0.0
    with own_redis(tmp_path) as (url, _):
        run_again(replay, url, config, archive)
    assert md_files(archive) == expected
    assert verify(archive) == []


@pytest.mark.process
def test_a_worker_without_a_writer_says_so(redis_url: str, tmp_path: Path, replay: ReplayServer):
    config = sina_config(tmp_path)
    worker = start(replay, "crawl", "--redis", redis_url, "-c", str(config), "--wait", "0.5")
    code, _, err = finished(worker)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("crawler: error: no run is open on redis://")
    bad = start(replay, "crawl", "--redis", "redis://127.0.0.1:1/0", "-c", str(config))
    code, _, err = finished(bad)
    assert code == 1 and "crawler: error: Redis is unreachable at redis://127.0.0.1:1/0: " in err


@pytest.mark.parametrize("command", ["crawl", "write"])
@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1/0", "unix:///nonexistent/redis.sock", "rediss://127.0.0.1:1"]
)
def test_an_unreachable_redis_is_one_line_naming_its_url(tmp_path, capsys, command, url):
    """Said at once, for what it is: not a run that never opens nor workers that never came."""
    config = sina_config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([command, "--redis", url, "-c", str(config), "--archive", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"crawler: error: Redis is unreachable at {url}: "), err


def test_a_password_in_the_redis_url_is_not_shown(tmp_path, capsys):
    config = sina_config(tmp_path)
    with pytest.raises(SystemExit):
        main(["crawl", "--redis", "redis://crawler:s3cret@127.0.0.1:1/0", "-c", str(config)])
    err = capsys.readouterr().err
    assert "s3cret" not in err and "redis://crawler:***@127.0.0.1:1/0" in err, err


@pytest.mark.process
@pytest.mark.parametrize("command", ["crawl", "write"])
def test_images_are_refused_by_a_worker_and_the_writer_with_one_line(
    redis_url: str, tmp_path: Path, command: str
):
    config = sina_config(tmp_path, images="keep")
    result = run_cli(None, command, "--redis", redis_url, "-c", str(config))
    assert result.returncode == 2  # a feeds.yaml the scale-out cannot take: said first
    assert result.stderr.strip() == (
        "crawler: error: 新浪财经－国內: 'images: keep' is not supported by a scaled-out crawl yet"
    )


def test_items_survive_the_trip_through_redis():
    article = Article(
        id="1",
        url="https://finance.sina.com.cn/a/doc-i1.shtml",
        title="标题",
        body="<p>正文</p>",
        shelf=Shelf("金融", "新浪财经", "新浪财经－国內", clean=True),
        date=datetime(2021, 9, 27, 23, 54, 59, tzinfo=UTC),
        keywords=("a", "b"),
        fetched_at=datetime(2026, 11, 27, 6, 0, tzinfo=UTC),
        images=(ImageOutcome("https://n.sinaimg.cn/a.jpg", error="HTTP 404"),),
    )
    assert decode(encode(article)) == article
    pending = Pending("甲", (("1", "https://x.test/1", {"id": "1", "keywords": ["a"]}),))
    assert decode(encode(pending)) == pending
    sample = Sample("甲", "1", "https://x.test/1", "text/html", b"\xff<p>\x00", article.date)
    assert decode(encode(sample)) == sample
    headers = (("Content-Type", "text/html"), ("Set-Cookie", "a"), ("Set-Cookie", "b"))
    capture = Capture(
        "甲", "https://x.test/1", article.date, "GET", (), "HTTP/1.1", 200, headers, b"\x1f\x8b"
    )
    assert decode(encode(capture)) == capture


@pytest.mark.process
def test_through_redis_an_edit_is_versioned_and_each_page_captured(
    replay: ReplayServer, redis_url: str, tmp_path: Path
):
    """The workers know each archived item's fetch time (the roll's mtime after it is an
    edit); the writer keeps the version and the captures the workers send."""
    articles = synthetic_articles(4)
    serve_pages(replay, articles)
    config = sina_config(tmp_path / "config", capture="warc")
    archive = tmp_path / "archive"
    run_again(replay, redis_url, config, archive)
    edited = articles[2]
    edited.roll["mtime"] = str(int(time.time()) + 1)
    serve_pages(replay, articles)
    page = edited.page.replace("第2篇文章的第5段".encode(), "第2篇文章修改的第5段".encode())
    replay.add(edited.url, Reply(200, page, {"Content-Type": edited.content_type}))
    time.sleep(1.2)
    replay.requests.clear()
    run_again(replay, redis_url, config, archive)
    assert [url for url in replay.requests if "doc-i" in url] == [edited.url]
    index = ProvenanceIndex.open(archive)
    try:
        assert len(index.versions(SINA_NAME, edited.id)) == 1
    finally:
        index.close()
    (warc,) = (archive / ".crawler" / "warc").rglob("*.warc.gz")
    with warc.open("rb") as f:
        urls = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)]
    assert sorted(urls) == sorted([a.url for a in articles for _ in "qr"] + [edited.url] * 2)
    assert verify(archive) == []


@pytest.mark.process
def test_a_redis_with_an_acl_user_is_reached_with_the_credentials_in_its_url(
    replay: ReplayServer, tmp_path: Path
):
    """Workers unpickle requests from Redis: the README has it require a password or an ACL
    user. `redis://user:password@host/db` reaches it; no credentials is one line, exit 1."""
    serve_pages(replay, synthetic_articles(5))
    config = sina_config(tmp_path / "config", pages=2, limit=1000)
    acl = ("--user", "default", "off", "--user", "crawler", "on", ">s3cret", "~*", "&*", "+@all")
    with own_redis(tmp_path, *acl) as (url, _):
        bare = start(replay, "write", "--redis", url, "-c", str(config), "--archive", "x")
        code, _, err = finished(bare)
        assert code == 1 and err.startswith("crawler: error: ") and len(err.splitlines()) == 1
        assert "Traceback" not in err
        with_user = url.replace("redis://", "redis://crawler:s3cret@")
        run_again(replay, with_user, config, tmp_path / "archive")
    assert len(md_files(tmp_path / "archive")) == 5


def test_an_item_dated_out_of_range_in_redis_is_written_with_its_fetch_time():
    """An item a worker (or anyone who can write to Redis) sent with a date the archive
    cannot write is an undated item, not a writer that dies on it every run."""
    article = Article(
        id="1", url="https://e.test/1", title="t", body="<p>b</p>", shelf=Shelf("c", "s", "n")
    )
    data = json.loads(encode(article))
    data["date"] = {"~dt": "9999-12-31T23:00:00-12:00"}
    decoded = decode(json.dumps(data).encode())
    assert decoded.date is None and decoded.date_guessed


def test_a_prepared_body_never_travels_through_redis():
    """What a pipeline made ready in its own process (the judged body) stays there: sent, it
    is left out; received (anyone who can write to Redis), it is ignored, and the writer
    prepares the body it was sent."""
    from crawler.store.template import Prepared, prepare

    article = Article(
        id="1", url="https://e.test/1", title="t", body="<p>b</p>", shelf=Shelf("c", "s", "n")
    )
    data = json.loads(encode(article))
    assert "prepared" not in data
    forged = Prepared("<script>alert(1)</script>", (), False)
    data["prepared"] = {"~": "Prepared", **forged.__dict__}
    decoded = decode(json.dumps(data).encode())
    assert decoded.prepared is None and prepare(decoded).body == prepare(article).body


@pytest.mark.process
def test_a_scaled_out_crawl_archives_the_live_feed_as_one_process_does(
    replay: ReplayServer, redis_url: str, tmp_path: Path
):
    """The 7×24 live feed's flashes (items whole in its list) travel to the writer like any
    article: the same posts as a single-process crawl, each page of the feed asked once."""
    flashes = [synthetic_flash(n) for n in range(14, -1, -1)] + real_flashes()
    serve_live(replay, flashes)
    config = live_config(tmp_path / "config")
    single = crawl(replay, tmp_path / "single", config=config)
    assert single.returncode == 0 and "17 new" in single.stdout, single.stderr
    replay.requests.clear()
    run_again(replay, redis_url, config, tmp_path / "shared")
    assert md_files(tmp_path / "shared") == md_files(tmp_path / "single")
    assert Counter(replay.requests) == Counter(LIVE.format(zhibo_id=152, page=n) for n in (1, 2, 3))
