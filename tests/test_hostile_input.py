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


@pytest.mark.process
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
@pytest.mark.process
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


def test_a_callback_that_is_not_the_navigators_own_fails_its_source_at_scheduling():
    """Requests come back by the callback's name (on any worker of a scaled-out crawl): one
    that a name cannot find again fails its source at once, in one line."""
    import scrapy

    from crawler.config import Source
    from crawler.spiders.archive import ArchiveSpider
    from crawler.spiders.base import Navigator, SourceRun

    class Stray(Navigator):
        def start(self):
            yield scrapy.Request("https://a.test/1", callback=lambda response: None)

    run = SourceRun(Source(name="a", site="s", category="c", type="sina"))
    navigator = Stray(run)
    spider = ArchiveSpider([run], navigators=[navigator])
    assert list(spider._routed(navigator.start, navigator, None)) == []
    assert run.error.startswith("start: TypeError: test_a_callback_that_is_not_the_navigators")
    assert run.error.endswith("<lambda> is not a Stray method: not dispatchable")


# ---- 5. linear time on every body the size cap allows: tests/test_linear_time.py

# ---- 6. links found in content never reach loopback or private hosts

SECRET = "SECRET-TOKEN-5f3a"
SECRET_PAGE = Reply(
    200,
    f"<html><body><article><h1>admin</h1><p>{SECRET} {'管理页面。' * 40}</p></article>"
    "</body></html>".encode(),
    {"Content-Type": "text/html; charset=utf-8"},
)
PRIVATE_LINKS = [
    "http://127.0.0.1:9/admin",
    "http://localhost:9/admin",
    "http://2130706433:9/admin",
    "http://0x7f.1:9/admin",
    "http://127.1:9/admin",
    "http://[::1]:9/admin",
    "http://[::ffff:127.0.0.1]:9/admin",
    "http://10.0.0.5/admin",
    "http://169.254.169.254/latest/meta-data/",
    "https://redirect.test/to-loopback",  # answers 302 to http://127.0.0.1:9/admin
]


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST.", "a.localhost", "127.1", "2130706433", "0x7f000001", "0177.0.0.1"]
    + ["[::1]", "::ffff:127.0.0.1", "::ffff:7f00:1", "10.1.2.3", "192.168.1.1", "172.16.0.1"]
    + ["169.254.169.254", "fe80::1%eth0", "fc00::1", "0.0.0.0", "::", "100.64.0.1"]
    + ["64:ff9b::7f00:1", "2002:7f00:1::1"],
)
def test_every_spelling_of_a_private_host_is_known(host):
    from crawler.network import literal_private

    assert literal_private(host) is not None


@pytest.mark.parametrize("host", ["finance.sina.com.cn", "8.8.8.8", "2001:4860:4860::8888"])
def test_public_hosts_pass(host):
    from crawler.network import literal_private

    assert literal_private(host) is None


def private_link_feed(replay: ReplayServer, url: str) -> None:
    items = [
        rss_item(f"内链{n}", f"p{n}", "<p>摘要</p>", link=link)
        for n, link in enumerate(PRIVATE_LINKS)
    ]
    items.append(rss_item("外链", "public", "<p>摘要</p>", link="https://news.test/1"))
    items.append(rss_item("图", "img", '<p>图</p><img src="http://127.0.0.1:9/a.png">'))
    serve_feed(replay, url, items)
    for link in PRIVATE_LINKS:
        replay.add(link, SECRET_PAGE)
    replay.add("https://redirect.test/to-loopback", Reply(302, b"", {"Location": PRIVATE_LINKS[0]}))
    replay.add("http://127.0.0.1:9/a.png", Reply(200, SECRET.encode() * 9, {}))
    replay.add("https://news.test/1", Reply(200, b"<p>public</p>", {}))


@pytest.mark.process
def test_full_text_links_images_and_redirects_to_private_hosts_are_refused(
    replay: ReplayServer, tmp_path: Path
):
    feed_url = "https://feeds.test/private.xml?token=FEED-TOKEN"
    private_link_feed(replay, feed_url)
    source = feed_source("内网", feed_url, full_text=True, images="keep")
    result = crawl(replay, tmp_path / "a", config=feeds_yaml(tmp_path, [source]))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    files = list((tmp_path / "a").rglob("*.md"))
    assert len(files) == len(PRIVATE_LINKS) + 2  # each kept with its feed content
    assert all(SECRET not in f.read_text(encoding="utf-8") for f in files)
    stored = [f for f in (tmp_path / "a").rglob("*") if f.is_file()]
    assert not any(SECRET.encode() in f.read_bytes() for f in stored)
    assert set(replay.requests) == {feed_url, "https://news.test/1", PRIVATE_LINKS[-1]}
    assert "127.0.0.1 is a loopback address: not fetched" in result.stderr
    # No Referer carries the feed's URL (and its token) to another host.
    assert replay.referers["https://news.test/1"] == [None]


@pytest.mark.process
def test_a_source_may_allow_private_hosts(replay: ReplayServer, tmp_path: Path):
    feed_url = "https://feeds.test/private.xml"
    private_link_feed(replay, feed_url)
    source = feed_source("内网", feed_url, full_text=True, allow_private=True)
    result = crawl(replay, tmp_path / "a", config=feeds_yaml(tmp_path, [source]))
    assert result.returncode == 0, result.stderr
    assert PRIVATE_LINKS[0] in replay.requests
    assert any(SECRET in f.read_text(encoding="utf-8") for f in (tmp_path / "a").rglob("*.md"))


@pytest.mark.process
def test_without_a_proxy_names_are_resolved_and_checked(replay: ReplayServer, tmp_path: Path):
    """The machine's own name resolves to a loopback or private address here."""
    import socket

    from crawler.network import literal_private

    name = socket.gethostname()
    if literal_private(socket.gethostbyname(name)) is None:
        pytest.skip(f"{name} resolves to a public address on this machine")
    port = replay.server_address[1]
    feed_url = f"{replay.url}/feed.xml"  # typed: trusted
    secret_url = f"http://{name}:{port}/admin"
    serve_feed(replay, feed_url, [rss_item("内链", "1", "<p>摘要</p>", link=secret_url)])
    replay.add(secret_url, SECRET_PAGE)
    source = feed_source("内网", feed_url, full_text=True)
    config = feeds_yaml(tmp_path, [source])
    no_proxy = {"http_proxy": "", "https_proxy": "", "no_proxy": ""}
    result = run_cli(None, "crawl", "-c", str(config), "--archive", str(tmp_path), env=no_proxy)
    assert result.returncode == 0, result.stderr
    assert secret_url not in replay.requests and feed_url in replay.requests
    assert f"{name} is a loopback address (127" in result.stderr or "private" in result.stderr
    assert all(SECRET not in f.read_text(encoding="utf-8") for f in tmp_path.rglob("*.md"))


# ---- all together: one hostile feed beside the Sina roll


@pytest.mark.process
def test_a_hostile_feed_never_stops_empties_or_damages_the_sina_source(
    replay: ReplayServer, tmp_path: Path
):
    from crawler.store.paths import collision_stem

    from sina_replay import SINA_NAME, md_files, serve_pages, synthetic_articles

    articles = synthetic_articles(60)
    serve_pages(replay, articles)
    feed_url = "https://feeds.test/hostile.xml?token=FEED-TOKEN"
    victim = collision_stem("同名", "victim")
    items = [rss_item("同名", f"same{n}", f"<p>第{n}条</p>") for n in range(200)]
    items += [
        rss_item(title, f"squat{n}", "<p>占位</p>")
        for n, title in enumerate([victim] + [f"{victim}_{n}" for n in range(2, 6)])
    ]
    items.append(rss_item("同名", "victim", "<p>受害者</p>"))
    items.append(rss_item("远未来", "future", "<p>x</p>", date="Fri, 31 Dec 9999 23:00:00 -1200"))
    items.append(rss_item("公元一年", "year1", "<p>x</p>", date="0001-01-01 00:00:00"))
    for n, unit in enumerate(["<object>", "<div>", "<a href='", "<?", "<ul><li><b>"]):
        items.append(rss_item(f"炸弹{n}", f"bomb{n}", (unit + "x") * (1_500_000 // len(unit))))
    items += [
        rss_item(f"内链{n}", f"private{n}", "<p>摘要</p>", link=link)
        for n, link in enumerate(PRIVATE_LINKS)
    ]
    private_link_feed(replay, "https://feeds.test/unused.xml")  # the secret pages
    serve_feed(replay, feed_url, items)
    sina = {"name": SINA_NAME, "site": "新浪财经", "category": "金融", "type": "sina"}
    hostile = feed_source("敌意", feed_url, full_text=True)
    sources = [{**sina, "pages": 3, "limit": 1000}, {**hostile, "limit": 1000}]

    # A port out of range in a third source: nothing at all is fetched.
    bad = feed_source("坏端口", "https://feeds.test:99999/x.xml")
    result = crawl(replay, tmp_path / "a", config=feeds_yaml(tmp_path, [*sources, bad]))
    assert result.returncode == 2 and "Port out of range" in result.stderr
    assert replay.requests == [] and not (tmp_path / "a").exists()

    result = crawl(replay, tmp_path / "a", config=feeds_yaml(tmp_path, sources))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{SINA_NAME}: 60 new, 0 updated, 0 unchanged, 0 failed"
    assert lines[1] == f"敌意: {len(items)} new, 0 updated, 0 unchanged, 0 failed"
    archive = tmp_path / "a"
    sina_files = [p for p in md_files(archive) if p.startswith("金融/")]
    assert len(sina_files) == 60
    hostile_files = list((archive / "测试" / "站点" / "敌意").glob("*.md"))
    assert len(hostile_files) == len(items)
    # Every name the victim would try was taken first: it gets the next one.
    assert "受害者" in (archive / "测试/站点/敌意" / f"{victim}_6.md").read_text(encoding="utf-8")
    assert all(len(p.name.encode()) <= 255 for p in hostile_files)
    assert all(SECRET not in p.read_text(encoding="utf-8") for p in hostile_files)
    assert not any(link in replay.requests for link in PRIVATE_LINKS[:-1])
    verified = run_cli(None, "archive", "verify", "--archive", str(archive))
    assert verified.returncode == 0, verified.stdout[-2000:]
