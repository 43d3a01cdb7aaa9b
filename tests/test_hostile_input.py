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
