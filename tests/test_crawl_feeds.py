"""`crawler crawl` of feed sources end to end over the replay server."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.store.verify import verify

from feed_replay import RSS, feed_source, feeds_yaml, rebuilt_feeds, rss, rss_item
from replay import ReplayServer, Reply
from runner import crawl
from test_feed_corpus import HOSTILE

pytestmark = pytest.mark.process


def test_feeds_rebuilt_from_reference_posts_give_them_back(replay: ReplayServer, tmp_path: Path):
    feeds = rebuilt_feeds()
    for feed in feeds:
        replay.add(feed.url, Reply(200, feed.xml, RSS))
    config = feeds_yaml(
        tmp_path, [feed_source(f.name, f.url, f.category, f.site, limit=100) for f in feeds]
    )
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    for feed in feeds:
        for path, text in feed.expected.items():
            written = (tmp_path / "archive" / path).read_text(encoding="utf-8")
            assert written == text, path
    assert verify(tmp_path / "archive") == []


def test_not_modified_feed_writes_nothing(replay: ReplayServer, tmp_path: Path):
    xml = rss("t", [rss_item("一", "1", "<p>一</p>", date="Mon, 27 Sep 2021 23:54:59 GMT")])
    replay.add("https://feeds.test/a.xml", Reply(200, xml, {**RSS, "ETag": '"v1"'}))
    config = feeds_yaml(tmp_path, [feed_source("甲", "https://feeds.test/a.xml")])
    assert crawl(replay, tmp_path / "archive", config=config).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "archive").rglob("*.md")}
    replay.requests.clear()
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    assert "甲: 0 new, 0 updated, 0 unchanged, 0 failed" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "archive").rglob("*.md")} == before
    assert replay.requests == ["https://feeds.test/a.xml"]


def test_chinese_dates_and_one_feed_under_two_names(replay: ReplayServer, tmp_path: Path):
    xml = rss("t", [rss_item("中文日期", "1", "<p>x</p>", date="2026年11月26日 10:30")])
    replay.add("https://feeds.test/cn.xml", Reply(200, xml, RSS))
    config = feeds_yaml(
        tmp_path,
        [
            feed_source("甲", "https://feeds.test/cn.xml"),
            feed_source("乙", "https://feeds.test/cn.xml"),
        ],
    )
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    for name in ("甲", "乙"):
        text = (tmp_path / "archive" / "测试" / "站点" / name / "中文日期.md").read_text("utf-8")
        assert "\ndate: Thu, 26 Nov 2026 02:30:00 GMT\n" in text


def test_hostile_feeds_fail_alone(replay: ReplayServer, tmp_path: Path):
    good = rss("t", [rss_item("好的", "1", "<p>ok</p>")])
    replay.add("https://feeds.test/good.xml", Reply(200, good, RSS))
    sources = [feed_source("好", "https://feeds.test/good.xml")]
    for name, data in HOSTILE.items():
        replay.add(f"https://feeds.test/{name}.xml", Reply(200, data, RSS))
        sources.append(feed_source(name, f"https://feeds.test/{name}.xml"))
    replay.add("https://feeds.test/gone.xml", Reply(404))
    sources.append(feed_source("gone", "https://feeds.test/gone.xml"))
    result = crawl(replay, tmp_path / "archive", config=feeds_yaml(tmp_path, sources))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "好: 1 new" in result.stdout
    for name in ("surrogate_charref", "huge_charref", "xss", "frontmatter_injection"):
        assert f"{name}: 1 new" in result.stdout
    for name in ("xxe", "billion_laughs", "quadratic", "empty", "html_not_xml", "gone"):
        assert f"{name}: 0 new, 0 updated, 0 unchanged, 0 failed; source failed: " in result.stdout
    assert verify(tmp_path / "archive") == []


def test_full_text_takes_the_page_body(replay: ReplayServer, tmp_path: Path):
    from sina_replay import reference_articles

    sina = reference_articles()[0]
    generic = (
        b"<html><head><title>A post</title></head><body><nav>menu</nav><article>"
        + "<h1>普通</h1>".encode()  # the entry's title: the archived body does not repeat it
        + "<p>这是一篇很长的文章，正文在这里。</p>".encode() * 30
        + b"</article><footer>foot</footer></body></html>"
    )
    xml = rss(
        "t",
        [
            rss_item("新浪", "s", "<p>summary</p>", link=sina.url),
            rss_item("普通", "g", "<p>summary</p>", link="https://blog.test/post"),
            rss_item("坏链", "b", "<p>feed content</p>", link="https://blog.test/gone"),
        ],
    )
    replay.add("https://feeds.test/full.xml", Reply(200, xml, RSS))
    replay.add(sina.url, Reply(200, sina.page, {"Content-Type": sina.content_type}))
    replay.add("https://blog.test/post", Reply(200, generic, {"Content-Type": "text/html"}))
    replay.add("https://blog.test/gone", Reply(404))
    config = feeds_yaml(
        tmp_path, [feed_source("全文", "https://feeds.test/full.xml", full_text=True)]
    )
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "archive" / "测试" / "站点" / "全文"
    body_start = sina.expected_text.split("\n<div>   \n", 1)[1][:120]
    assert body_start in (folder / "新浪.md").read_text("utf-8")  # the page's #artibody
    generic_text = (folder / "普通.md").read_text("utf-8")
    assert "正文在这里" in generic_text and "menu" not in generic_text
    assert "<h1>" not in generic_text
    assert "<p>feed content</p>" in (folder / "坏链.md").read_text("utf-8")
    assert "https://blog.test/gone: HTTP 404, feed content kept" in result.stderr
