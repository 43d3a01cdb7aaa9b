"""Retries: an article that keeps failing costs no commit, is given up for good after five
failed runs, is charged nothing for a source that is down, and takes no place of `--limit`;
the text state that remembers it loads whatever a file holds."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.paths import name_key
from crawler.store.state import MAX_COUNT, source_folders

from replay import ReplayServer, Reply
from runner import FAST, crawl, git, run_cli
from sina_replay import ROLL, SINA_NAME, md_files, serve_pages, synthetic_articles

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def summary(result: subprocess.CompletedProcess) -> str:
    return next(line for line in result.stdout.splitlines() if line.startswith(SINA_NAME))


def down_proxy() -> dict[str, str]:
    """A proxy nobody listens at: every request fails to connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    return {"http_proxy": url, "https_proxy": url, "no_proxy": ""}


def crawl_through(proxy: dict[str, str], archive: Path) -> subprocess.CompletedProcess:
    return run_cli(None, "crawl", "--archive", str(archive), *FAST, env=proxy)


@pytest.mark.process
@needs_git
def test_a_failing_article_changes_no_tracked_byte_on_a_run_that_archives_nothing(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(4)
    serve_pages(replay, articles)
    replay.add(articles[1].url, Reply(404, b"gone"))
    repo = tmp_path / "blog"
    git(tmp_path, "init", "-q", "-b", "main", repo.name)
    first = crawl(replay, repo / "posts")
    assert summary(first) == f"{SINA_NAME}: 3 new, 0 updated, 0 unchanged, 1 failed"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "crawl")
    for _ in range(2):  # the article fails again: nothing to commit
        again = crawl(replay, repo / "posts")
        assert summary(again) == f"{SINA_NAME}: 0 new, 0 updated, 3 unchanged, 1 failed"
        assert git(repo, "status", "--porcelain", "-uall") == ""


@pytest.mark.process
def test_given_up_stays_given_up_across_runs_and_a_fresh_cache(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(3)
    serve_pages(replay, articles)
    failing = articles[0]
    replay.add(failing.url, Reply(404, b"gone"))
    for run in range(1, 6):
        result = crawl(replay, tmp_path)
        assert result.returncode == 0, result.stderr
        assert summary(result).endswith(", 1 failed"), (run, result.stdout)
    assert "failed 5 runs in a row, given up" in result.stderr
    retries = (tmp_path / ".crawler" / "state" / "retries.jsonl").read_text(encoding="utf-8")
    assert json.loads(retries)["given_up"] is True
    for fresh_cache in (False, True):  # the text state says so too
        if fresh_cache:
            (tmp_path / ".crawler" / "archive.sqlite3").unlink()
        replay.requests.clear()
        result = crawl(replay, tmp_path)
        assert failing.url not in replay.requests, fresh_cache
        assert summary(result) == (
            f"{SINA_NAME}: 0 new, 0 updated, 2 unchanged, 0 failed, 1 given up"
        )
    # Asked for: --refresh tries it again, and now it is there.
    replay.add(failing.url, Reply(200, failing.page, {"Content-Type": failing.content_type}))
    result = crawl(replay, tmp_path, "--refresh")
    assert summary(result).startswith(f"{SINA_NAME}: 1 new"), result.stdout
    assert not (tmp_path / ".crawler" / "state" / "retries.jsonl").exists()


@pytest.mark.process
def test_a_proxy_that_is_down_costs_no_article_a_retry(replay: ReplayServer, tmp_path: Path):
    articles = synthetic_articles(3)
    serve_pages(replay, articles)
    failing = articles[0]
    replay.add(failing.url, Reply(404, b"gone"))
    assert summary(crawl(replay, tmp_path)).endswith(", 1 failed")
    for _ in range(5):  # five runs with the proxy down: the roll and the retry fail to connect
        down = crawl_through(down_proxy(), tmp_path)
        assert down.returncode == 1, down.stderr
        assert "given up" not in down.stderr
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert [attempts for *_, attempts, _error in index.retries()] == [1]
    finally:
        index.close()
    # Back up, the article off the roll and served at last: it is still asked for.
    serve_pages(replay, articles[1:])
    replay.add(failing.url, Reply(200, failing.page, {"Content-Type": failing.content_type}))
    result = crawl(replay, tmp_path)
    assert summary(result) == f"{SINA_NAME}: 1 new, 0 updated, 2 unchanged, 0 failed"


@pytest.mark.process
def test_limit_counts_articles_archived_not_failures(replay: ReplayServer, tmp_path: Path):
    """`--limit 5` twice archives ten, though the roll's first article always fails."""
    articles = synthetic_articles(14)
    serve_pages(replay, articles)
    replay.add(articles[0].url, Reply(404, b"gone"))
    first = crawl(replay, tmp_path, "--limit", "5")
    assert summary(first) == f"{SINA_NAME}: 5 new, 0 updated, 0 unchanged, 1 failed"
    second = crawl(replay, tmp_path, "--limit", "5")
    assert summary(second) == f"{SINA_NAME}: 5 new, 0 updated, 5 unchanged, 1 failed"
    assert len(md_files(tmp_path)) == 10
    assert replay.requests.count(ROLL.format(lid=1686, page=1)) == 2


def _line(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def test_state_values_of_any_type_or_size_load_without_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The state is found in the archive: a count that is a float (`1e999` is infinity), an
    integer SQLite cannot hold, 5,000 digits (more than Python reads), or a value of the wrong
    type is no crash. A line is skipped, or its count clamped, with a warning."""
    state = tmp_path / ".crawler" / "state"
    (state / "images").mkdir(parents=True)

    def retry(item_id: object) -> dict:
        return {"source": "s", "item_id": item_id, "url": f"https://x/{item_id}", "payload": {}}

    lines = [
        '{"source":"s","item_id":"inf","url":"u","payload":{},"attempts":1e999,"last_error":""}\n',
        '{"source":"s","item_id":"big","url":"u","payload":{},"attempts":'
        + "1"
        + "0" * 5000
        + ',"last_error":""}\n',
        _line({**retry("huge"), "attempts": 10**100, "last_error": "x"}),
        _line({**retry("negative"), "attempts": -3, "last_error": "x"}),
        _line({**retry("text"), "attempts": "3", "last_error": ""}),
        _line({**retry("bool"), "attempts": True, "last_error": ""}),
        _line({**retry("list-payload"), "payload": [1], "given_up": False, "reason": ""}),
        _line({**retry("given-up-text"), "given_up": "yes", "reason": ""}),
        _line({**retry(7), "given_up": False, "reason": ""}),  # an id that is no string
        _line({**retry("nested"), "payload": {"a": [[[[]]]]}, "given_up": False, "reason": ""}),
        _line({**retry("old"), "attempts": 2, "last_error": "HTTP 500"}),
        _line({**retry("new"), "given_up": True, "reason": "HTTP 404"}),
    ]
    (state / "retries.jsonl").write_text("".join(lines), encoding="utf-8")
    image = {"url": "https://i/1.jpg", "path": "", "sha256": "", "last_error": "", "fetched_at": ""}
    (state / "images" / "00.jsonl").write_text(
        '{"url":"https://i/0.jpg","path":"","sha256":"","attempts":1e999,"last_error":"",'
        '"fetched_at":""}\n' + _line({**image, "attempts": 2**64}),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="crawler"):
        index = ProvenanceIndex.open(tmp_path)
    try:
        rows = index.db.execute(
            "SELECT item_id, attempts, last_error, given_up FROM retries ORDER BY item_id"
        ).fetchall()
        images = index.db.execute("SELECT url, attempts FROM images").fetchall()
    finally:
        index.close()
    assert rows == [
        ("huge", MAX_COUNT, "x", 0),
        ("negative", 0, "x", 0),
        ("nested", 0, "", 0),
        ("new", 0, "HTTP 404", 1),
        ("old", 2, "HTTP 500", 0),
    ]
    assert images == [("https://i/1.jpg", MAX_COUNT)]
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("retries.jsonl: 7 line(s)" in w and "skipped" in w for w in warnings) == 1
    assert sum("retries.jsonl: 2 value(s) out of range, clamped" in w for w in warnings) == 1
    assert sum("00.jsonl: 1 line(s)" in w for w in warnings) == 1


def test_state_is_saved_when_two_source_names_make_one_folder(tmp_path: Path):
    """`x?` is filed as `x__<its hash>`: a source named that very thing gets a folder of its
    own, and the state of both is written and read back."""
    taken = f"x__{hashlib.sha1(b'x?').hexdigest()[:8]}"
    when = datetime(2024, 1, 1, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        for number, name in enumerate(("x?", taken)):
            shelf = Shelf("金融", "新浪财经", name)
            url = f"https://finance.sina.com.cn/doc-i{number}.shtml"
            writer.write(
                Article(
                    id=str(number), url=url, title=name, body="<p>正文</p>", shelf=shelf, date=when
                )
            )
    index = ProvenanceIndex.open(tmp_path)
    try:
        index.save_all_state()  # the whole state, as after a crash or an upgrade
    finally:
        index.close()
    folders = sorted(p.name for p in (tmp_path / ".crawler" / "state" / "items").iterdir())
    assert len(folders) == 2 and taken in folders, folders
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert index.ids("x?") == {"0"} and index.ids(taken) == {"1"}
    finally:
        index.close()
    # Names a state file may hold that meet on macOS, or whose hashes meet: still two folders.
    twins = source_folders(["Café", "café", "x?", taken])
    assert len({name_key(folder) for folder in twins.values()}) == 4
