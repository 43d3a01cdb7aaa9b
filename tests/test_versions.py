"""An article's edits: fetched again when the source says it changed, written anew with the
earlier version kept (its text below .crawler/versions/, its time, sha256 and title in the
text state), and reviewed with `archive history --diff`, `list --edited`, `show`, `stats` and
`export`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.config import Source
from crawler.extract.feed import parse_feed
from crawler.items import Article, Shelf
from crawler.spiders.base import SourceRun
from crawler.store import ArchiveWriter, ProvenanceIndex
from crawler.store.verify import verify

from replay import ReplayServer, Reply
from runner import crawl, git
from sina_replay import ROLL, SINA_NAME, md_files, serve_pages, sina_config, synthetic_articles

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
URL = "https://finance.sina.com.cn/roll/2024-01-01/doc-in1.shtml"


def article(body: str, *, title: str = "央行发布数据", day: int = 1, **fields) -> Article:
    values = {
        "id": "n1",
        "url": URL,
        "title": title,
        "body": body,
        "shelf": SHELF,
        "date": datetime(2024, 1, 1, 8, tzinfo=UTC),
        "fetched_at": datetime(2024, 1, day, 9, tzinfo=UTC),
    }
    return Article(**{**values, **fields})


def archive(root: Path, *articles: Article) -> list[str]:
    statuses = []
    for each in articles:  # one writer each: one crawl each
        with ArchiveWriter(root) as writer:
            statuses.append(writer.write(each).status)
    return statuses


def review(root: Path, *args: str):
    return CliRunner().invoke(cli, ["archive", *args, "--archive", str(root)])


def test_a_changed_post_is_written_anew_and_its_earlier_version_kept(tmp_path: Path):
    first = article("<p>第一段。</p><p>增长百分之五。</p>")
    second = article("<p>第一段。</p><p>增长百分之六。</p>", title="央行发布新数据", day=2)
    assert archive(tmp_path, first, second, second) == ["new", "updated", "unchanged"]
    (post,) = md_files(tmp_path)
    index = ProvenanceIndex.open(tmp_path)
    try:
        (version,) = index.versions(SHELF.source, "n1")
        current = index.get(SHELF.source, "n1")
    finally:
        index.close()
    assert version.fetched_at == "2024-01-01T09:00:00+00:00"
    assert version.title == "央行发布数据" and current.title == "央行发布新数据"
    assert current.path == post  # the post keeps its path when its title changes
    (kept,) = (p for p in (tmp_path / ".crawler" / "versions").rglob("*") if p.is_file())
    assert kept.suffix == ".txt"
    assert "增长百分之五" in kept.read_text(encoding="utf-8")
    assert "增长百分之六" in (tmp_path / post).read_text(encoding="utf-8")
    assert kept.relative_to(tmp_path / ".crawler" / "versions").parent.as_posix() == post[:-3]
    assert verify(tmp_path) == []


def test_the_versions_live_in_the_text_state_and_come_back_with_a_fresh_cache(tmp_path: Path):
    archive(tmp_path, article("<p>一。</p>"), article("<p>二。</p>", day=2))
    archive(tmp_path, article("<p>三。</p>", day=3))
    (month,) = (tmp_path / ".crawler" / "state" / "items").rglob("*.jsonl")
    header, line = (json.loads(x) for x in month.read_text(encoding="utf-8").splitlines())
    versions = line[header["fields"].index("versions")]
    assert [v[2] for v in versions] == ["央行发布数据", "央行发布数据"]
    assert ".crawler/versions" not in (tmp_path / ".crawler" / ".gitignore").read_text()
    assert "/versions/" in (tmp_path / ".crawler" / ".gitignore").read_text()
    index = ProvenanceIndex.open(tmp_path)
    before = index.versions(SHELF.source, "n1")
    index.close()
    (tmp_path / ".crawler" / "archive.sqlite3").unlink()
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert index.versions(SHELF.source, "n1") == before and len(before) == 2
    finally:
        index.close()
    assert verify(tmp_path) == []


def test_a_guessed_date_or_a_new_fetch_time_alone_makes_no_version(tmp_path: Path):
    undated = article("<p>正文。</p>", date=None)
    later = article("<p>正文。</p>", date=None, day=5)
    assert archive(tmp_path, undated, later) == ["new", "unchanged"]
    assert not (tmp_path / ".crawler" / "versions").exists()


def test_history_diff_shows_exactly_the_changed_text(tmp_path: Path):
    archive(
        tmp_path,
        article("<p>第一段不变。</p><p>增长百分之五。</p><p>末段不变。</p>"),
        article("<p>第一段不变。</p><p>增长百分之六。</p><p>末段不变。</p>", day=2),
    )
    result = review(tmp_path, "history", "n1", "--diff")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("  2024-01-01T09:00:00+00:00") and "version 1" in lines[1]
    assert lines[2].startswith("  2024-01-02T09:00:00+00:00") and "current" in lines[2]
    changed = [x for x in lines if x[:1] in "+-" and not x.startswith(("+++", "---"))]
    assert changed == ["-增长百分之五。", "+增长百分之六。"]
    plain = review(tmp_path, "history", "n1")
    assert plain.exit_code == 0 and len(plain.output.splitlines()) == 3


def test_history_says_when_a_version_s_text_is_not_kept_here(tmp_path: Path):
    """A clone of the archive in git has the state's lines, not the ignored version files."""
    archive(tmp_path, article("<p>一。</p>"), article("<p>二。</p>", day=2))
    for kept in (tmp_path / ".crawler" / "versions").rglob("*.txt"):
        kept.unlink()
    result = review(tmp_path, "history", "n1", "--diff")
    assert result.exit_code == 0 and "is not kept here" in result.output


def test_list_edited_show_stats_and_export_say_so(tmp_path: Path):
    other = article("<p>别的。</p>", id="n2", url=URL.replace("in1", "in2"), title="另一篇")
    archive(tmp_path, article("<p>一。</p>"), other, article("<p>二。</p>", day=2))
    edited = review(tmp_path, "list", "--edited", "--json")
    assert [json.loads(x)["id"] for x in edited.output.splitlines()] == ["n1"]
    assert len(review(tmp_path, "list").output.splitlines()) == 2
    assert "edited:     1 earlier version" in review(tmp_path, "show", "n1").output
    assert "edited:" not in review(tmp_path, "show", "n2").output
    assert (
        "items edited at the source (earlier versions kept): 1" in review(tmp_path, "stats").output
    )
    rows = {r["id"]: r for r in map(json.loads, review(tmp_path, "export").output.splitlines())}
    assert rows["n2"]["status"] == "archived" and rows["n2"]["versions"] == []
    assert rows["n1"]["status"] == "edited"
    assert [v["fetched_at"] for v in rows["n1"]["versions"]] == ["2024-01-01T09:00:00+00:00"]


def test_an_archived_item_is_wanted_again_only_when_the_source_changed_it_since():
    run = SourceRun(
        Source(name="s", site="s", category="c", type="sina"),
        archived={"a": "2024-01-01T09:00:00+00:00", "b": "", "c": "not a time"},
    )
    at = datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert run.edited("a", at + timedelta(seconds=1))
    assert not run.edited("a", at) and not run.edited("a", None)
    assert not run.edited("b", at) and not run.edited("c", at)  # no usable fetch time
    assert not run.edited("a", datetime.now(UTC) + timedelta(days=1))  # still to come
    assert not run.edited("new", at)  # not archived: wanted as new, no edit
    assert run.wanted("a", at + timedelta(seconds=1))
    assert not run.wanted("a", at) and run.counts["unchanged"] == 1


@pytest.mark.process
def test_a_roll_item_changed_since_its_fetch_is_fetched_again_and_versioned(
    replay: ReplayServer, tmp_path: Path
):
    """Four archived articles; the roll says two changed after they were fetched (their
    mtime), another changed before (no request); one's page now says something else, the
    other's is the same (no version, and no tracked byte changes: its line keeps when its
    version was fetched, the cache when it was seen again)."""
    articles = synthetic_articles(4)
    serve_pages(replay, articles)
    config = sina_config(tmp_path / "config")
    first = crawl(replay, tmp_path / "archive", config=config)
    assert first.returncode == 0, first.stderr
    edited, stale, touched = articles[0], articles[1], articles[3]
    edited.roll["mtime"] = str(int(time.time()) + 1)  # after its fetch (seconds, floored)
    touched.roll["mtime"] = edited.roll["mtime"]
    stale.roll["mtime"] = str(1704067200)  # long before
    state = tmp_path / "archive" / ".crawler" / "state"
    lines = {p: p.read_text(encoding="utf-8").splitlines() for p in state.rglob("*.jsonl")}
    edited_page = edited.page.replace("第0篇文章的第3段".encode(), "第0篇文章改过的第3段".encode())
    assert edited_page != edited.page
    serve_pages(replay, articles)
    replay.add(edited.url, Reply(200, edited_page, {"Content-Type": edited.content_type}))
    time.sleep(1.2)  # the mtime is in the past now
    replay.requests.clear()
    second = crawl(replay, tmp_path / "archive", config=config)
    assert second.returncode == 0, second.stderr
    assert sorted(replay.requests) == sorted(
        [ROLL.format(lid=1686, page=1), edited.url, touched.url]
    )
    assert f"{SINA_NAME}: 0 new, 1 updated, 3 unchanged, 0 failed" in second.stdout
    after = {p: p.read_text(encoding="utf-8").splitlines() for p in state.rglob("*.jsonl")}
    changed_lines = [x for p in after for x in set(after[p]) - set(lines.get(p, []))]
    assert len(changed_lines) == 1 and edited.id[-7:] in changed_lines[0], changed_lines
    result = review(tmp_path / "archive", "history", edited.id, "--diff")
    changed = [x for x in result.output.splitlines() if x[:1] in "+-" and x[1:2] not in "+-"]
    indent = "\u3000\u3000"  # the page's own
    assert changed == [
        f"-{indent}第0篇文章的第3段，内容不同。",
        f"+{indent}第0篇文章改过的第3段，内容不同。",
    ]
    replay.requests.clear()
    third = crawl(replay, tmp_path / "archive", config=config)  # fetched since: no edit now
    assert replay.requests == [ROLL.format(lid=1686, page=1)], third.stderr


@pytest.mark.process
def test_in_git_an_edit_is_one_post_diff_plus_its_state_lines(replay: ReplayServer, tmp_path: Path):
    repo = tmp_path / "blog"
    articles = synthetic_articles(2)
    serve_pages(replay, articles)
    config = sina_config(tmp_path / "config")
    repo.mkdir()
    git(repo, "init", "-q")
    assert crawl(replay, repo / "posts", config=config).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    edited = articles[1]
    edited.roll["mtime"] = str(int(time.time()) + 1)
    serve_pages(replay, articles)
    page = edited.page.replace("第1篇文章的第0段".encode(), "第1篇文章修订的第0段".encode())
    replay.add(edited.url, Reply(200, page, {"Content-Type": edited.content_type}))
    time.sleep(1.2)
    assert crawl(replay, repo / "posts", config=config).returncode == 0
    git(repo, "add", "-A")
    changed = git(repo, "diff", "--cached", "--numstat").splitlines()
    files = sorted(line.split("\t")[2] for line in changed)
    assert len(files) == 2, changed
    assert files[0].startswith("posts/.crawler/state/items/") and files[1].endswith(".md")
    assert all(line.split("\t")[:2] == ["1", "1"] for line in changed), changed


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<updated>2024-01-03T00:00:00Z</updated>
<entry><id>urn:1</id><title>一</title><link href="https://news.test/1"/>
<published>2024-01-01T00:00:00Z</published><updated>2024-01-02T00:00:00Z</updated>
<content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry>
<entry><id>urn:2</id><title>二</title><link href="https://news.test/2"/>
<published>2024-01-01T00:00:00Z</published>
<content type="html">&lt;p&gt;y&lt;/p&gt;</content></entry>
</feed>"""
RSS_ONLY_DATE = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>g1</guid><title>一</title><link>https://news.test/1</link>
<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate><description>x</description></item>
</channel></rss>"""


def test_a_feed_entry_s_updated_time_is_read_and_a_published_one_is_not_taken_for_it():
    """feedparser answers `updated` with `published` when an entry has none: no edit then."""
    zone = ZoneInfo("Asia/Shanghai")
    headers = {"Content-Type": "application/atom+xml"}
    one, two = parse_feed(ATOM.encode(), "https://news.test/feed", headers, zone).entries
    assert one.updated == datetime(2024, 1, 2, tzinfo=UTC)
    assert one.date == datetime(2024, 1, 1, tzinfo=UTC) and two.updated is None
    (rss,) = parse_feed(RSS_ONLY_DATE.encode(), "https://news.test/feed", {}, zone).entries
    assert rss.date is not None and rss.updated is None
    items = [
        {"id": "1", "url": "https://news.test/1", "content_html": "x", **dates}
        for dates in (
            {"date_published": "2024-01-01T00:00:00Z", "date_modified": "2024-01-05T00:00:00Z"},
            {"date_published": "2024-01-01T00:00:00Z"},
        )
    ]
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items})
    json_headers = {"Content-Type": "application/feed+json"}
    modified, plain = parse_feed(feed.encode(), "https://news.test/f", json_headers, zone).entries
    assert modified.updated == datetime(2024, 1, 5, tzinfo=UTC) and plain.updated is None


def test_a_batch_killed_before_its_commit_keeps_the_version_from_its_journal(
    tmp_path: Path, monkeypatch
):
    """The journal carries the version a rewritten file replaces: the next writer, finishing
    the batch, records it with the post."""
    archive(tmp_path, article("<p>一。</p>"))
    writer = ArchiveWriter(tmp_path, batch=2)
    monkeypatch.setattr(
        writer.index, "commit_batch", lambda: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    other = article("<p>别的。</p>", id="n2", url=URL.replace("in1", "in2"), title="另一篇")
    with pytest.raises(KeyboardInterrupt):
        writer.write(article("<p>二。</p>", day=2))
        writer.write(other)
    monkeypatch.undo()
    writer.index.close()  # the process is gone: nothing committed
    assert (tmp_path / ".crawler" / "batch.json").exists()
    with ArchiveWriter(tmp_path):
        pass
    index = ProvenanceIndex.open(tmp_path)
    try:
        (version,) = index.versions(SHELF.source, "n1")
    finally:
        index.close()
    assert version.fetched_at == "2024-01-01T09:00:00+00:00"
    assert verify(tmp_path) == []


def test_reindex_drops_the_versions_of_a_post_that_is_gone(tmp_path: Path):
    from crawler.store.verify import rebuild_provenance

    other = article("<p>别的。</p>", id="n2", url=URL.replace("in1", "in2"), title="另一篇")
    archive(tmp_path, article("<p>一。</p>"), other, article("<p>二。</p>", day=2))
    (tmp_path / "金融/新浪财经/新浪财经－国內/央行发布数据.md").unlink()
    assert rebuild_provenance(tmp_path) == (1, 0, 1)
    index = ProvenanceIndex.open(tmp_path)
    try:
        assert index.edited() == set() and index.versions(SHELF.source, "n1") == []
    finally:
        index.close()
    assert verify(tmp_path) == []
