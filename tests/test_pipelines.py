"""The two item pipelines alone, built as Scrapy builds them (`build_from_crawler`) on a crawler
from its test helper (`get_crawler`, no spider of ours): no engine, no network; items handed
over as the engine would, what happened heard as the run hears it (run.Ran, on the signals)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.task import Clock

from crawler.config import parse_config
from crawler.items import Article, Pending
from crawler.pipelines import archive as archive_pipeline
from crawler.pipelines.archive import ArchivePipeline
from crawler.pipelines.images import ImageKeeper
from crawler.run import Ran
from crawler.spiders.base import SourceRun
from crawler.store import ProvenanceIndex
from crawler.store.template import prepare

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def source(**keys):
    raw = {"name": "早报", "site": "财经", "category": "订阅", "url": "https://feed.test/f", **keys}
    (parsed,) = parse_config({"sources": [raw]}, Path("feeds.yaml")).sources
    return parsed


BATCH, MAX_DELAY = 4, 2.5  # ARCHIVE_BATCH, ARCHIVE_MAX_DELAY


def scrapy_crawler(root: Path, run: SourceRun, **settings):
    """A crawler as Scrapy's test helper makes it, and what its pipelines say (`.ran`)."""
    given = {"ARCHIVE_BATCH": BATCH, "ARCHIVE_MAX_DELAY": MAX_DELAY, **settings}
    crawler = get_crawler(None, {"ARCHIVE_ROOT": str(root), **given})
    crawler.ran = Ran({run.name: run}, crawler)
    crawler.ran.listen(crawler.signals)
    return crawler


def article(run: SourceRun, n: int, body: str = "<p>正文</p>") -> Article:
    return Article(
        id=f"item{n}",
        url=f"https://feed.test/a/{n}",
        title=f"第{n}条",
        body=body,
        shelf=run.source.shelf,
    )


def archived(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.md"))


@pytest.fixture
def pipeline(tmp_path: Path):
    """An open archive pipeline on its own clock (MAX_DELAY passes when the test says)."""
    run = SourceRun(source())
    crawler = scrapy_crawler(tmp_path, run)
    pipe = build_from_crawler(ArchivePipeline, crawler)
    pipe.flusher.clock = Clock()
    pipe.open_spider()
    yield pipe, run
    pipe.close_spider()


def test_articles_are_made_durable_a_batch_at_a_time(pipeline, tmp_path: Path):
    pipe, run = pipeline
    for n in range(BATCH - 1):
        assert pipe.process_item(article(run, n)) is not None
    assert run.counts["new"] == 0 and archived(tmp_path) == []  # held, not yet durable
    pipe.process_item(article(run, BATCH - 1))
    assert run.counts["new"] == BATCH and len(archived(tmp_path)) == BATCH
    assert [status for status, _ in pipe.crawler.ran.written] == ["new"] * BATCH


def test_a_held_article_waits_at_most_max_delay(pipeline, tmp_path: Path, monkeypatch):
    pipe, run = pipeline
    pipe.process_item(article(run, 1))
    pipe.flusher.clock.advance(MAX_DELAY)  # the batch is younger than MAX_DELAY: kept
    assert archived(tmp_path) == []
    later = time.monotonic() + MAX_DELAY
    monkeypatch.setattr(time, "monotonic", lambda: later)
    pipe.flusher.clock.advance(MAX_DELAY)
    assert archived(tmp_path) == ["第1条.md"] and run.counts["new"] == 1


def test_closing_makes_what_is_held_durable_and_writes_nothing_after(pipeline, tmp_path: Path):
    pipe, run = pipeline
    pipe.process_item(Pending(run.name, (("item1", "https://feed.test/a/1", {}),)))
    pipe.process_item(Pending(run.name, (("item2", "https://feed.test/a/2", {}),)))
    pipe.process_item(article(run, 1))
    pipe.close_spider()
    assert archived(tmp_path) == ["第1条.md"] and run.counts["new"] == 1
    pipe.process_item(article(run, 2))  # e.g. after Ctrl-C: not written, asked for again
    assert archived(tmp_path) == ["第1条.md"]
    index = ProvenanceIndex.open_existing(tmp_path)
    try:
        assert index.get(run.name, "item1") is not None
        assert index.retry_payloads(run.name) == [{}]  # item2: pending, asked for next run
    finally:
        index.close()


def test_an_item_the_archive_refuses_fails_alone(pipeline, tmp_path: Path):
    pipe, run = pipeline
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    folder = tmp_path / "订阅" / "财经"
    folder.mkdir(parents=True)
    (folder / "早报").symlink_to(outside)  # planted: the source's folder leads out
    pipe.process_item(article(run, 1))
    assert run.counts["failed"] == 1 and run.failed_items[0].item_id == "item1"
    assert not pipe.crawler.ran.archive_error and list(outside.iterdir()) == []


def test_an_archive_that_cannot_be_written_stops_the_crawl_once(pipeline, monkeypatch):
    pipe, run = pipeline
    stops = []
    monkeypatch.setattr(archive_pipeline, "stop_crawl", lambda crawler, why: stops.append(why))

    def full(_article):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipe.session.writer, "write", full)
    pipe.process_item(article(run, 1))
    pipe.process_item(article(run, 2))
    assert stops == ["archive_error"]
    assert pipe.crawler.ran.archive_error == (
        "cannot write to the archive: [Errno 28] No space left on device"
    )


def test_preview_renders_the_file_and_writes_nothing(tmp_path: Path):
    run = SourceRun(source())
    crawler = scrapy_crawler(tmp_path, run, ARCHIVE_PREVIEW=True)
    pipe = build_from_crawler(ArchivePipeline, crawler)
    pipe.open_spider()
    pipe.process_item(article(run, 1))
    pipe.close_spider()
    ((status, data),) = crawler.ran.written
    assert status == "preview" and data.startswith("\n---\ntitle: '第1条'\n".encode())
    assert list(tmp_path.iterdir()) == []


class RecordedEngine:
    """The engine's download, as the media pipeline calls it: recorded answers by URL."""

    def __init__(self, answers: dict[str, tuple[int, bytes, str]]):
        self.answers = answers
        self.requests = []

    async def download_async(self, request):
        self.requests.append(request)
        status, body, content_type = self.answers[request.url]
        headers = {"Content-Type": content_type}
        return Response(request.url, status=status, body=body, headers=headers, request=request)


def image_keeper(root: Path, answers: dict) -> tuple[ImageKeeper, SourceRun, RecordedEngine]:
    run = SourceRun(source(images="keep"))
    crawler = scrapy_crawler(root, run)
    crawler.spider = crawler.spidercls.from_crawler(crawler)  # Scrapy's own (MediaPipeline)
    crawler.engine = RecordedEngine(answers)
    keeper = build_from_crawler(ImageKeeper, crawler)
    keeper.open_spider()
    return keeper, run, crawler.engine


def test_image_keeper_stores_each_image_and_records_each_failure(tmp_path: Path):
    good, bad = "https://feed.test/img/a.png", "https://cdn.test/b.png"
    keeper, run, engine = image_keeper(
        tmp_path, {good: (200, PNG, "image/png"), bad: (404, b"", "text/html")}
    )
    item = article(run, 1, f'<p><img src="{good}"><img src="{bad}"><img src="{good}"></p>')
    done = asyncio.run(keeper.process_item(item))
    stored, failed = done.images
    assert (stored.url, stored.error, failed.url, failed.error) == (good, "", bad, "HTTP 404")
    assert (tmp_path / stored.path).read_bytes() == PNG
    assert stored.path.endswith(f"{stored.sha256}.png")
    # the page's own host gets the page as Referer, any other host none; each URL once
    referers = {r.url: r.headers.get("Referer") for r in engine.requests}
    assert referers == {good: item.url.encode(), bad: None}


def test_image_keeper_never_downloads_a_stored_image_again(tmp_path: Path):
    url = "https://feed.test/img/a.png"
    keeper, run, engine = image_keeper(tmp_path, {url: (200, PNG, "image/png")})
    first = asyncio.run(keeper.process_item(article(run, 1, f'<img src="{url}">')))
    again = asyncio.run(keeper.process_item(article(run, 2, f'<img src="{url}">')))
    assert len(engine.requests) == 1
    assert again.images == first.images


def test_image_keeper_fetches_nothing_for_an_item_without_images(tmp_path: Path):
    keeper, run, engine = image_keeper(tmp_path, {})
    plain = article(run, 1)
    done = asyncio.run(keeper.process_item(plain))
    assert done == plain and done.images == () and engine.requests == []
    assert done.prepared == prepare(plain)  # for the writer, which prepares it no more


def test_a_body_is_prepared_once_for_the_image_keeper_and_the_writer(tmp_path, monkeypatch):
    from crawler.store import template

    url = "https://feed.test/img/a.png"
    keeper, run, _ = image_keeper(tmp_path, {url: (200, PNG, "image/png")})
    judged = []
    real = template.safe_body
    monkeypatch.setattr(template, "safe_body", lambda body: judged.append(body) or real(body))
    kept = asyncio.run(keeper.process_item(article(run, 1, f'<p>图</p><img src="{url}">')))
    pipe = build_from_crawler(ArchivePipeline, keeper.crawler)
    pipe.open_spider()
    pipe.process_item(kept)
    pipe.close_spider()
    assert archived(tmp_path) == ["第1条.md"] and len(judged) == 1
