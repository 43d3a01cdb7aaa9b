"""One archive session per crawl (store/session.py): the index opened once, every item kind
through `take`, each source's end through `finish`; the run's own settings are not the user's."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config import ConfigError, parse_config
from crawler.items import Article, ImageOutcome, ImageRetry, Pending, Sample, Settled
from crawler.run import tuning
from crawler.store.session import MAX_ATTEMPTS, ArchiveSession, Finish, Outcome

from feed_replay import feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply, serve_images
from runner import FAST, ROOT

# `crawler ARGS…` with every ProvenanceIndex it makes counted, in the crawl's process and in
# its archive writer's (a line each in the file $COUNTED; their number said on stderr last).
COUNTING = """
import os, sys
from crawler.store import index
real = index.ProvenanceIndex.__init__
def counted(self, *args, **kwargs):
    with open(os.environ["COUNTED"], "a") as made:
        made.write(f"{os.getpid()}\\n")
    real(self, *args, **kwargs)
index.ProvenanceIndex.__init__ = counted
from crawler.cli import main
try:
    main(sys.argv[1:])
finally:
    with open(os.environ["COUNTED"]) as made:
        print(f"index opened {len(made.readlines())} time(s)", file=sys.stderr)
"""


def source(**keys):
    raw = {"name": "早报", "site": "财经", "category": "订阅", "url": "https://feed.test/f", **keys}
    (parsed,) = parse_config({"sources": [raw]}, Path("feeds.yaml")).sources
    return parsed


@pytest.mark.process
def test_a_crawl_opens_the_index_once(replay: ReplayServer, tmp_path: Path):
    url = "https://feed.test/rss"
    items = [
        rss_item(f"第{n}条", f"g{n}", f'<p>正文{n}</p><img src="https://img.test/{n}.png">')
        for n in range(3)
    ]
    replay.add(url, Reply(body=rss("早报", items), headers={"Content-Type": "application/rss+xml"}))
    serve_images(replay)
    config = feeds_yaml(tmp_path, [feed_source("早报", url, images="keep")])
    counted = tmp_path / "counted"
    env = {**os.environ, "PYTHONPATH": str(ROOT), **replay.proxy_env(), "COUNTED": str(counted)}
    command = [sys.executable, "-c", COUNTING, "crawl", "-c", str(config)]
    command += ["--archive", str(tmp_path / "archive"), *FAST]
    for _ in range(2):  # a first crawl, then one with everything archived
        counted.write_text("")
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[-1] == "index opened 1 time(s)", done.stderr
    assert len(list((tmp_path / "archive").rglob("*.md"))) == 3


def test_take_is_one_dispatch_for_every_item_kind(tmp_path: Path):
    shelf = source().shelf
    heard = []
    root = tmp_path / "archive"
    with ArchiveSession(root) as session:
        session.feed(batch=1, on_durable=heard.append)
        article = Article("a1", "https://feed.test/a/1", "第一条", "<p>正文</p>", shelf)
        written = session.take(article)
        assert written.status == "written" and heard == [written.result]
        assert written.result.status == "new" and written.result.path.is_file()
        pending = Pending(shelf.source, (("a2", "https://feed.test/a/2", {}),))
        assert session.take(pending).status == "noted"
        assert session.start(shelf).retry_payloads == [{}]  # a2 is owed
        assert session.take(Settled(shelf.source, ("a2",))).status == "noted"
        assert session.start(shelf).retry_payloads == []
        now = datetime.now(UTC)
        sample = Sample(shelf.source, "a3", "https://feed.test/a/3", "text/html", b"<p>", now)
        assert session.take(sample).status == "noted"
        image = "https://img.test/x.png"
        lost = (ImageOutcome(image, error="HTTP 404"),)
        relinked = session.take(ImageRetry(shelf, "a1", article.url, (image,), lost))
        assert relinked == Outcome("relinked", None)  # no copy stored: no file changed
        other = source(name="晚报").shelf
        (tmp_path / "elsewhere").mkdir()
        (root / "订阅" / "财经" / "晚报").symlink_to(tmp_path / "elsewhere")  # planted
        refused = session.take(Article("b1", "https://feed.test/b/1", "一", "<p>正文</p>", other))
        assert refused.status == "refused" and "leads outside the archive" in refused.reason
        assert set(session.start(shelf).archived) == {"a1"}


def test_finish_gives_up_an_item_failing_max_attempts_runs(tmp_path: Path):
    shelf = source().shelf
    failure = ("a1", "https://feed.test/a/1", {"page": 1}, "HTTP 500")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with ArchiveSession(tmp_path) as session:
            start = session.start(shelf)
            assert ("a1" in start.given_up) == (attempt > MAX_ATTEMPTS)
            session.finish(Finish(shelf.source, {"failed": 1}, failed=[failure]))
    with ArchiveSession(tmp_path) as session:
        assert session.start(shelf).given_up == {"a1"}
        assert session.start(shelf, refresh=True).retry_payloads == [{"page": 1}]


def test_a_source_that_was_down_spends_no_attempt(tmp_path: Path):
    shelf = source().shelf
    failure = ("a1", "https://feed.test/a/1", None, "connection refused")
    for _ in range(MAX_ATTEMPTS + 1):
        with ArchiveSession(tmp_path) as session:
            session.finish(Finish(shelf.source, {"failed": 1}, failed=[failure], counted=False))
    with ArchiveSession(tmp_path) as session:
        assert session.start(shelf).given_up == frozenset()


@pytest.mark.parametrize("name", ["ARCHIVE_SESSION", "ARCHIVE_ROOT", "ARCHIVE_PREVIEW"])
def test_the_settings_a_run_sets_itself_cannot_be_given(name: str):
    with pytest.raises(ConfigError, match=f"-s {name}: set by the crawler itself"):
        tuning({name: "x"}, environ={})


def test_the_archive_settings_are_read_as_numbers():
    values = tuning({"ARCHIVE_BATCH": "8", "ARCHIVE_MAX_DELAY": "0.5"}, environ={})
    assert values == {"ARCHIVE_BATCH": 8, "ARCHIVE_MAX_DELAY": 0.5}
    with pytest.raises(ConfigError, match="ARCHIVE_IMAGES_MAXSIZE='big': must be a number"):
        tuning({"ARCHIVE_IMAGES_MAXSIZE": "big"}, environ={})
