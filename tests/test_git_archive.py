"""The archive in git: its lasting state is text that diffs; the SQLite index is a cache."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from replay import ReplayServer
from runner import crawl, git, run_cli
from sina_replay import ROLL, SINA_NAME, md_files, serve_pages, synthetic_articles

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def committed(replay: ReplayServer, repo: Path, articles) -> None:
    """A blog repository whose posts folder holds a crawl of `articles`, committed."""
    serve_pages(replay, articles)
    git(repo.parent, "init", "-q", "-b", "main", repo.name)
    result = crawl(replay, repo / "posts", "--limit", "1000", "--pages", "40")
    assert result.returncode == 0, result.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "crawl")


def test_a_clone_recrawls_with_the_roll_page_alone_and_stays_clean(
    replay: ReplayServer, tmp_path: Path
):
    repo = tmp_path / "blog"
    committed(replay, repo, synthetic_articles(12))
    tracked = git(repo, "ls-files").splitlines()
    assert not [f for f in tracked if "sqlite" in f or f.endswith(("/lock", "/dirty"))]
    assert "posts/.crawler/.gitignore" in tracked
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not (clone / "posts" / ".crawler" / "archive.sqlite3").exists()
    replay.requests.clear()
    again = crawl(replay, clone / "posts")
    assert again.returncode == 0, again.stderr
    assert f"{SINA_NAME}: 0 new, 0 updated, 12 unchanged, 0 failed" in again.stdout
    assert replay.requests == [ROLL.format(lid=1686, page=1)]
    assert git(clone, "status", "--porcelain") == ""
    # the cache is built from the text state: the review commands work in the clone
    found = run_cli(None, "archive", "search", "合成新闻第3号", "--archive", str(clone / "posts"))
    assert found.returncode == 0 and found.stdout.count("\n") == 1, found.stderr
    assert git(clone, "status", "--porcelain") == ""


def test_nothing_new_changes_nothing_one_new_article_a_post_and_a_line(
    replay: ReplayServer, tmp_path: Path
):
    repo = tmp_path / "blog"
    articles = synthetic_articles(6)
    committed(replay, repo, articles[1:])
    assert crawl(replay, repo / "posts").returncode == 0
    assert git(repo, "status", "--porcelain") == ""
    serve_pages(replay, articles)  # articles[0] is new, at the top of the roll
    assert crawl(replay, repo / "posts").returncode == 0
    changes = git(repo, "status", "--porcelain", "-uall").splitlines()
    new_post = [c for c in changes if c.startswith("??") and c.endswith(".md")]
    state = [c for c in changes if "/.crawler/" in c]
    assert len(new_post) == 1 and len(changes) == 2, changes
    assert state and state[0].startswith(" M")
    added, removed = git(repo, "diff", "--numstat").split()[:2]
    assert (added, removed) == ("1", "0")


def test_an_archive_from_before_the_text_state_is_upgraded_without_loss(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(5)
    serve_pages(replay, articles)
    today, earlier = tmp_path / "today", tmp_path / "earlier"
    assert crawl(replay, today).returncode == 0
    shutil.copytree(today, earlier)
    # what the previous version left: the SQLite index alone
    shutil.rmtree(earlier / ".crawler" / "state")
    (earlier / ".crawler" / ".gitignore").unlink()
    db = sqlite3.connect(earlier / ".crawler" / "archive.sqlite3")
    db.execute("DROP TABLE meta")
    db.commit()
    db.close()
    replay.requests.clear()
    result = crawl(replay, earlier)
    assert result.returncode == 0, result.stderr
    assert replay.requests == [ROLL.format(lid=1686, page=1)]  # nothing was lost
    assert (earlier / ".crawler" / ".gitignore").is_file()
    for path in (today / ".crawler" / "state").rglob("*.jsonl"):
        rel = path.relative_to(today)
        assert (earlier / rel).read_bytes() == path.read_bytes(), rel
    assert md_files(earlier) == md_files(today)
    verify = run_cli(None, "archive", "verify", "--archive", str(earlier))
    assert verify.returncode == 0, verify.stdout


def test_a_planted_state_line_or_link_is_skipped_and_the_rest_is_read(
    replay: ReplayServer, tmp_path: Path
):
    """The state is found in the archive (a pull may bring anything): lines that are not the
    crawler's are skipped with one warning per file, links never read, the rest is used."""
    archive = tmp_path / "archive"
    serve_pages(replay, synthetic_articles(4))
    assert crawl(replay, archive).returncode == 0
    state = archive / ".crawler" / "state"
    (month,) = (state / "items").rglob("*.jsonl")
    with month.open("a", encoding="utf-8") as f:
        f.write('not json\n[1, 2]\n{"deep": ' + "[" * 100_000 + "\n")
    secret = tmp_path / "secret.jsonl"
    secret.write_text(
        '{"source": "x", "item_id": "y", "url": "u", "payload": {}, '
        '"attempts": 1, "last_error": ""}\n',
        encoding="utf-8",
    )
    (state / "retries.jsonl").symlink_to(secret)
    (archive / ".crawler" / "archive.sqlite3").unlink()
    replay.requests.clear()
    result = crawl(replay, archive)
    assert result.returncode == 0, result.stderr
    assert f"{SINA_NAME}: 0 new, 0 updated, 4 unchanged, 0 failed" in result.stdout
    assert replay.requests == [ROLL.format(lid=1686, page=1)]
    assert result.stderr.count("not of the crawler's text state, skipped") == 1
    assert "Traceback" not in result.stderr
    assert secret.read_text(encoding="utf-8").startswith('{"source": "x"')  # never written
