"""`crawler crawl` end to end: the shipped feeds.yaml, a replay of Sina through the proxy."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.markup import Tag, tokenize
from crawler.store import ProvenanceIndex
from crawler.store.judge import unsafe_markup
from crawler.store.lock import ArchiveLock
from crawler.store.verify import verify

from feed_replay import feeds_yaml
from replay import ReplayServer, Reply
from runner import FAST, ROOT, crawl, run_cli
from sina_cases import record_fields, sina_cases, without_guessed_date
from sina_replay import (
    ROLL,
    SINA_NAME,
    md_files,
    real_articles,
    reference_articles,
    reference_config,
    relaid_out,
    roll_body,
    serve_pages,
    serve_sina,
    sina_config,
    synthetic_articles,
)


def files(archive: Path) -> dict[str, bytes]:
    return {p.relative_to(archive).as_posix(): p.read_bytes() for p in archive.rglob("*.md")}


@pytest.mark.process
def test_crawl_archives_reference_posts_byte_for_byte(replay: ReplayServer, tmp_path: Path):
    """With the reference archive's own setting (`clean: false`) a crawl writes its posts
    byte for byte, at their paths (their bodies once docs/FORMAT.md BODY edit 5 is applied)."""
    references = reference_articles()
    serve_sina(replay, references)
    result = crawl(replay, tmp_path / "archive", config=reference_config(tmp_path))
    assert result.returncode == 0, result.stderr
    archived = files(tmp_path / "archive")
    assert len(archived) == len(references)
    for article in references:
        assert archived[article.expected_path] == article.expected_text.encode("utf-8")
    assert verify(tmp_path / "archive") == []


@pytest.mark.process
def test_crawl_archives_reference_and_real_pages(replay: ReplayServer, tmp_path: Path):
    """The shipped feeds.yaml: every page archived (slide and video pages too), safe, as its
    case expects."""
    references, reals = reference_articles(), real_articles()
    serve_sina(replay, references + reals)
    result = crawl(replay, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        f"{SINA_NAME}: {len(references) + len(reals)} new, 0 updated, 0 unchanged, 0 failed\n"
        in result.stdout
    )
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr
    archived = files(tmp_path)
    assert {a.expected_path for a in references} <= set(archived)  # at the reference paths
    for path, data in archived.items():
        body = data.decode("utf-8").split("\n<div>   \n", 1)[1]
        assert unsafe_markup(body) == [], path
        assert "javascript:" not in body.lower() and "<iframe" not in body.lower(), path
        assert not [
            tag
            for tag in tokenize(body)
            if isinstance(tag, Tag)
            and tag.name == "img"
            and not (tag.attr("src") and tag.attr("src").value.startswith("http"))
        ], path
    assert verify(tmp_path) == []
    _check_real_pages(tmp_path, reals, archived)


def _check_real_pages(archive: Path, reals, archived: dict[str, bytes]) -> None:
    """A crawl gives every case the fields and the file it gives in process (its expected
    ones, tests/cases/sina/), but for the date of a page that has none: the fetch time."""
    cases = {case.url: case for case in sina_cases()}
    index = ProvenanceIndex.open_existing(archive)
    try:
        for article in reals:
            case, record = cases[article.url], index.get(SINA_NAME, article.id)
            assert record_fields(record) == case.expected(), case.key
            assert without_guessed_date(archived[record.path], record) == without_guessed_date(
                case.expected_file("html"), record
            ), case.key
    finally:
        index.close()


@pytest.mark.process
def test_recrawl_requests_only_the_roll_and_rewrites_nothing(replay: ReplayServer, tmp_path: Path):
    articles = reference_articles()[:4]
    serve_sina(replay, articles)
    assert crawl(replay, tmp_path).returncode == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*.md")}
    replay.requests.clear()
    result = crawl(replay, tmp_path)
    assert result.returncode == 0, result.stderr
    assert replay.requests == [ROLL.format(lid=1686, page=1)]
    assert f"{SINA_NAME}: 0 new, 0 updated, 4 unchanged, 0 failed" in result.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*.md")} == before


@pytest.mark.process
def test_a_crawl_writes_nothing_outside_the_archive(replay: ReplayServer, tmp_path: Path):
    """No state of Scrapy's own in the user's home (2.19's remote control writes a job file
    there, and serves code execution on a local port, unless it is turned off)."""
    serve_sina(replay, reference_articles()[:1])
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
    result = run_cli(
        replay, "crawl", "--archive", str(tmp_path / "archive"), *FAST, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stdout
    assert sorted(home.rglob("*")) == []


@pytest.mark.process
def test_refresh_rewrites_exactly_the_changed_file(replay: ReplayServer, tmp_path: Path):
    articles = reference_articles()[:3]
    serve_sina(replay, articles)
    assert crawl(replay, tmp_path).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.md")}
    changed = articles[1]
    replay.add(
        changed.url,
        Reply(
            200,
            changed.page.replace(b"</p>", "！</p>".encode(), 1),
            {"Content-Type": changed.content_type},
        ),
    )
    result = crawl(replay, tmp_path, "--refresh")
    assert result.returncode == 0, result.stderr
    assert f"{SINA_NAME}: 0 new, 1 updated, 2 unchanged, 0 failed" in result.stdout
    rewritten = [p for p in tmp_path.rglob("*.md") if p.stat().st_mtime_ns != before[p]]
    assert [p.relative_to(tmp_path).as_posix() for p in rewritten] == [changed.expected_path]


@pytest.mark.process
def test_article_faults_are_reported_and_retried(replay: ReplayServer, tmp_path: Path):
    config, tmp_path = reference_config(tmp_path), tmp_path / "archive"
    ok, missing, flaky = reference_articles()[:3]
    serve_sina(replay, [ok, missing, flaky])
    replay.add(missing.url, Reply(404, b"gone"))
    replay.add(
        flaky.url,
        Reply(500),
        Reply(500),
        Reply(200, flaky.page, {"Content-Type": flaky.content_type}),
    )
    result = crawl(replay, tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    assert f"{SINA_NAME}: 2 new, 0 updated, 0 unchanged, 1 failed" in result.stdout
    assert f"{missing.url}: HTTP 404 (will retry next run)" in result.stderr
    assert not (tmp_path / missing.expected_path).exists()
    assert (tmp_path / flaky.expected_path).read_text(encoding="utf-8") == flaky.expected_text
    assert replay.requests.count(flaky.url) == 3
    # Next run: the failed article is asked for again, even once it has left the roll.
    replay.add(ROLL.format(lid=1686, page=1), Reply(200, roll_body([ok.roll])))
    replay.add(missing.url, Reply(200, missing.page, {"Content-Type": missing.content_type}))
    replay.requests.clear()
    result = crawl(replay, tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    assert missing.url in replay.requests
    assert (tmp_path / missing.expected_path).read_text(encoding="utf-8") == missing.expected_text
    assert verify(tmp_path) == []


@pytest.mark.process
def test_a_roll_page_a_crawl_never_read_is_read_next_run(replay: ReplayServer, tmp_path: Path):
    articles = synthetic_articles(120)
    pages = serve_pages(replay, articles)  # 50, 50 and 20 articles
    page_two = ROLL.format(lid=1686, page=2)
    replay.add(
        page_two,
        Reply(503),
        Reply(503),
        Reply(503),
        Reply(200, roll_body([a.roll for a in articles[50:100]])),
    )
    config = sina_config(tmp_path / "config", pages=pages + 1, limit=1000)
    first = crawl(replay, tmp_path / "archive", config=config)
    assert first.returncode == 1  # the backfill broke off at page 2
    assert f"{SINA_NAME}: 50 new" in first.stdout and "HTTP 503" in first.stdout
    # Page 1 holds nothing new now; the page the last run never read makes this one go on.
    second = crawl(replay, tmp_path / "archive", config=config)
    assert second.returncode == 0, second.stderr
    assert f"{SINA_NAME}: 70 new, 0 updated, 50 unchanged" in second.stdout
    replay.requests.clear()
    third = crawl(replay, tmp_path / "archive", config=config)
    assert third.returncode == 0
    assert replay.requests == [ROLL.format(lid=1686, page=1)]  # nothing left behind


def _two_sources(tmp_path: Path) -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "sources:\n"
        "  - {name: 坏的, site: 新浪财经, category: 金融, type: sina, lid: 1685}\n"
        f"  - {{name: {SINA_NAME}, site: 新浪财经, category: 金融, type: sina, lid: 1686}}\n"
        "  - {name: 宏观, site: 新浪财经, category: 金融, type: sina, lid: 1687}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.process
def test_roll_api_error_fails_only_its_source(replay: ReplayServer, tmp_path: Path):
    articles = reference_articles()[:2]
    serve_sina(replay, articles[:1])
    serve_sina(replay, articles[1:], lid=1687, jsonp=True)  # JSONP is read too
    replay.add(
        ROLL.format(lid=1685, page=1),
        Reply(200, roll_body([], code=11, msg="列表和页面没有经过注册")),
    )
    result = crawl(replay, tmp_path / "archive", config=_two_sources(tmp_path))
    assert result.returncode == 1
    assert "坏的: 0 new, 0 updated, 0 unchanged, 0 failed; source failed: " in result.stdout
    assert "roll API error 11: 列表和页面没有经过注册" in result.stdout
    assert f"{SINA_NAME}: 1 new" in result.stdout and "宏观: 1 new" in result.stdout
    assert (
        "total: 2 new, 0 updated, 0 unchanged, 0 failed; 1 of 3 source(s) failed" in result.stdout
    )


@pytest.mark.process
def test_unreachable_network_is_one_line_per_source(tmp_path: Path):
    dead = ReplayServer()
    dead.server_close()  # a port nobody listens on
    result = crawl(dead, tmp_path / "archive", "-s", "RETRY_TIMES=0", config=_two_sources(tmp_path))
    assert result.returncode == 1
    assert result.stdout.count(": the proxy 127.0.0.1:") == 3, result.stdout
    assert "refused the connection (http_proxy/https_proxy)" in result.stdout
    assert result.stderr == ""  # each failure said once, in the summary


@pytest.mark.process
def test_second_crawl_exits_3_naming_the_holder(replay: ReplayServer, tmp_path: Path):
    with ArchiveLock(tmp_path):
        result = crawl(replay, tmp_path)
    assert result.returncode == 3
    assert f"pid {os.getpid()}" in result.stderr and result.stdout == ""


@pytest.mark.process
def test_broken_config_is_one_line_and_exit_2(replay: ReplayServer, tmp_path: Path):
    config = tmp_path / "feeds.yaml"
    config.write_text("sources:\n  - {name: a, site: s, category: c, type: sina, lidd: 3}\n")
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 2 and replay.requests == []
    assert result.stderr.strip() == (
        f"crawler: error: {config}: sources[0] (a): unknown key 'lidd'"
    )


@pytest.mark.process
def test_unknown_source_name_is_exit_2(replay: ReplayServer, tmp_path: Path):
    result = crawl(replay, tmp_path, "没有这个")
    assert result.returncode == 2 and "no source named '没有这个'" in result.stderr


@pytest.mark.process
def test_a_pageid_384_roll_crawls_like_the_default_one(replay: ReplayServer, tmp_path: Path):
    """The finance roll page's rolls (pageid 384: 2519 财经, 2671 股市, …) with their own
    Referer, beside the default pageid 155 roll."""
    from sina_replay import roll_address

    serve_pages(replay, synthetic_articles(7), lid=2519, pageid=384)
    serve_pages(replay, synthetic_articles(3), lid=1686)
    config = feeds_yaml(
        tmp_path,
        [
            {"name": "财经", "site": "新浪财经", "category": "金融", "type": "sina"}
            | {"pageid": 384, "lid": 2519},
            {"name": SINA_NAME, "site": "新浪财经", "category": "金融", "type": "sina"},
        ],
    )
    result = crawl(replay, tmp_path / "a", config=config)
    assert result.returncode == 0, result.stderr
    assert "财经: 7 new, 0 updated, 0 unchanged, 0 failed" in result.stdout
    assert f"{SINA_NAME}: 3 new" in result.stdout
    assert replay.referers[roll_address(2519, 1, 384)] == ["https://finance.sina.com.cn/roll/"]
    assert replay.referers[ROLL.format(lid=1686, page=1)] == ["https://finance.sina.com.cn/"]
    assert len(list((tmp_path / "a" / "金融" / "新浪财经" / "财经").glob("*.md"))) == 7


@pytest.mark.process
def test_a_changed_layout_fails_the_source_keeps_samples_and_is_archived_once_fixed(
    replay: ReplayServer, tmp_path: Path
):
    """Every article page of a layout no family knows: the source fails with one line, the
    pages are kept as samples (gzip, as received) and asked for again; served in a known
    layout (the extractor fixed), the next run archives them."""
    articles = synthetic_articles(4)
    serve_pages(replay, [relaid_out(a) for a in articles])
    first = crawl(replay, tmp_path)
    assert first.returncode == 1, first.stderr
    assert (
        f"{SINA_NAME}: 0 new, 0 updated, 0 unchanged, 0 failed, 4 unrecognized; source failed: "
        "layout looks changed: 4 of 4 article pages match no known layout" in first.stdout
    )
    assert "Traceback" not in first.stderr
    assert md_files(tmp_path) == {}
    folder = tmp_path / ".crawler" / "samples" / SINA_NAME
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(e["url"] for e in manifest) == sorted(a.url for a in articles)
    for entry in manifest:
        page = gzip.decompress((folder / entry["file"]).read_bytes())
        assert page == next(relaid_out(a).page for a in articles if a.url == entry["url"])
    stats = run_cli(None, "archive", "stats", "--archive", str(tmp_path)).stdout
    assert "4 unrecognized — FAILED: layout looks changed" in stats
    assert f"pages of an unknown layout kept as samples: 4\n  {SINA_NAME}: 4 pages" in stats

    serve_pages(replay, articles)  # the same roll, the pages in a layout a family knows
    second = crawl(replay, tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"{SINA_NAME}: 4 new, 0 updated, 0 unchanged, 0 failed\n" in second.stdout
    assert len(md_files(tmp_path)) == 4


@pytest.mark.process
def test_a_few_unknown_pages_among_known_ones_do_not_fail_the_source(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(5)
    serve_pages(replay, articles[:3] + [relaid_out(a) for a in articles[3:]])
    result = crawl(replay, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        f"{SINA_NAME}: 3 new, 0 updated, 0 unchanged, 0 failed, 2 unrecognized\n" in result.stdout
    )
    assert result.stderr.count("no layout family knows this page") == 2


def test_samples_are_bounded_per_source(tmp_path: Path):
    from crawler.items import Sample
    from crawler.store.samples import keep_sample, sample_entries, samples_folder

    root = tmp_path.resolve()
    moment = datetime(2026, 11, 30, tzinfo=UTC)
    for n in range(7):
        sample = Sample("s", f"id{n % 5}", f"https://x/{n}", "text/html", b"<p>%d" % n, moment)
        keep_sample(root, sample, limit=3)
    folder = samples_folder(root, "s")
    kept = sample_entries(folder)
    assert [e["url"] for e in kept] == ["https://x/4", "https://x/5", "https://x/6"]
    assert sorted(p.name for p in folder.glob("*.gz")) == sorted(e["file"] for e in kept)
    (folder / "manifest.json").write_text("[not json")  # planted: started afresh, no error
    keep_sample(root, Sample("s", "new", "https://x/new", "", b"x", moment), limit=3)
    assert [e["url"] for e in sample_entries(folder)] == ["https://x/new"]


@pytest.mark.process
def test_limit_caps_new_items_not_roll_positions(replay: ReplayServer, tmp_path: Path):
    """`--limit 5` twice over a roll of 17: 5 new, then 5 more (archived ones do not count)."""
    serve_pages(replay, synthetic_articles(17))
    first = crawl(replay, tmp_path, "--limit", "5")
    second = crawl(replay, tmp_path, "--limit", "5")
    assert f"{SINA_NAME}: 5 new, 0 updated, 0 unchanged, 0 failed" in first.stdout
    assert f"{SINA_NAME}: 5 new, 0 updated, 5 unchanged, 0 failed" in second.stdout


@pytest.mark.process
def test_backfill_pages_and_limit(replay: ReplayServer, tmp_path: Path):
    a, b, c, d = reference_articles()[:4]
    for page, items in ((1, [a, b]), (2, [c, d]), (3, [])):
        replay.add(ROLL.format(lid=1686, page=page), Reply(200, roll_body([x.roll for x in items])))
    for article in (a, b, c, d):
        replay.add(article.url, Reply(200, article.page, {"Content-Type": article.content_type}))
    result = crawl(replay, tmp_path / "one", "--limit", "1", "--pages", "3")
    assert f"{SINA_NAME}: 1 new" in result.stdout
    assert ROLL.format(lid=1686, page=2) not in replay.requests  # the limit is reached
    replay.requests.clear()
    result = crawl(replay, tmp_path / "all", "--pages", "3")
    assert f"{SINA_NAME}: 4 new" in result.stdout, result.stderr
    assert [u for u in replay.requests if "roll" in u] == [
        ROLL.format(lid=1686, page=p) for p in (1, 2, 3)
    ]
    replay.requests.clear()
    result = crawl(replay, tmp_path / "all", "--pages", "3")  # page 1 is all archived: stop
    assert replay.requests == [ROLL.format(lid=1686, page=1)]


@pytest.mark.process
def test_quick_start_as_users_run_it(replay: ReplayServer, tmp_path: Path):
    """The shipped feeds.yaml from its own folder: a relative archive path, every command."""
    shutil.copy(ROOT / "feeds.yaml", tmp_path / "feeds.yaml")
    serve_sina(replay, reference_articles()[:3])
    result = run_cli(replay, "crawl", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{SINA_NAME}: 3 new" in result.stdout
    for command in (["list"], ["stats"], ["verify"], ["search", "的"]):
        shown = run_cli(None, "archive", *command, cwd=tmp_path)
        assert shown.returncode == 0, (command, shown.stderr)
    assert len(run_cli(None, "archive", "list", cwd=tmp_path).stdout.splitlines()) == 3


@pytest.mark.process
def test_on_a_terminal_a_live_line_says_how_the_crawl_goes(replay: ReplayServer, tmp_path: Path):
    """A pty stands in for the terminal: the line is redrawn in place (articles done, queued,
    rate), log lines print above it; piped (cron), nothing of it appears."""
    import pty
    import subprocess
    import sys

    serve_pages(replay, synthetic_articles(40))
    replay.latency = 0.1
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **replay.proxy_env()}
    args = [sys.executable, "-m", "crawler", "crawl", "--archive", str(tmp_path / "a")]
    proc = subprocess.Popen(
        [*args, "--pages", "2", "-c", str(ROOT / "feeds.yaml"), *FAST],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(master)
    replay.latency = 0.0
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "\r\x1b[K" in text and " done, " in text and " queued, " in text and "/s" in text
    assert f"{SINA_NAME}: 40 new" in text
    piped = crawl(replay, tmp_path / "b", "--pages", "2")
    assert "\x1b[K" not in piped.stderr + piped.stdout and " queued, " not in piped.stderr
