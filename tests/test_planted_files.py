"""Files a checkout can plant in the archive (git carries symbolic links; a FIFO or a huge file
can be made there): every reader reads only plain files of bounded size, and says so.

The commands run in a child process with its memory and time bounded: a reader that follows
a link to /dev/zero fails with MemoryError there, one that opens a FIFO runs out of time."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter
from crawler.store.atomic import MAX_FILE_BYTES, RefusedFile, read_archive_file

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
FOLDER = "金融/新浪财经/新浪财经－国內"
MEMORY = 1 << 30  # bytes a command may use: far more than any of these needs
PLANTS = ("dev-zero-link", "fifo", "huge-file", "link-out")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def crawler(*args: str) -> subprocess.CompletedProcess:
    return _child([sys.executable, "-m", "crawler", *args])


def python(code: str) -> subprocess.CompletedProcess:
    return _child([sys.executable, "-c", textwrap.dedent(code)])


def _child(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=60, preexec_fn=_limits, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv[1:]} did not finish: it blocked on what was planted")


def plant(path: Path, kind: str, outside: Path) -> None:
    if kind == "dev-zero-link":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge-file":
        with path.open("wb") as f:
            f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk space
    else:
        secret = outside / "secret.md"
        secret.write_text("\n---\ntitle: 'not the archive'\n", encoding="utf-8")
        path.symlink_to(secret)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    with ArchiveWriter(root) as writer:
        for n in (1, 2):
            writer.write(
                Article(
                    id=f"doc{n}",
                    url=f"https://finance.sina.com.cn/doc{n}.shtml",
                    title=f"Post {n}",
                    body=f"<p>word{n} body</p>",
                    shelf=SHELF,
                    date=datetime(2024, 3, n, tzinfo=UTC),
                )
            )
    return root


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "MemoryError" not in result.stderr, result.stderr


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_verify_reports_a_planted_file_and_reads_it_not(archive: Path, kind: str):
    plant(archive / FOLDER / "planted.md", kind, archive.parent)
    result = crawler("archive", "verify", "--archive", str(archive))
    _no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(FOLDER)]
    assert len(lines) == 1, result.stdout  # the one finding: no 'not in the index' beside it
    assert lines[0].startswith(f"{FOLDER}/planted.md: ")
    assert "not a plain file" in lines[0] or "larger than" in lines[0]


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_verify_reports_a_post_replaced_by_a_planted_file(archive: Path, kind: str):
    post = archive / FOLDER / "Post 1.md"
    post.unlink()
    plant(post, kind, archive.parent)
    result = crawler("archive", "verify", "--archive", str(archive))
    _no_traceback(result)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(FOLDER)]
    assert len(lines) == 1 and lines[0].startswith(f"{FOLDER}/Post 1.md: "), result.stdout
    assert "missing" not in lines[0] and "sha256" not in lines[0]


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_reindex_skips_a_planted_file_with_a_warning(archive: Path, kind: str):
    plant(archive / FOLDER / "planted.md", kind, archive.parent)
    result = crawler("archive", "reindex", "--archive", str(archive))
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "provenance: 2 kept, 0 adopted from disk, 0 dropped" in result.stdout
    assert f"{FOLDER}/planted.md: " in result.stderr and "skipped" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_show_export_and_search_read_no_planted_post(archive: Path, kind: str):
    post = archive / FOLDER / "Post 1.md"
    post.unlink()
    plant(post, kind, archive.parent)
    shown = crawler("archive", "show", "doc1", "--archive", str(archive))
    _no_traceback(shown)
    assert shown.returncode == 0, shown.stderr
    assert "(the file cannot be read: " in shown.stdout
    assert "not the archive" not in shown.stdout

    exported = crawler("archive", "export", "--archive", str(archive))
    _no_traceback(exported)
    assert exported.returncode == 0, exported.stderr
    rows = {row["id"]: row for row in map(json.loads, exported.stdout.splitlines())}
    assert rows["doc1"]["body"] is None and rows["doc2"]["body"] == "word2 body"
    assert "Post 1.md: " in exported.stderr and "skipped" in exported.stderr

    searched = python(
        f"""
        from pathlib import Path
        from crawler.store import ProvenanceIndex
        from crawler.store.search import search
        from crawler.store.verify import rebuild_search
        root = Path({str(archive)!r})
        rebuild_search(root)
        index = ProvenanceIndex.open(root)
        print([hit.path for hit in search(index.db, ["word2"], None, None)])
        print([hit.path for hit in search(index.db, ["archive"], None, None)])
        """
    )
    _no_traceback(searched)
    assert searched.stdout.splitlines() == [f"['{FOLDER}/Post 2.md']", "[]"], searched.stderr


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_verify_reports_a_planted_image(archive: Path, kind: str):
    sha = "ab" * 32
    (archive / "images" / "ab").mkdir(parents=True)
    plant(archive / "images" / "ab" / f"{sha}.png", kind, archive.parent)
    result = crawler("archive", "verify", "--archive", str(archive))
    _no_traceback(result)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "not read" in line)
    assert line.startswith(f"images/ab/{sha}.png: image ")


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_a_planted_batch_journal_is_set_aside(archive: Path, kind: str):
    journal = archive / ".crawler" / "batch.json"
    plant(journal, kind, archive.parent)
    result = python(
        f"""
        from crawler.store import ArchiveWriter
        ArchiveWriter({str(archive)!r}).close()
        """
    )
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "not a journal of ours" in result.stderr
    assert not journal.exists() and not journal.is_symlink()


def test_read_archive_file_reads_plain_files_only(tmp_path: Path):
    post = tmp_path / "post.md"
    post.write_bytes(b"x" * 100)
    assert read_archive_file(post) == b"x" * 100
    assert read_archive_file(post, cap=100) == b"x" * 100
    with pytest.raises(RefusedFile, match="larger than 99 bytes"):
        read_archive_file(post, cap=99)
    with pytest.raises(FileNotFoundError):
        read_archive_file(tmp_path / "none.md")
    (tmp_path / "folder.md").mkdir()
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "link.md").symlink_to(post)
    for name, kind in (("folder.md", "a folder"), ("fifo.md", "a FIFO"), ("link.md", "link")):
        with pytest.raises(RefusedFile) as refused:
            read_archive_file(tmp_path / name)
        assert kind in refused.value.reason
    with pytest.raises(RefusedFile, match="folder"):
        read_archive_file(post / "under-a-file.md")


@pytest.mark.process
@pytest.mark.parametrize("kind", PLANTS)
def test_a_planted_state_file_is_not_read(archive: Path, kind: str):
    """The text state is read when the cache is gone (a fresh clone): a state file that is no
    plain file is warned of and left out, and the next save puts a plain file in its place."""
    state = archive / ".crawler" / "state" / "items" / "新浪财经－国內" / "2024-03.jsonl"
    state.unlink()
    plant(state, kind, archive.parent)
    (archive / ".crawler" / "archive.sqlite3").unlink()
    result = crawler("archive", "list", "--archive", str(archive))
    _no_traceback(result)
    assert str(state) in result.stderr, result.stderr
