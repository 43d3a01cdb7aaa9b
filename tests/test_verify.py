"""`crawler archive verify` and `reindex` on real and damaged archives."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.search import index_state, search

from reference import reference_posts

CURRENT = [p for p in reference_posts() if p.current_template]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def reference_archive(tmp_path: Path) -> Path:
    for post in CURRENT:
        path = tmp_path / post.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(post.text.encode("utf-8"))
    return tmp_path


def test_reference_posts_verify_clean(reference_archive: Path):
    result = run("archive", "verify", "--archive", str(reference_archive))
    assert result.exit_code == 0, result.output
    assert f"0 problem(s) in {len(CURRENT)} file(s)" in result.output


def test_each_damage_is_named_with_its_path(reference_archive: Path):
    folder = reference_archive / "金融" / "新浪财经" / "新浪财经－国內"
    seed = folder / "北京城市副中心高质量发展重点划定！蔡奇在动员部署会上提要求.md"
    seed.write_bytes(seed.read_bytes()[:3000])
    zero = folder / "0！.md"
    zero.write_text(
        zero.read_text(encoding="utf-8").replace("title: '0！'", "title: '0！"), encoding="utf-8"
    )
    (folder / ".x1y2z3.crawler-tmp").write_text("partial")
    result = run("archive", "verify", "--archive", str(reference_archive))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(
        line.startswith(f"{seed.relative_to(reference_archive)}: ") and "truncated" in line
        for line in lines
    )
    assert any(
        line.startswith(f"{zero.relative_to(reference_archive)}: ") and "YAML" in line
        for line in lines
    )
    assert any(".x1y2z3.crawler-tmp: temporary file" in line for line in lines)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.replace("GMT", "CST", 1), "not RFC 1123"),
        (lambda t: t.replace("Mon, 27 Sep", "Tue, 27 Sep"), "not RFC 1123"),
        (lambda t: t.replace("<p class", "<script>x()</script><p class", 1), "<script> element"),
        (lambda t: t.replace("<p class", '<p onclick="x()" class', 1), "onclick attribute"),
        (lambda t: t.replace("&#123;", "{", 1), "unescaped {"),
        (lambda t: t.replace("\n - 金融\n", "\n    - 金融\n"), "front matter's lines differ"),
        (lambda t: t.replace("\n", "\r\n"), "CR line endings"),
    ],
)
def test_format_problems(tmp_path: Path, damage, message):
    seed = next(p for p in CURRENT if p.case == "seed.md")
    path = tmp_path / seed.path
    path.parent.mkdir(parents=True)
    path.write_bytes(damage(seed.text).encode("utf-8"))
    result = run("archive", "verify", "--archive", str(tmp_path))
    assert result.exit_code == 1 and message in result.output


def written_archive(root: Path) -> list[Path]:
    shelf = Shelf("金融", "新浪财经", "新浪财经－国內")
    with ArchiveWriter(root) as writer:
        return [
            writer.write(
                Article(
                    id=str(i),
                    url=f"https://f.sina.com.cn/{i}",
                    title=f"第{i}篇",
                    body=f"<p>{i}</p>",
                    shelf=shelf,
                    date=datetime(2022, 1, i, tzinfo=UTC),
                )
            ).path
            for i in range(1, 4)
        ]


def test_files_and_provenance_that_disagree(tmp_path: Path):
    first, second, third = written_archive(tmp_path)
    assert run("archive", "verify", "--archive", str(tmp_path)).exit_code == 0
    second.write_bytes(second.read_bytes().replace(b"<p>2</p>", b"<p>two</p>"))
    third.unlink()
    extra = first.with_name("extra.md")
    shutil.copy(first, extra)
    result = run("archive", "verify", "--archive", str(tmp_path))
    assert result.exit_code == 1
    assert f"{second.relative_to(tmp_path)}: differs from its provenance" in result.output
    assert (
        f"{third.relative_to(tmp_path)}: listed in the provenance index but missing"
        in result.output
    )
    assert f"{extra.relative_to(tmp_path)}: not in the provenance index" in result.output
    reindexed = run("archive", "reindex", "--archive", str(tmp_path))
    assert reindexed.exit_code == 0
    assert "2 kept, 1 adopted from disk, 1 dropped" in reindexed.output
    assert run("archive", "verify", "--archive", str(tmp_path)).exit_code == 0
    # the search index rebuilt with it: whole, the changed text found, the dropped one gone
    index = ProvenanceIndex.open_existing(tmp_path)
    try:
        assert index_state(index.db) is None
        assert [hit.path for hit in search(index.db, "two")] == [
            second.relative_to(tmp_path).as_posix()
        ]
        rows = index.db.execute("SELECT count(*) FROM texts_fts WHERE texts_fts MATCH 'two'")
        assert rows.fetchone()[0] == 1
        assert len(search(index.db, "<p>")) == 0  # the text, not the markup, is indexed
    finally:
        index.close()


def test_verify_of_a_missing_folder_is_one_line(tmp_path: Path):
    result = CliRunner().invoke(cli, ["archive", "verify", "--archive", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "no such archive folder" in result.output
