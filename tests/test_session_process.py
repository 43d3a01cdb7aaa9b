"""A crawl's archive session in a child process (store/process.py): the same archive as in
this process, outcomes told in order, failures as the child met them, and neither process
outliving the other with the archive half-written."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.extract.sina_article import read_article
from crawler.extract.sina_roll import RollItem
from crawler.items import Article, Capture, Pending, Shelf
from crawler.store.archive import Archive
from crawler.store.index import DB_NAME
from crawler.store.lock import ArchiveLock, ArchiveLocked
from crawler.store.process import MAX_IN_FLIGHT, SessionProcess, WriterLost
from crawler.store.session import MAX_ATTEMPTS, Finish
from crawler.store.verify import verify

from runner import ROOT
from sina_cases import sina_cases

pytestmark = pytest.mark.process

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
WHEN = datetime(2021, 9, 27, 23, 54, 59, tzinfo=UTC)


CASE_URL = "https://finance.sina.com.cn/china/2024-01-01/doc-ixyz.shtml"


def read_fixture() -> bytes:
    """A real Sina article page of the saved cases."""
    return next(case.page for case in sina_cases() if case.url.startswith("https://finance"))


def article(n: int, body: str = "") -> Article:
    return Article(
        id=str(n),
        url=f"https://finance.sina.com.cn/doc-i{n}.shtml",
        title=f"第{n}篇",
        body=body or f"<p>正文{n}</p>",
        shelf=SHELF,
        date=WHEN,
    )


class Told:
    """What the child told, in order."""

    def __init__(self):
        self.durable, self.refused, self.failed = [], [], []

    def feed(self, session: SessionProcess, batch: int = 8) -> None:
        session.feed(
            batch=batch,
            on_durable=self.durable.append,
            on_refused=lambda item, reason: self.refused.append((item, reason)),
            on_failed=self.failed.append,
        )


def test_items_written_in_the_child_are_the_in_process_archive(tmp_path: Path):
    here, apart = tmp_path / "here", tmp_path / "apart"
    items = [article(n) for n in range(20)]
    for root, is_apart in ((here, False), (apart, True)):
        with Archive.write(root) as archive, archive.session(apart=is_apart) as session:
            told = Told()
            told.feed(session)
            for item in items:
                session.take(item)
            session.flush()
            assert [r.status for r in told.durable] == ["new"] * 20
    files = {p.relative_to(here): p.read_bytes() for p in here.rglob("*.md")}
    assert files and files == {p.relative_to(apart): p.read_bytes() for p in apart.rglob("*.md")}
    assert verify(apart) == []


def test_a_refused_item_comes_back_with_its_reason(tmp_path: Path, monkeypatch):
    import crawler.store.writer as writer_module

    real = writer_module.render

    def render(post):  # the child is forked with it
        if post.title == "第3篇":
            raise RecursionError("maximum recursion depth exceeded")
        return real(post)

    monkeypatch.setattr(writer_module, "render", render)
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        told = Told()
        told.feed(session)
        for n in (1, 3, 2):
            session.take(article(n))
        session.flush()
    assert [(item.id, reason) for item, reason in told.refused] == [
        (
            "3",
            "https://finance.sina.com.cn/doc-i3.shtml: cannot be rendered: RecursionError: "
            "maximum recursion depth exceeded",
        )
    ]
    assert sorted(r.path.name for r in told.durable) == ["第1篇.md", "第2篇.md"]


def test_many_large_items_never_wait_on_each_other(tmp_path: Path):
    """More items than may be in flight, some of megabytes (a page's capture): every
    outcome comes back, and the crawl never holds more than MAX_IN_FLIGHT unanswered."""
    page = b"<html>" + b"x" * 3_000_000 + b"</html>"
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        told = Told()
        told.feed(session, batch=64)
        most = 0
        for n in range(3 * MAX_IN_FLIGHT):
            session.take(article(n, body=f"<p>{'长文' * 20_000}{n}</p>"))
            if n % 50 == 0:
                url = f"https://finance.sina.com.cn/{n}"
                session.take(Capture(SHELF.source, url, WHEN, "GET", (), "HTTP/1.1", 200, (), page))
            most = max(most, len(session.items))
        session.flush()
        assert len(told.durable) == 3 * MAX_IN_FLIGHT and not told.failed
        assert most <= MAX_IN_FLIGHT and not session.items


def test_answers_and_errors_come_back_as_the_child_had_them(tmp_path: Path, caplog):
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        start = session.start(SHELF)
        assert start.archived == {} and start.retry_payloads == []
        with pytest.raises(AttributeError):  # a fault of ours keeps its type
            session.finish(object())
        failed = [("7", "https://finance.sina.com.cn/7", None, "HTTP 500")]
        with caplog.at_level(logging.WARNING, logger="crawler"):
            for _ in range(MAX_ATTEMPTS):
                session.finish(Finish(name=SHELF.source, counts={}, failed=failed))
        assert session.start(SHELF).given_up == {"7"}
    # the child's log line, logged here as this process's own
    assert any("given up" in r.getMessage() for r in caplog.records), caplog.records


def test_a_page_read_apart_comes_back_before_the_writes_waiting(tmp_path: Path):
    """`apart` runs a reader in the child: its answer (or what it raised, with its type)
    comes back, ahead of writes given before it, which keep their own order."""
    page = read_fixture()
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        told = Told()
        told.feed(session, batch=1)  # each write its own fsync: the child stays busy
        heard = []
        for n in range(40):
            session.take(article(n))
        roll = RollItem(id="x", url=CASE_URL, title="")
        session.apart(
            read_article,
            (page, CASE_URL, "text/html"),
            {"roll": roll},
            lambda read: heard.append(("read", read, len(told.durable))),
            lambda exc: heard.append(("error", exc, len(told.durable))),
        )
        session.apart(_broken, (), {}, heard.append, lambda exc: heard.append(exc))
        session.flush()
    (kind, read, durable_before), broken = heard
    assert kind == "read" and read.article is not None and read.article.title
    assert durable_before < 40, "the read waited for every write before it"
    assert isinstance(broken, RecursionError) and "deep" in str(broken)
    assert [r.path.name for r in told.durable] == [f"第{n}篇.md" for n in range(40)]


def _broken():
    raise RecursionError("too deep")


def _unpicklable():
    return lambda: None


def _refuse_to_load():
    raise ValueError("not here")


class _Unloadable:
    """Pickled by the child; unpickling it (in the crawl) fails."""

    def __reduce__(self):
        return _refuse_to_load, ()


def _unloadable():
    return _Unloadable()


def test_what_cannot_be_pickled_fails_alone_and_at_once(tmp_path: Path):
    """An item or a read whose arguments cannot be pickled is its caller's error at once; an
    answer that cannot be pickled, or read back, is the read's error; the session goes on."""
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        told = Told()
        told.feed(session)
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            session.take(lambda: None)
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            session.apart(_broken, (), {"x": lambda: None}, print, print)
        errors = []
        session.apart(_unpicklable, (), {}, errors.append, errors.append)
        session.apart(_unloadable, (), {}, errors.append, errors.append)
        session.take(article(1))
        session.flush()
        assert len(errors) == 2 and all(isinstance(e, Exception) for e in errors), errors
        assert "cannot be read: not here" in str(errors[1])
        assert [r.status for r in told.durable] == ["new"]


def test_a_child_lost_fails_the_reads_it_owed(tmp_path: Path):
    with Archive.write(tmp_path) as archive:
        session = archive.session(apart=True)
        errors = []
        os.kill(session.pid, signal.SIGKILL)
        session.apart(time.sleep, (5,), {}, errors.append, errors.append)
        with pytest.raises(WriterLost):
            while session.lost is None:
                session._told(session._recv())
        assert len(errors) == 1 and isinstance(errors[0], WriterLost)
        session.apart(time.sleep, (5,), {}, errors.append, errors.append)  # told at once
        assert len(errors) == 2
        with pytest.raises(WriterLost):
            session.close()


def test_a_child_that_cannot_open_the_archive_says_why(tmp_path: Path):
    (tmp_path / ".crawler" / DB_NAME).mkdir(parents=True)  # where the index goes: a folder
    with Archive.write(tmp_path) as archive, pytest.raises(sqlite3.Error, match="database"):
        archive.session(apart=True)


def test_a_killed_writer_stops_the_crawl_and_the_next_one_finds_it_whole(tmp_path: Path):
    with Archive.write(tmp_path) as archive:
        session = archive.session(apart=True)
        told = Told()
        told.feed(session, batch=4)
        for n in range(10):
            session.take(article(n))
        session.flush()  # ten durable
        session.take(Pending(SHELF.source, (("11", "https://finance.sina.com.cn/11", {}),)))
        os.kill(session.pid, signal.SIGKILL)
        with pytest.raises(WriterLost, match="killed by signal 9"):
            for n in range(10, 10 + 4 * MAX_IN_FLIGHT):  # it answers no more
                session.take(article(n))
        with pytest.raises(WriterLost):
            session.close()  # the same, every call after
    assert len(told.durable) == 10
    # The next session takes the archive over: what was durable is there and whole.
    with Archive.write(tmp_path) as archive, archive.session(apart=True) as session:
        assert set(session.start(SHELF).archived) >= {str(n) for n in range(10)}
    assert verify(tmp_path) == []


# A crawl's process killed outright with its writer alive; prints the writer's pid first.
KILLED = """
import os, signal, sys
from pathlib import Path
from crawler.store.archive import Archive
with Archive.write(Path(sys.argv[1])) as archive:
    session = archive.session(apart=True)
    print(session.pid, flush=True)
    sys.stdin.readline()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_writer_dies_with_the_crawl_and_frees_the_archive(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    crawl = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    writer = int(crawl.stdout.readline())
    assert _alive(writer)
    crawl.stdin.write("\n")
    crawl.stdin.flush()
    assert crawl.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _alive(writer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(writer)
    # Its last thread gone (the leader shows as a zombie first), the lock is free.
    while True:
        try:
            with ArchiveLock(tmp_path):
                break
        except ArchiveLocked:
            assert time.monotonic() < deadline, "the lock outlived the crawl and its writer"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """The process exists and is no zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
