"""`crawler check`: each source's list and newest article, live (here: the replay server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feed_replay import feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply
from runner import FAST, run_cli
from sina_replay import (
    ROLL,
    SINA_NAME,
    RecordedArticle,
    media_articles,
    relaid_out,
    roll_body,
    serve_pages,
    sina_config,
    synthetic_articles,
)

pytestmark = pytest.mark.process


def check(server: ReplayServer, config: Path, *args: str):
    return run_cli(server, "check", "-c", str(config), *FAST, *args, cwd=config.parent)


def test_a_healthy_roll_reports_its_newest_article_and_writes_nothing(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(3)
    serve_pages(replay, articles)
    config = sina_config(tmp_path)
    result = check(replay, config)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{SINA_NAME}: ok; family D; title '合成新闻第0号：经济数据发布'; "
        "date 2024-01-01T00:00:00+00:00 (roll time); body 329 chars, 1 images; "
        f"author 洋子谈科技; keywords 财经头条, 财经新闻, 投资价值 — {articles[0].url}\n"
    )
    assert set(replay.requests) >= {articles[0].url} and articles[1].url not in replay.requests
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.yaml"]  # no archive made

    record = json.loads(check(replay, config, "--json").stdout)
    assert record == {
        "healthy": True,
        "source": SINA_NAME,
        "type": "sina",
        "list_url": ROLL.format(lid=1686, page=1),
        "listed": 3,
        "article_url": articles[0].url,
        "family": "D",
        "title": "合成新闻第0号：经济数据发布",
        "date": "2024-01-01T00:00:00+00:00",
        "date_origin": "roll time",
        "body_chars": 329,
        "images": 1,
        "author": "洋子谈科技",  # the page's (the roll item has none)
        "keywords": ["财经头条", "财经新闻", "投资价值"],
        "kinds": {"article": articles[0].url},
        "problems": [],
    }


def test_a_newest_article_of_an_unknown_layout_is_degraded(replay: ReplayServer, tmp_path: Path):
    articles = synthetic_articles(3)
    serve_pages(replay, [relaid_out(articles[0]), *articles[1:]])
    result = check(replay, sina_config(tmp_path))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(
        f"{SINA_NAME}: DEGRADED: no layout family knows this page (has Sina changed its "
        f"layout?); family ? — {articles[0].url}"
    )
    assert "Traceback" not in result.stderr


def test_a_roll_the_api_refuses_is_degraded(replay: ReplayServer, tmp_path: Path):
    replay.add(ROLL.format(lid=1686, page=1), Reply(200, roll_body([], code=11, msg="未注册")))
    result = check(replay, sina_config(tmp_path))
    assert result.returncode == 1
    assert result.stdout == (
        f"{SINA_NAME}: DEGRADED: roll unreadable: roll API error 11: 未注册 — "
        f"{ROLL.format(lid=1686, page=1)}\n"
    )


def test_the_newest_item_of_every_kind_the_roll_lists_is_read(replay: ReplayServer, tmp_path: Path):
    (slides, video), articles = media_articles(), synthetic_articles(2)
    serve_pages(replay, [slides, video, *articles])
    result = check(replay, sina_config(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"{SINA_NAME}: ok; family slides; title '图集：长江经济带港口一季度吞吐量同比增长'; "
        "date 2024-05-10T01:12:30+00:00 (page meta); body 103 chars, 3 images; "
    )
    assert result.stdout.endswith(f"; kinds read slides, video, article — {slides.url}\n")
    assert {slides.url, video.url, articles[0].url} <= set(replay.requests)
    assert articles[1].url not in replay.requests

    # A kind whose page is no longer where Sina put it degrades the source, named
    broken = RecordedArticle(
        video.id,
        video.url,
        video.roll,
        video.page.replace(b"video_id", b"vid_x"),
        video.content_type,
    )
    replay.add(video.url, Reply(200, broken.page, {"Content-Type": video.content_type}))
    result = check(replay, sina_config(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"{SINA_NAME}: DEGRADED: video {video.url}: a video page without a video_id (no layout "
    )


def test_each_source_gets_its_line_and_one_bad_one_makes_exit_1(
    replay: ReplayServer, tmp_path: Path
):
    items = [
        rss_item("旧闻", "1", "<p>旧</p>", date="Mon, 27 Sep 2021 23:54:59 GMT"),
        rss_item("新闻", "2", "<p>新的正文</p>", date="Tue, 28 Sep 2021 08:00:00 GMT"),
    ]
    replay.add("https://feeds.test/good.xml", Reply(200, rss("好", items)))
    replay.add("https://feeds.test/gone.xml", Reply(404, b"gone"))
    replay.add(
        "https://feeds.test/empty.xml",
        Reply(200, rss("空", []), {"Content-Type": "application/rss+xml"}),
    )
    config = feeds_yaml(
        tmp_path,
        [
            feed_source("好", "https://feeds.test/good.xml"),
            feed_source("无", "https://feeds.test/gone.xml"),
            feed_source("空", "https://feeds.test/empty.xml"),
        ],
    )
    result = check(replay, config)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "好: ok; title '新闻'; date 2021-09-28T08:00:00+00:00 (feed); body 4 chars, 0 images"
    )
    assert lines[1] == "无: DEGRADED: feed unreadable: HTTP 404 — https://feeds.test/gone.xml"
    assert lines[2] == "空: DEGRADED: the feed has no entries — https://feeds.test/empty.xml"
    only = check(replay, config, "好")
    assert only.returncode == 0 and only.stdout.count("\n") == 1


def test_usage_errors_exit_2(replay: ReplayServer, tmp_path: Path):
    config = sina_config(tmp_path)
    result = check(replay, config, "nope")
    assert result.returncode == 2
    assert "no source named 'nope'" in result.stderr and "Traceback" not in result.stderr
    assert replay.requests == []
