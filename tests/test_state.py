"""The text state: what the posts do not say, a tenth of their bytes at most on the saved Sina
pages, read back exactly whatever the values, and the lines of the versions before read and
written anew at the next save."""

from __future__ import annotations

import base64
import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

from crawler.extract.sina_article import read_page, sina_article
from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.index import _COLUMNS
from crawler.store.state import TextState
from crawler.store.verify import verify

from sina_cases import sina_cases, sina_shelf

COLUMNS = f"SELECT {_COLUMNS} FROM items ORDER BY source, item_id"


def state_files(root: Path) -> list[Path]:
    return sorted((root / ".crawler" / "state").rglob("*.jsonl"))


def archive_cases(root: Path) -> list[Path]:
    """Every saved Sina page archived in process, as a crawl of the roll files it."""
    with ArchiveWriter(root) as writer:
        for case in sina_cases():
            page = read_page(case.page, case.url, case.content_type)
            article = sina_article(page, None, case.fetched_at)
            if article is not None:
                writer.write(article.filed(sina_shelf("html")))
    return sorted(p for p in root.rglob("*.md") if ".crawler" not in p.parts)


def measure(root: Path) -> dict:
    """The state's bytes against the posts': in all, the items' lines alone (a month file's
    header is shared by its month's items), and each item's line against its post."""
    posts = archive_cases(root)
    post_bytes = {p.relative_to(root).as_posix(): p.stat().st_size for p in posts}
    state = sum(p.stat().st_size for p in state_files(root))
    index = ProvenanceIndex.open(root)
    try:
        sha = {r.sha256: r.path for r in index.records()}
    finally:
        index.close()
    lines, ratios = [], []
    for path in (root / ".crawler" / "state" / "items").rglob("*.jsonl"):
        for line in path.read_bytes().splitlines(keepends=True)[1:]:
            digest = json.loads(line)[7]  # the item's "sha": its post's, base64url
            post = sha[base64.urlsafe_b64decode(digest + "=").hex()]
            lines.append(len(line))
            ratios.append(len(line) / post_bytes[post])
    posts_total = sum(post_bytes.values())
    return {
        "items": len(posts),
        "post_bytes": posts_total,
        "post_median": statistics.median(post_bytes.values()),
        "state_bytes": state,
        "state_ratio": state / posts_total,
        "line_bytes": sum(lines),
        "line_median": statistics.median(lines),
        "item_ratio_median": statistics.median(ratios),
        "item_ratio_max": max(ratios),
    }


def test_the_state_is_a_tenth_of_the_saved_sina_posts_at_most(tmp_path: Path):
    """Measured on the real pages' posts (tests/cases/sina), as the writer writes them: the
    whole state (a month file's header included, with few items a month) and the typical
    item's line."""
    figures = measure(tmp_path)
    assert figures["items"] == len([c for c in sina_cases() if c.expected()["path"]])
    assert figures["state_ratio"] <= 0.10, figures
    assert figures["item_ratio_median"] <= 0.10, figures


def _article(number: int, **fields) -> Article:
    values = {
        "id": f"n{number}",
        "url": f"https://finance.sina.com.cn/roll/2024-01-0{number}/doc-in{number}.shtml",
        "title": f"第{number}号",
        "body": "<p>正文</p>",
        "shelf": Shelf("金融", "新浪财经", "新浪财经－国內"),
        "date": datetime(2024, 1, number, 8, tzinfo=UTC),
        "fetched_at": datetime(2024, 1, number, 9, tzinfo=UTC),
    }
    return Article(**{**values, **fields})


def _rows(root: Path) -> list[tuple]:
    index = ProvenanceIndex.open(root)
    try:
        return index.db.execute(COLUMNS).fetchall()
    finally:
        index.close()


def test_each_field_reads_back_as_it_was_whatever_its_value(tmp_path: Path):
    """Short forms where they say the value exactly, the value itself where not: ids that are
    the URL, its doc id or neither; titles whose name is their plain STEM, a collision's, one
    with a leading quote; a guessed date; the index rebuilt from the state alone holds the
    same rows."""
    articles = [
        _article(1),
        _article(2, id=_article(2).url),
        _article(3, id="comos:x", title="“引号”开头"),
        _article(4, title="第1号"),  # a collision name
        _article(5, date=None, title="CON"),
        _article(6, title="a.b:c?d", keywords=("第6号", "x")),
    ]
    with ArchiveWriter(tmp_path) as writer:
        for article in articles:
            writer.write(article)
    before = _rows(tmp_path)
    lines = [
        json.loads(line)
        for path in state_files(tmp_path)
        if "items" in path.parts
        for line in path.read_text(encoding="utf-8").splitlines()[1:]
    ]
    assert [line[0] for line in lines[:3]] == [2, 0, "comos:x"]  # "n1" ends doc-in1
    assert sum(len(line) == 8 for line in lines) == 4, lines  # images, flags, name left off
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()
    assert _rows(tmp_path) == before
    assert verify(tmp_path) == []


def _v1_state(root: Path) -> None:
    """The month files as the versions before wrote them (their `_V1_FIELDS`)."""
    index = ProvenanceIndex.open(root)
    try:
        state = TextState(root / ".crawler")
        for path, data in state._files(index.db, None, None, v1=True):
            if data:
                path.write_bytes(data)
        index._note_format(False)  # a cache of a version before knows no format
        index._sign()
    finally:
        index.close()


def test_the_lines_of_a_version_before_load_and_are_written_anew_at_the_next_save(
    tmp_path: Path,
):
    with ArchiveWriter(tmp_path) as writer:
        for number in (1, 2, 3):
            writer.write(_article(number, date=None if number == 3 else _article(1).date))
    rows = _rows(tmp_path)
    now = {p: p.read_bytes() for p in state_files(tmp_path)}
    _v1_state(tmp_path)
    (month,) = (tmp_path / ".crawler" / "state" / "items").rglob("*.jsonl")
    old = month.read_bytes()
    assert b'"fields":["item_id","url","path"' in old and old != now[month]
    assert verify(tmp_path) == []  # what the index says, said as before
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()  # a clone: the cache from the state
    assert _rows(tmp_path) == rows
    assert month.read_bytes() == old  # reading writes nothing
    with ArchiveWriter(tmp_path):  # the next save: every file as this version writes it
        pass
    assert {p: p.read_bytes() for p in state_files(tmp_path)} == now
    assert _rows(tmp_path) == rows and verify(tmp_path) == []
    written = {p: p.stat().st_mtime_ns for p in state_files(tmp_path)}
    with ArchiveWriter(tmp_path):  # and only once
        pass
    assert {p: p.stat().st_mtime_ns for p in state_files(tmp_path)} == written


if __name__ == "__main__":  # the figures: .venv/bin/python tests/test_state.py
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for key, value in measure(Path(folder)).items():
            print(f"{key:18} {value:.4g}" if isinstance(value, float) else f"{key:18} {value}")
