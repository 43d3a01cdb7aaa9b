"""One bad source, item, setting or planted file never stops, empties or damages the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply
from runner import crawl, run_cli

FEED = "https://feeds.test/a.xml"


def serve_feed(replay: ReplayServer, url: str, items: list[str]) -> None:
    replay.add(url, Reply(200, rss("测试", items), RSS))


# ---- 1. what the user typed is checked before anything is fetched


def test_a_bad_port_in_one_source_is_a_config_error_before_any_request(
    replay: ReplayServer, tmp_path: Path
):
    serve_feed(replay, FEED, [rss_item("一", "1", "<p>一</p>")])
    config = feeds_yaml(
        tmp_path,
        [feed_source("好", FEED), feed_source("坏", "https://feeds.test:99999/b.xml")],
    )
    result = crawl(replay, tmp_path / "a", config=config)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"crawler: error: {config}: sources[1] (坏): key 'url': "
        "'https://feeds.test:99999/b.xml' is not a valid URL (Port out of range 0-65535)"
    ]
    assert replay.requests == []


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"CRAWLER_DOWNLOAD_TIMEOUT": "abc"}, "CRAWLER_DOWNLOAD_TIMEOUT='abc': must be a"),
        (("-s", "DOWNLOAD_TIMEOUT=abc"), {}, "-s DOWNLOAD_TIMEOUT='abc': must be a number"),
        (("-s", "RETRY_ENABLED=maybe"), {}, "-s RETRY_ENABLED='maybe': must be true or false"),
        (("-s", "LOG_LEVEL=LOUD"), {}, "-s LOG_LEVEL='LOUD': not a log level"),
        (("-s", "CONCURRENT_REQUESTS=-3"), {}, "-s CONCURRENT_REQUESTS='-3': must be a"),
    ],
)
def test_a_bad_setting_is_a_usage_error(replay: ReplayServer, tmp_path: Path, args, env, message):
    config = feeds_yaml(tmp_path, [feed_source("好", FEED)])
    for command in ("crawl", "fetch"):
        target = () if command == "crawl" else (FEED,)
        result = run_cli(
            replay,
            command,
            *target,
            "-c",
            str(config),
            "--archive",
            str(tmp_path / "a"),
            *args,
            env=env,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"crawler: error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert replay.requests == []


# ---- 2. a failure is scoped: the item, or the source, never the crawl


def test_a_navigator_that_raises_fails_its_source_or_item_only():
    import scrapy

    from crawler.config import Source
    from crawler.extract.sina_roll import RollItem
    from crawler.spiders.archive import ArchiveSpider
    from crawler.spiders.base import Navigator, SourceRun
    from crawler.spiders.sina import SinaRoll

    class Broken(Navigator):
        def start(self):
            yield scrapy.Request("https://a.test/1", callback=self.start)
            raise KeyError("no such field")

    class Fine(Navigator):
        def start(self):
            yield scrapy.Request("https://b.test/1", callback=self.start)

    runs = [SourceRun(Source(name=n, site="s", category="c", type="sina")) for n in "abc"]
    sina = SinaRoll(runs[2])
    spider = ArchiveSpider(runs, navigators=[Broken(runs[0]), Fine(runs[1]), sina])
    outputs = [o for nav in spider.navigators[:2] for o in spider._routed(nav.start, nav, None)]
    assert [o.url for o in outputs] == ["https://a.test/1", "https://b.test/1"]
    assert runs[0].error == "start: KeyError: 'no such field'" and runs[1].error is None

    roll = RollItem(id="42", url="https://finance.sina.com.cn/doc-i42.shtml", title="t")
    request = scrapy.Request(roll.url, cb_kwargs={"roll": roll})

    def parse_article():
        raise RecursionError("maximum recursion depth exceeded")
        yield

    assert list(spider._routed(parse_article, sina, request)) == []
    assert runs[2].error is None and runs[2].counts["failed"] == 1
    (failed,) = runs[2].failed_items
    assert (failed.item_id, failed.payload["url"]) == ("42", roll.url)


# ---- 5. linear time on every body the size cap allows

SWALLOWING = ["<textarea>", "<title>", "<style>", "<script>", "<noscript>", "<iframe>"]
SWALLOWING += ["<xmp>", "<plaintext>", "<!--", "<!", "<?", "</ ", "<a href='", '<img alt="']
NESTING = ["<object>", "<div>", "<b>", "<a href=x>", "<table>", "<svg>", "<math>", "<select>"]
NESTING += ["<template>", "<p>", "<li>", "<ul>", "<span>", "<font>", "<i>", "<dl><dt>"]
NESTING += ["<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "<embed>"]


@pytest.mark.parametrize("body_format", ["html", "markdown"])
def test_two_megabytes_of_unclosed_tags_render_in_linear_time(body_format):
    """A crawl would hang for half an hour on one quadratic body; this test would too."""
    from datetime import UTC, datetime

    from crawler.extract.feed import MAX_BODY
    from crawler.items import Article, Shelf
    from crawler.store.template import render_article

    shelf = Shelf("c", "s", "n", body_format=body_format)
    bodies = [(unit + "x") * (MAX_BODY // (len(unit) + 1)) for unit in SWALLOWING]
    mixed = "".join(unit + "x" for unit in NESTING)
    bodies.append(mixed * (MAX_BODY // len(mixed)))
    for body in bodies:
        article = Article("1", "https://e.test/", "t", body, shelf, date=datetime.now(UTC))
        file = render_article(article)
        assert file.startswith(b"\n---\ntitle: 't'\n") and b"<script" not in file
