"""`crawler archive export`: every item as a record that loads back unchanged (json, csv,
pandas), streamed, filtered and ordered."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import Article, ImageOutcome, Shelf
from crawler.store import ArchiveWriter
from crawler.store.atomic import FILE_MODE
from crawler.store.export import FIELDS

from runner import run_cli

pytestmark = pytest.mark.process  # the crawler CLI, a fetch, a crawl

SINA = Shelf("金融", "新浪财经", "新浪财经－国內")
FEED = Shelf("订阅", "某站", "某站 RSS", body_format="markdown")
TRICKY = "<p>　　逗号, \"引号\" 与 '单引号'，换行\n第二行 😀 emoji</p>\n<p>第二段 a,b\r\nc</p>"


def article(n: int, shelf: Shelf = SINA, **extra) -> Article:
    fields = {
        "id": f"id{n}",
        "url": f"https://finance.sina.com.cn/china/doc-iid{n}.shtml",
        "title": f"标题{n}",
        "body": f"<p>第{n}篇的正文。</p>",
        "shelf": shelf,
        "date": datetime(2024, 1, n, 8, 0, tzinfo=UTC),
        "author": "新浪财经",
        "keywords": ("经济", "a,b"),
        "fetched_at": datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    }
    return Article(**(fields | extra))


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export") / "archive"
    image = ImageOutcome("https://n.sinaimg.cn/a.jpg", "ab/cdef.jpg", "0" * 64)
    with ArchiveWriter(root) as writer:
        writer.write(article(1))
        writer.write(article(2, body=TRICKY, title='逗号, "引号"\n😀', images=(image,)))
        writer.write(article(3, FEED))
        writer.write(article(4, date=None, date_guessed=True))
    return root


def export(root: Path, *args: str) -> str:
    result = run_cli(None, "archive", "export", "--archive", str(root), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_jsonl_has_every_field_newest_first(archive: Path):
    rows = [json.loads(line) for line in export(archive).splitlines()]
    assert [r["id"] for r in rows] == ["id4", "id3", "id2", "id1"]  # id4: dated when fetched
    assert all(list(r) == list(FIELDS) for r in rows)
    two = rows[2]
    assert two == {
        "id": "id2",
        "source": "新浪财经－国內",
        "category": "金融",
        "site": "新浪财经",
        "name": "新浪财经－国內",
        "url": "https://finance.sina.com.cn/china/doc-iid2.shtml",
        "title": '逗号, "引号" 😀',
        "date": "2024-01-02T08:00:00+00:00",
        "date_guessed": False,
        "author": "新浪财经",
        "keywords": ["经济", "a,b"],
        "path": two["path"],
        "fetched_at": "2026-11-30T06:00:00+00:00",
        "sha256": two["sha256"],
        "images": [{"url": "https://n.sinaimg.cn/a.jpg", "path": "ab/cdef.jpg"}],
        "status": "archived",
        "taken_down_at": "",
        "versions": [],
        "body": "逗号, \"引号\" 与 '单引号'，换行 第二行 😀 emoji\n\n第二段 a,b c",
    }
    assert (archive / two["path"]).is_file() and len(two["sha256"]) == 64
    assert rows[0]["date_guessed"] is True
    assert rows[1]["category"] == "订阅" and rows[1]["body"] == "第3篇的正文。"


def test_csv_is_rfc_4180_and_loads_back_as_the_jsonl(archive: Path, tmp_path: Path):
    export(archive, "--format", "csv", "-o", str(tmp_path / "a.csv"))
    data = (tmp_path / "a.csv").read_bytes().decode("utf-8")
    assert data.startswith(",".join(FIELDS) + "\r\n") and data.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    want = [json.loads(line) for line in export(archive).splitlines()]
    assert len(rows) == len(want) == 4
    for row, record in zip(rows, want, strict=True):
        assert row == {k: _cell(v) for k, v in record.items()}


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def test_pandas_reads_both_formats_unchanged(archive: Path, tmp_path: Path):
    pd = pytest.importorskip("pandas")
    jsonl, table = tmp_path / "a.jsonl", tmp_path / "a.csv"
    export(archive, "-o", str(jsonl))
    export(archive, "--format", "csv", "-o", str(table))
    assert jsonl.stat().st_mode & 0o777 == FILE_MODE  # as any file the user makes, not 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.jsonl"]  # no temp left
    want = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    frame = pd.read_json(jsonl, lines=True, dtype=False)
    assert frame.to_dict("records") == want
    frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    assert frame.to_dict("records") == [{k: _cell(v) for k, v in r.items()} for r in want]


def test_body_forms_filters_and_order(archive: Path):
    def ids(*args: str) -> list[str]:
        return [json.loads(line)["id"] for line in export(archive, *args).splitlines()]

    assert ids("--oldest-first", "--until", "2024-01-03") == ["id1", "id2", "id3"]
    assert ids("--since", "2024-01-02", "--until", "2024-01-02") == ["id2"]
    assert ids("--source", "某站 RSS") == ["id3"]
    assert ids("--source", "某站 RSS", "--source", "新浪财经－国內") == ["id4", "id3", "id2", "id1"]
    html = json.loads(export(archive, "--body", "html", "--source", "某站 RSS"))
    markdown = json.loads(export(archive, "--body", "markdown", "--until", "2024-01-01"))
    assert html["body"].strip() == "第3篇的正文。"  # a Markdown source's body as archived
    assert markdown["body"] == "第1篇的正文。"
    first = json.loads(export(archive, "--body", "html", "--until", "2024-01-01"))
    assert first["body"].strip() == "<p>第1篇的正文。</p>"


def test_bad_arguments_are_one_line_and_exit_2(archive: Path):
    for args, message in [
        (("--format", "xml"), "'xml' is not one of 'jsonl', 'csv'"),
        (("--source", "无此源"), "无此源"),
        (("--since", "yesterday"), "yesterday"),
    ]:
        result = run_cli(None, "archive", "export", "--archive", str(archive), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
