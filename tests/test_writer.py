"""ArchiveWriter: atomic, idempotent, never two items in one file, provenance kept."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import Article, Shelf
from crawler.store import ArchiveError, ArchiveWriter, ProvenanceIndex
from crawler.store.paths import collision_stem

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
WHEN = datetime(2021, 9, 27, 23, 54, 59, tzinfo=UTC)


def article(item_id: str = "1", title: str = "标题", body: str = "<p>正文</p>", **kw) -> Article:
    return Article(
        id=item_id,
        url=f"https://finance.sina.com.cn/doc-i{item_id}.shtml",
        title=title,
        body=body,
        shelf=SHELF,
        date=WHEN,
        **kw,
    )


def test_new_then_unchanged_leaves_the_file_alone(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        first = writer.write(article())
        os.utime(first.path, (1, 1))
        again = writer.write(article())
    assert (first.status, again.status) == ("new", "unchanged")
    assert first.path.stat().st_mtime == 1


def test_changed_item_is_rewritten_in_place(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        first = writer.write(article())
        second = writer.write(article(title="新标题", body="<p>改</p>"))
    assert second.status == "updated" and second.path == first.path
    assert "新标题" in second.path.read_text(encoding="utf-8")


def test_same_title_different_items_are_both_kept(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        a = writer.write(article("1"))
        b = writer.write(article("2", body="<p>另一篇</p>"))
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert b.path.name == collision_stem("标题", "2") + ".md"


def test_same_item_in_two_sources_is_archived_in_both(tmp_path: Path):
    other = Shelf("金融", "新浪财经", "新浪财经－宏观")
    with ArchiveWriter(tmp_path) as writer:
        a = writer.write(article())
        b = writer.write(replace(article(), shelf=other))
    assert a.path.parent != b.path.parent and b.status == "new"


def test_provenance_records_the_item(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(article(author="新京报", keywords=("经济", "北京")))
        record = writer.index.get("新浪财经－国內", "1")
    assert record.path == result.path.relative_to(tmp_path).as_posix()
    assert record.author == "新京报" and record.keywords == ("经济", "北京")
    assert record.url.endswith("doc-i1.shtml") and not record.date_guessed
    assert record.date == "2021-09-27T23:54:59+00:00"
    assert (tmp_path / ".crawler" / "archive.sqlite3").exists()


def test_missing_date_uses_fetch_time_and_says_it_was_guessed(tmp_path: Path):
    fetched = datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(replace(article(), date=None, fetched_at=fetched))
        assert writer.index.get("新浪财经－国內", "1").date_guessed
    assert "date: Sun, 02 Jan 2022 03:04:05 GMT\n" in result.path.read_text(encoding="utf-8")


def test_extracted_author_when_the_source_asks(tmp_path: Path):
    shelf = replace(SHELF, author="extracted")
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(replace(article(author="新京报"), shelf=shelf))
    assert "\nauthor: 新京报\n" in result.path.read_text(encoding="utf-8")


def test_orphan_file_with_the_same_bytes_is_adopted(tmp_path: Path):
    """A crash between rename and commit leaves a file without a record: the rerun adopts it."""
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article()).path
    data = path.read_bytes()
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()
    for extra in ("-wal", "-shm"):
        (tmp_path / ".crawler" / f"archive.sqlite3{extra}").unlink(missing_ok=True)
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(article())
    assert (result.path, result.status) == (path, "unchanged") and path.read_bytes() == data


def test_foreign_file_at_the_path_is_never_overwritten(tmp_path: Path):
    folder = tmp_path / "金融" / "新浪财经" / "新浪财经－国內"
    folder.mkdir(parents=True)
    (folder / "标题.md").write_text("mine", encoding="utf-8")
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(article())
    assert (folder / "标题.md").read_text(encoding="utf-8") == "mine"
    assert result.path.name == collision_stem("标题", "1") + ".md"


def test_symlinked_folder_out_of_the_archive_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "archive"
    (root / "金融").mkdir(parents=True)
    (root / "金融" / "新浪财经").symlink_to(outside)
    with ArchiveWriter(root) as writer, pytest.raises(ArchiveError, match="outside"):
        writer.write(article())
    assert not any(outside.iterdir())


def test_archive_path_that_is_a_file_is_refused(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArchiveError, match="not a folder"):
        ArchiveWriter(tmp_path / "file")


def test_stale_temp_files_are_removed_after_a_writer_that_never_closed(tmp_path: Path):
    crashed = ArchiveWriter(tmp_path)  # never closed: as if killed
    path = crashed.write(article()).path
    stale = path.parent / ".abc123.crawler-tmp"
    stale.write_text("half")
    crashed.index.close()
    with ArchiveWriter(tmp_path) as writer:
        assert writer.remove_stale_temp_files() == [stale]
    assert not stale.exists() and path.exists()
    with ArchiveWriter(tmp_path) as writer:  # after a clean close: no walk at all
        assert writer.remove_stale_temp_files() == []


def test_index_can_be_read_while_written(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        writer.write(article())
        reader = ProvenanceIndex.open_existing(tmp_path)
        writer.write(article("2", title="另一篇"))
        assert len(list(reader.records())) == 2
        reader.close()
