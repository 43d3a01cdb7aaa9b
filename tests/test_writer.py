"""ArchiveWriter: atomic, idempotent, never two items in one file, provenance kept."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from crawler.items import Article, Shelf
from crawler.store import ArchiveError, ArchiveWriter, ItemError, ProvenanceIndex
from crawler.store.index import record_row
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
    with ArchiveWriter(root) as writer, pytest.raises(ItemError, match="outside"):
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


def committed_records(root: Path) -> list:
    """What another process sees in the index."""
    reader = ProvenanceIndex.open_existing(root)
    try:
        return list(reader.records())
    finally:
        reader.close()


def test_a_batch_is_durable_only_when_flushed_and_says_so(tmp_path: Path):
    durable = []
    with ArchiveWriter(tmp_path, batch=3, on_durable=durable.append) as writer:
        first = writer.write(article("1", title="一"))
        writer.write(article("2", title="二"))
        assert durable == [] and not first.path.exists() and committed_records(tmp_path) == []
        writer.write(article("3", title="三"))  # the batch is full
        assert [r.path.name for r in durable] == ["一.md", "二.md", "三.md"]
        assert {r.status for r in durable} == {"new"} and {r.source for r in durable} == {
            SHELF.source
        }
        assert len(committed_records(tmp_path)) == 3 and first.path.exists()
        writer.write(article("4", title="四"))
    assert len(durable) == 4  # close flushes the rest
    assert (
        not list(tmp_path.rglob("*crawler-tmp")) and not (tmp_path / ".crawler/batch.json").exists()
    )


def test_the_same_item_twice_in_a_batch_keeps_the_last_version(tmp_path: Path):
    durable = []
    with ArchiveWriter(tmp_path, batch=10, on_durable=durable.append) as writer:
        writer.write(article(body="<p>旧</p>"))
        path = writer.write(article(body="<p>新</p>")).path
    assert [r.status for r in durable] == ["new", "updated"]
    assert "<p>新</p>" in path.read_text(encoding="utf-8")
    assert [r.path for r in committed_records(tmp_path)] == ["金融/新浪财经/新浪财经－国內/标题.md"]


def test_two_items_with_one_title_in_a_batch_get_two_files(tmp_path: Path):
    with ArchiveWriter(tmp_path, batch=10) as writer:
        one = writer.write(article("1")).path
        two = writer.write(article("2")).path
    assert one != two and one.exists() and two.exists()


def test_pending_requests_are_durable_at_once_with_what_was_held(tmp_path: Path):
    from crawler.items import Pending

    with ArchiveWriter(tmp_path, batch=10) as writer:
        writer.write(article("1"))
        writer.note(Pending(SHELF.source, [("2", "https://x/2", {"id": "2"})]))
        assert len(committed_records(tmp_path)) == 1
        reader = ProvenanceIndex.open_existing(tmp_path)
        assert reader.retry_payloads(SHELF.source) == [{"id": "2"}]
        reader.close()


THREE = ("一", "二", "三")  # titles of a three-article batch (fetched at WHEN: comparable)


def killed_between_renames_and_commit(root: Path, monkeypatch, fail_rename_at: int | None):
    """Three articles in one batch; the writer dies after its journal, during the renames (at
    rename number `fail_rename_at`: the first is the journal's own) or after them, before the
    index commit."""
    writer = ArchiveWriter(root, batch=3)
    if fail_rename_at is None:
        monkeypatch.setattr(
            writer.index, "commit_batch", lambda: (_ for _ in ()).throw(KeyboardInterrupt)
        )
    else:
        real, calls = os.replace, []

        def replace_then_die(src, dst):
            calls.append(src)
            if len(calls) == fail_rename_at:
                raise KeyboardInterrupt
            real(src, dst)

        monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        for i, title in enumerate(THREE):
            writer.write(article(str(i), title=title, fetched_at=WHEN))
    monkeypatch.undo()
    writer.index.close()  # the process is gone: nothing committed


@pytest.mark.parametrize("fail_rename_at", [None, 2, 4])
def test_a_batch_killed_before_its_commit_is_finished_by_the_next_writer(
    tmp_path: Path, monkeypatch, fail_rename_at
):
    from crawler.store.verify import verify

    clean = tmp_path / "clean"
    with ArchiveWriter(clean, batch=3) as writer:
        for i, title in enumerate(THREE):
            writer.write(article(str(i), title=title, fetched_at=WHEN))
    crashed = tmp_path / "crashed"
    killed_between_renames_and_commit(crashed, monkeypatch, fail_rename_at)
    assert (crashed / ".crawler" / "batch.json").exists() and committed_records(crashed) == []
    with ArchiveWriter(crashed) as writer:
        writer.remove_stale_temp_files()
    assert committed_records(crashed) == committed_records(clean)
    files = sorted(p.relative_to(crashed) for p in crashed.rglob("*.md"))
    assert files == sorted(p.relative_to(clean) for p in clean.rglob("*.md"))
    for name in files:
        assert (crashed / name).read_bytes() == (clean / name).read_bytes()
    assert (
        not list(crashed.rglob("*crawler-tmp")) and not (crashed / ".crawler/batch.json").exists()
    )
    assert verify(crashed) == []
    with ArchiveWriter(crashed) as writer:  # and the items count as archived
        assert writer.write(article("0", title="一", fetched_at=WHEN)).status == "unchanged"


def test_a_batch_killed_before_its_journal_leaves_nothing_behind(tmp_path: Path, monkeypatch):
    writer = ArchiveWriter(tmp_path, batch=3)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        for i, title in enumerate(THREE):
            writer.write(article(str(i), title=title))
    monkeypatch.undo()
    writer.index.close()
    with ArchiveWriter(tmp_path) as writer:
        writer.remove_stale_temp_files()
    assert committed_records(tmp_path) == [] and not list(tmp_path.rglob("*.md"))
    assert not list(tmp_path.rglob("*crawler-tmp"))


def test_collision_names_never_run_out_and_fit_in_255_bytes(tmp_path: Path):
    """Titles are a feed's: earlier entries may take every name an item would try."""
    for title in ("标题", "长" * 80):
        stem = title
        taken = [stem, collision_stem(stem, "victim")] + [
            f"{collision_stem(stem, 'victim')}_{n}" for n in range(2, 6)
        ]
        with ArchiveWriter(tmp_path / title[:4]) as writer:
            for n, name in enumerate(taken):
                writer.write(article(f"squatter{n}", title=name, body=f"<p>{n}</p>"))
            result = writer.write(article("victim", title=title, body="<p>mine</p>"))
        assert result.status == "new" and "mine" in result.path.read_text(encoding="utf-8")
        files = list((tmp_path / title[:4]).rglob("*.md"))
        assert len(files) == len(taken) + 1
        assert all(len(f.name.encode()) <= 255 for f in files)


def test_a_planted_folder_or_pipe_where_a_file_would_go_is_left_alone(tmp_path: Path):
    folder = tmp_path / "金融" / "新浪财经" / "新浪财经－国內"
    folder.mkdir(parents=True)
    (folder / "标题.md").mkdir()
    os.mkfifo(folder / (collision_stem("标题", "1") + ".md"))
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(article("1"))
    assert result.status == "new" and result.path.name.endswith("_2.md")
    assert (folder / "标题.md").is_dir()


@pytest.mark.parametrize(
    "date",
    [
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))),
        datetime(1, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2021, 9, 27, 23, 54, 59),  # no zone
    ],
)
def test_a_date_the_format_cannot_write_is_a_missing_date(tmp_path: Path, date):
    fetched = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(replace(article(), date=date, fetched_at=fetched))
        record = writer.index.get(SHELF.source, "1")
    assert "date: Tue, 02 Jan 2024 03:04:05 GMT\n" in result.path.read_text(encoding="utf-8")
    assert record.date_guessed


def test_an_item_that_cannot_be_rendered_fails_alone(tmp_path: Path, monkeypatch):
    import crawler.store.writer as writer_module

    real = writer_module.render

    def render(post):
        if "坏" in post.title:
            raise RecursionError("maximum recursion depth exceeded")
        return real(post)

    monkeypatch.setattr(writer_module, "render", render)
    with ArchiveWriter(tmp_path, batch=8) as writer:
        writer.write(article("1", title="好"))
        with pytest.raises(ItemError, match="RecursionError"):
            writer.write(article("2", title="坏"))
        writer.write(article("3", title="也好"))
        assert sorted(writer.index.ids(SHELF.source)) == ["1", "3"]
    assert sorted(f.name for f in tmp_path.rglob("*.md")) == ["也好.md", "好.md"]


# ---- nothing planted in the archive is trusted


def test_a_planted_journal_is_set_aside_untouched(tmp_path: Path):
    """A batch journal naming paths outside the archive, or a file that is no temporary file
    of ours, would have moved or overwritten files on replay."""
    root, home = tmp_path / "archive", tmp_path / "home"
    home.mkdir()
    (home / "victim.md").write_text("precious")
    (home / ".x.crawler-tmp").write_text("planted")
    with ArchiveWriter(root) as writer:
        writer.write(article())
        record = writer.index.get(SHELF.source, "1")
    for tmp, path in [
        ("../home/.x.crawler-tmp", "../home/victim.md"),
        (f"{record.path}", "../home/victim.md"),
        ("../home/victim.md", record.path),
    ]:
        forged = replace(record, path=path)
        entry = {"tmp": tmp, "path": path, "record": record_row(forged), "text": "", "images": []}
        journal = root / ".crawler" / "batch.json"
        journal.write_text(json.dumps([entry]))
        with ArchiveWriter(root) as writer:
            assert writer.write(article("2", title="另一篇")).status in ("new", "unchanged")
        assert not journal.exists() and (root / ".crawler" / "batch.json.refused").exists()
        assert (home / "victim.md").read_text() == "precious"
        assert (home / ".x.crawler-tmp").read_text() == "planted"


def test_a_planted_lock_symlink_never_truncates_its_target(tmp_path: Path):
    from crawler.store.lock import ArchiveLock

    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (tmp_path / "archive" / ".crawler").mkdir(parents=True)
    (tmp_path / "archive" / ".crawler" / "lock").symlink_to(target)
    with ArchiveLock(tmp_path / "archive"):
        assert not (tmp_path / "archive" / ".crawler" / "lock").is_symlink()
    assert target.read_text() == "precious"


@pytest.mark.parametrize("planted", ["images", "images/ab"])
def test_no_image_folder_is_created_through_a_symlink(tmp_path: Path, planted: str):
    from crawler.store.images import ImageStore

    root, outside = tmp_path / "archive", tmp_path / "outside"
    outside.mkdir()
    (root / planted).parent.mkdir(parents=True, exist_ok=True)
    (root / planted).symlink_to(outside)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with pytest.raises(OSError, match="outside the archive"):
        for n in range(300):  # some digest lands in images/ab/
            ImageStore(root).put(png + bytes([n]), "image/png", "https://e.test/a.png")
    assert list(outside.rglob("*")) == []


def test_an_adopted_file_is_claimed_only_by_its_own_item(tmp_path: Path):
    """`reindex` adopts files it finds; a new item with the same title must not take one a
    person wrote (other date), while the item that wrote it gets it back."""
    from crawler.store.verify import rebuild_provenance

    with ArchiveWriter(tmp_path) as writer:
        own = writer.write(article("1"))
    folder = own.path.parent
    hand = folder / "手写.md"
    hand.write_text(
        own.path.read_text(encoding="utf-8")
        .replace("标题", "手写")
        .replace("Mon, 27 Sep 2021", "Tue, 28 Sep 2021"),
        encoding="utf-8",
    )
    for index_file in (tmp_path / ".crawler").glob("archive.sqlite3*"):
        index_file.unlink()  # lost, and the text state too: reindex rebuilds from the files
    shutil.rmtree(tmp_path / ".crawler" / "state")
    assert rebuild_provenance(tmp_path) == (0, 2, 0)
    with ArchiveWriter(tmp_path) as writer:
        again = writer.write(article("1"))
        other = writer.write(article("2", title="手写", body="<p>别的</p>"))
    assert again.path == own.path and again.status == "unchanged"
    assert other.path != hand and other.status == "new"
    assert "2021" in hand.read_text(encoding="utf-8") and "别的" not in hand.read_text("utf-8")


def test_folders_are_synced_before_the_index_commits(tmp_path: Path, monkeypatch):
    import crawler.store.writer as writer_module

    events = []
    monkeypatch.setattr(writer_module, "fsync_dir", lambda folder: events.append(("sync", folder)))
    with ArchiveWriter(tmp_path, batch=2) as writer:
        commit = writer.index.commit_batch
        monkeypatch.setattr(
            writer.index, "commit_batch", lambda: (events.append("commit"), commit())
        )
        result = writer.write(article("1"))
        events.clear()
        writer.write(article("2", title="二"))
    assert events.index(("sync", result.path.parent)) < events.index("commit")


def test_an_item_keeps_its_date_whichever_command_writes_it_again(tmp_path: Path):
    """A crawl dates a Sina article by its roll entry, a fetch by its page, and the two may
    differ by minutes: the post keeps the date it was first archived with."""
    later = datetime(2021, 9, 28, 0, 3, 0, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        first = writer.write(article())
        again = writer.write(replace(article(), date=later))
        changed = writer.write(replace(article(), date=later, body="<p>改</p>"))
    assert again.status == "unchanged"
    assert "date: Mon, 27 Sep 2021 23:54:59 GMT" in changed.path.read_text(encoding="utf-8")
    assert changed.path == first.path


def test_a_guessed_date_gives_way_to_a_real_one(tmp_path: Path):
    fetched = datetime(2024, 1, 2, tzinfo=UTC)
    with ArchiveWriter(tmp_path) as writer:
        writer.write(replace(article(), date=None, fetched_at=fetched))
        result = writer.write(article())
        record = writer.index.get(SHELF.source, "1")
    assert "date: Mon, 27 Sep 2021 23:54:59 GMT" in result.path.read_text(encoding="utf-8")
    assert not record.date_guessed


def test_keywords_become_hexo_tags_only_when_the_source_asks(tmp_path: Path):
    from crawler.store.template import parse
    from crawler.store.verify import verify

    keywords = ("经济", " 财经 ", "经济", "", "2024", "<b>x</b>", "a&b")
    with ArchiveWriter(tmp_path) as writer:
        plain = writer.write(article("1", keywords=keywords))
        tagged = writer.write(
            replace(
                article("2", title="另一篇", keywords=keywords), shelf=replace(SHELF, tags=True)
            )
        )
    assert "tags:" not in plain.path.read_text(encoding="utf-8")  # off by default, as the seed
    text = tagged.path.read_text(encoding="utf-8")
    assert "\n - 新浪财经－国內\ntags: \n - 经济\n - 财经\n - '2024'\nheadimg: ''\n" in text
    front = yaml.safe_load(text.split("\n---\n")[1])
    assert front["tags"] == ["经济", "财经", "2024"]  # markup-like keywords are no tags
    assert parse(text) is not None
    assert verify(tmp_path) == []


@pytest.mark.parametrize(
    ("picture", "headimg"),
    [
        ("javascript:alert(1)", "''"),
        ('x:"><b>', "''"),
        ('https://x.test/a"b<c>.jpg', "'https://x.test/a%22b%3Cc%3E.jpg'"),  # as a browser has it
        ("https://ok.test/a.jpg", "'https://ok.test/a.jpg'"),
    ],
)
def test_the_posts_picture_is_an_inert_url_a_theme_can_paste(
    tmp_path: Path, picture: str, headimg: str
):
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(article(image=picture))
    text = result.path.read_text(encoding="utf-8")
    assert f"\nheadimg: {headimg}\n" in text and f"\nthumbnail: {headimg}\n" in text
