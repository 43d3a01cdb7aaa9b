"""`crawler recheck`: archived articles asked for again within a budget, the longest unchecked
first and conditionally; each unchanged, edited (a new version) or taken down (recorded with
its time, the post kept), and the review commands saying so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.extract.sina_article import read_page
from crawler.extract.takedown import gone_page, gone_redirect, gone_status
from crawler.items import Article, Checked, Shelf
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.verify import verify

from replay import ReplayServer, Reply
from runner import crawl, run_cli
from sina_cases import sina_cases
from sina_replay import SINA_NAME, md_files, serve_pages, sina_config, synthetic_articles

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
SOURCE = SHELF.source
ARTICLE = "https://finance.sina.com.cn/china/2024-01-01/doc-iabc.shtml"


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>页面不存在_新浪网</title></head><body></body></html>",
        "<title>新浪网</title><h1>您访问的页面没有找到</h1>",
        "<h2>该文章已被删除</h2>",
        "<title>404 Not Found</title>",
    ],
)
def test_a_page_that_says_it_is_gone_is_recognized(html):
    assert gone_page(html)


def test_no_saved_article_page_reads_as_gone():
    """Every saved Sina page is an article (or a video page): none says it is gone."""
    for case in sina_cases():
        page = read_page(case.page, case.url, case.content_type)
        assert gone_page(page.html) is None, case.key


def test_a_gone_status_or_redirect_is_recognized_and_others_are_not():
    assert gone_status(404) == "HTTP 404" and gone_status(410) == "HTTP 410"
    assert gone_status(200) is None and gone_status(500) is None
    for landed in (
        "https://www.sina.com.cn/",
        "https://finance.sina.com.cn/",
        "https://finance.sina.com.cn/index.shtml",
        "https://www.sina.com.cn/404.html",
        "https://auto.sina.com.cn/404/",
    ):
        assert gone_redirect(ARTICLE, landed), landed
    for landed in (
        ARTICLE,
        ARTICLE.replace("https:", "http:"),
        "https://finance.sina.cn/2024-01-01/detail-iabc.d.html",
        "https://finance.sina.com.cn/?from=x",
    ):
        assert gone_redirect(ARTICLE, landed) is None, landed


def test_gone_page_reads_in_one_pass():
    """Many headings that never close: one pass over the page, not one per heading."""
    assert gone_page("<h2>" * 200_000) is None


def _archived(root: Path, count: int) -> None:
    with ArchiveWriter(root) as writer:
        for n in range(count):
            writer.write(
                Article(
                    id=f"a{n}",
                    url=ARTICLE.replace("abc", f"a{n}"),
                    title=f"第{n}篇",
                    body=f"<p>正文{n}。</p>",
                    shelf=SHELF,
                    date=datetime(2024, 1, 1 + n, 8, tzinfo=UTC),
                    fetched_at=datetime(2024, 1, 1 + n, 9, tzinfo=UTC),
                )
            )


def _check(root: Path, *checks: Checked) -> None:
    with ArchiveWriter(root) as writer:
        for check in checks:
            writer.note_check(check)


def _due(root: Path, limit: int) -> list[str]:
    index = ProvenanceIndex.open(root)
    try:
        return [item_id for _, item_id, _ in index.due_checks([SOURCE], "2024-01-01", limit)]
    finally:
        index.close()


def test_the_longest_unchecked_come_first_within_the_budget_and_taken_down_ones_never(
    tmp_path: Path,
):
    _archived(tmp_path, 4)
    assert _due(tmp_path, 10) == ["a0", "a1", "a2", "a3"]  # never checked: oldest first
    assert _due(tmp_path, 2) == ["a0", "a1"]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    _check(
        tmp_path,
        Checked(SOURCE, "a0", at, present=True),
        Checked(SOURCE, "a1", at.replace(day=2), present=True),
        Checked(SOURCE, "a2", at, gone="HTTP 404"),
    )
    assert _due(tmp_path, 10) == ["a3", "a0", "a1"]
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert index.due_checks([SOURCE], "2024-01-02", 10) == [
            (SOURCE, "a3", {"etag": "", "last_modified": ""}),
            (SOURCE, "a1", {"etag": "", "last_modified": ""}),
        ]  # dated before: not due
    finally:
        index.close()


def test_a_takedown_is_in_the_text_state_and_undone_when_the_article_is_back(tmp_path: Path):
    _archived(tmp_path, 2)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    _check(tmp_path, Checked(SOURCE, "a1", at, gone="HTTP 410"))
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()  # a clone: from the text state alone
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert tuple(index.takedown(SOURCE, "a1")) == ("2026-01-01T00:00:00+00:00", "HTTP 410")
        assert index.takedown(SOURCE, "a0") is None
    finally:
        index.close()
    assert verify(tmp_path) == []
    assert len(md_files(tmp_path)) == 2  # the post is kept
    _check(tmp_path, Checked(SOURCE, "a1", at.replace(day=2), present=True))
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert index.takedown(SOURCE, "a1") is None
    finally:
        index.close()


def test_the_review_commands_say_what_was_taken_down(tmp_path: Path):
    _archived(tmp_path, 2)
    _check(tmp_path, Checked(SOURCE, "a1", datetime(2026, 1, 1, tzinfo=UTC), gone="HTTP 404"))

    def review(*args):
        return CliRunner().invoke(cli, ["archive", *args, "--archive", str(tmp_path)]).output

    gone = review("list", "--taken-down", "--json").splitlines()
    assert [json.loads(line)["id"] for line in gone] == ["a1"]
    assert "taken down: seen 2026-01-01T00:00:00+00:00 (HTTP 404)" in review("show", "a1")
    assert "items taken down by the source (posts kept): 1" in review("stats")
    rows = {r["id"]: r for r in map(json.loads, review("export").splitlines())}
    assert rows["a1"]["status"] == "taken down"
    assert rows["a1"]["taken_down_at"] == "2026-01-01T00:00:00+00:00"
    assert rows["a0"]["status"] == "archived" and rows["a0"]["taken_down_at"] == ""


@pytest.mark.process
def test_a_recheck_finds_each_unchanged_edited_or_taken_down_within_its_budget(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(6)
    serve_pages(replay, articles)
    config, root = sina_config(tmp_path / "config"), tmp_path / "archive"
    assert crawl(replay, root, config=config).returncode == 0
    posts = md_files(root)
    same, edited, missing, moved, says, etagged = articles
    page = edited.page.replace("第1篇文章的第2段".encode(), "第1篇文章更正的第2段".encode())
    replay.add(edited.url, Reply(200, page, {"Content-Type": edited.content_type}))
    replay.add(missing.url, Reply(404, b"gone", {"Content-Type": "text/plain"}))
    replay.add(moved.url, Reply(302, b"", {"Location": "https://www.sina.com.cn/"}))
    replay.add("https://www.sina.com.cn/", Reply(200, "<title>新浪首页</title>".encode()))
    gone_html = "<html><head><title>页面不存在</title></head><body></body></html>"
    replay.add(says.url, Reply(200, gone_html.encode(), {"Content-Type": "text/html"}))
    headers = {"Content-Type": etagged.content_type, "ETag": '"v1"'}
    replay.add(etagged.url, Reply(200, etagged.page, headers))
    recheck = ("recheck", "-c", str(config), "--archive", str(root), "--days", "36500")
    replay.requests.clear()
    result = run_cli(replay, *recheck)
    assert result.returncode == 0, result.stderr
    line = f"{SINA_NAME}: 6 rechecked: 2 unchanged, 1 edited, 3 taken down, 0 failed"
    assert result.stdout.splitlines() == [line]
    assert sorted(set(replay.requests) - {"https://www.sina.com.cn/"}) == sorted(
        a.url for a in articles
    )
    assert set(md_files(root)) == set(posts) and verify(root) == []  # nothing removed
    listed = CliRunner().invoke(
        cli, ["archive", "list", "--taken-down", "--json", "--archive", str(root)]
    )
    assert {json.loads(x)["id"] for x in listed.output.splitlines()} == {
        missing.id,
        moved.id,
        says.id,
    }
    history = CliRunner().invoke(cli, ["archive", "history", edited.id, "--archive", str(root)])
    assert len(history.output.splitlines()) == 3  # the item, its earlier version, the current
    # Within a budget of 2, the longest unchecked first; the ETag asked with: a 304.
    replay.requests.clear()
    again = run_cli(replay, *recheck, "--max", "2")
    assert again.returncode == 0, again.stderr
    assert replay.requests == [same.url, edited.url], replay.requests
    replay.requests.clear()
    third = run_cli(replay, *recheck, "--max", "1")
    assert replay.requests == [etagged.url]
    assert third.stdout.startswith(f"{SINA_NAME}: 1 rechecked: 1 unchanged")


@pytest.mark.parametrize("body_format", ["html", "markdown"])
def test_an_opted_in_source_s_post_gets_the_reader_s_notice_once(tmp_path: Path, body_format):
    shelf = Shelf(SHELF.category, SHELF.site, SHELF.name, body_format=body_format)
    with ArchiveWriter(tmp_path) as writer:
        writer.write(Article(id="a0", url=ARTICLE, title="标题", body="<p>正文。</p>", shelf=shelf))
    (post,) = md_files(tmp_path)
    before = (tmp_path / post).read_text(encoding="utf-8")
    gone = Checked(SOURCE, "a0", datetime(2026, 1, 2, tzinfo=UTC), gone="HTTP 404", notice=True)
    _check(tmp_path, gone)
    _check(tmp_path, gone)  # seen again: not news, no second notice
    after = (tmp_path / post).read_text(encoding="utf-8")
    assert after.count("原文已于2026年1月2日从来源撤下，此为存档。") == 1
    assert after.split("---\n\n")[0] == before.split("---\n\n")[0]  # the front matter as it was
    assert "正文" in after and verify(tmp_path) == []
    shown = CliRunner().invoke(cli, ["archive", "show", "a0", "--archive", str(tmp_path)]).output
    assert "【存档】" in shown


def test_without_the_key_the_post_is_left_as_it_was(tmp_path: Path):
    _archived(tmp_path, 1)
    (post,) = md_files(tmp_path)
    before = (tmp_path / post).read_bytes()
    _check(tmp_path, Checked(SOURCE, "a0", datetime(2026, 1, 2, tzinfo=UTC), gone="HTTP 410"))
    assert (tmp_path / post).read_bytes() == before


def test_a_failed_check_moves_the_order_but_is_no_sighting(tmp_path: Path):
    """What a crawl's edit test takes as the fetch time moves only with an answer."""
    _archived(tmp_path, 1)

    def fetched() -> str:
        index = ProvenanceIndex.open(tmp_path)
        try:
            return index.fetched_times(SOURCE)["a0"]
        finally:
            index.close()

    assert fetched() == "2024-01-01T09:00:00+00:00"
    _check(tmp_path, Checked(SOURCE, "a0", datetime(2026, 1, 1, tzinfo=UTC)))  # failed
    assert fetched() == "2024-01-01T09:00:00+00:00"
    _check(tmp_path, Checked(SOURCE, "a0", datetime(2026, 1, 2, tzinfo=UTC), present=True))
    assert fetched() == "2026-01-02T00:00:00+00:00"
