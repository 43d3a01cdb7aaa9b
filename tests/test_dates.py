"""DATE (docs/FORMAT.md): what the writer writes, verify accepts, and a guessed date that stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.verify import check_file, verify

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
FETCHED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def article(date: datetime | None, fetched: datetime = FETCHED, body: str = "<p>b</p>"):
    return Article(
        id="doc1",
        url="https://finance.sina.com.cn/doc1.shtml",
        title="Post",
        body=body,
        shelf=SHELF,
        date=date,
        fetched_at=fetched,
    )


def date_line(path: Path) -> str:
    return next(line for line in path.read_text(encoding="utf-8").split("\n") if "date: " in line)


def record(root: Path):
    index = ProvenanceIndex.open(root)
    try:
        return index.get(SHELF.source, "doc1")
    finally:
        index.close()


@pytest.mark.parametrize("year", [1, 24, 50, 99])
def test_a_year_before_100_is_no_date(tmp_path: Path, year: int):
    """Read back by JavaScript's Date (Hexo) or Python's email.utils, `0024` is 2024 and
    `0050` 1950: the fetch time stands in, guessed, as for any date the archive cannot write."""
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article(datetime(year, 3, 4, 5, 6, 7, tzinfo=UTC))).path
    assert date_line(path) == "date: Mon, 06 May 2024 07:08:09 GMT"
    assert record(tmp_path).date_guessed
    assert verify(tmp_path) == []


@pytest.mark.parametrize("year", [100, 500, 999, 1000])
def test_a_year_from_100_is_written_and_verified(tmp_path: Path, year: int):
    moment = datetime(year, 3, 4, 5, 6, 7, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article(moment)).path
    assert f" {year:04d} 05:06:07 GMT" in date_line(path)
    assert not record(tmp_path).date_guessed
    assert verify(tmp_path) == []


def test_verify_says_why_a_year_before_100_is_refused(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article(datetime(2001, 3, 4, 5, 6, 7, tzinfo=UTC))).path
    data = path.read_bytes().replace(b"Sun, 04 Mar 2001", b"Sun, 04 Mar 0001")
    assert check_file(data) == [
        "date 'Sun, 04 Mar 0001 05:06:07 GMT' has a year before 100: readers take it for 19xx "
        "or 20xx"
    ]


def test_a_guessed_date_stays_on_refresh(tmp_path: Path):
    later = FETCHED + timedelta(days=3)
    real = datetime(2024, 5, 1, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        first = writer.write(article(None))
        data = first.path.read_bytes()
        refreshed = writer.write(article(None, later))
        assert (first.status, refreshed.status) == ("new", "unchanged")
        assert first.path.read_bytes() == data
        assert record(tmp_path).date_guessed
        edited = writer.write(article(None, later, body="<p>edited</p>"))
        assert edited.status == "updated"
        assert date_line(edited.path) == "date: Mon, 06 May 2024 07:08:09 GMT"
        dated = writer.write(article(real, later))  # the source gives a date now: it wins
        assert dated.status == "updated"
        assert date_line(dated.path) == "date: Wed, 01 May 2024 00:00:00 GMT"
        assert writer.write(article(None, later + timedelta(days=1))).status == "unchanged"
    assert not record(tmp_path).date_guessed
