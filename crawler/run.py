"""One crawl of some sources into one archive: Scrapy in, a report out."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .cluster import Catalog, Cluster, Report, worker_id
from .config import Source
from .errors import ClusterError, CrawlError
from .items import Article, ImageRetry, Pending, Settled
from .spiders.archive import ArchiveSpider
from .spiders.base import FailedItem, SourceRun, describe
from .spiders.fetch import FetchTarget, UrlFetch
from .store import ArchiveError, ArchiveWriter, ProvenanceIndex

OUTCOMES = ("new", "updated", "unchanged", "failed")
MAX_ATTEMPTS = 5  # an article that failed this many runs in a row is given up
log = logging.getLogger("crawler")


@dataclass(frozen=True)
class CrawlOptions:
    limit: int | None = None
    pages: int | None = None
    refresh: bool = False
    progress: bool = False
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class CrawlReport:
    runs: list[SourceRun]
    archive_error: str | None = None  # the archive could not be written: the crawl stopped
    interrupted: bool = False  # stopped by a signal (Ctrl-C, SIGTERM) before the end
    incomplete: str | None = None  # a scaled-out run that lost workers or their work

    @property
    def failed_sources(self) -> list[SourceRun]:
        return [run for run in self.runs if run.error]

    def lines(self) -> list[str]:
        lines = []
        for run in self.runs:
            counts = ", ".join(f"{run.counts[k]} {k}" for k in OUTCOMES)
            skipped = f", {run.counts['skipped']} skipped" if run.counts["skipped"] else ""
            failed = f" — FAILED: {run.error}" if run.error else ""
            lines.append(f"{run.name}: {counts}{skipped}{failed}")
        total = ", ".join(f"{sum(r.counts[k] for r in self.runs)} {k}" for k in OUTCOMES)
        failed = len(self.failed_sources)
        return [*lines, f"total: {total}; {failed} of {len(self.runs)} source(s) failed"]


def crawl_settings(
    root: Path | None, options: CrawlOptions, extra: dict[str, object] | None = None
) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(extra or {}, priority="project")
    if root is not None:
        settings.set("ARCHIVE_ROOT", str(root), priority="project")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="project")  # ours: _quiet_scrapy
    if options.progress:
        settings.set("LOG_LEVEL", "INFO", priority="project")
    for name, value in options.settings.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(root: Path, sources: list[Source], options: CrawlOptions) -> CrawlReport:
    """Crawl `sources` into `root`; the caller holds the archive's lock."""
    with ArchiveWriter(root) as writer:
        writer.remove_stale_temp_files()
        runs = [_source_run(writer.index, source, options) for source in sources]
    spider = run_spider(root, options, runs=runs) if runs else None
    reason = spider.crawler.stats.get_value("finish_reason") if spider else "finished"
    if reason != "finished":  # interrupted or stopped: a 304 next time could hide an entry
        for run in runs:
            run.new_validators = None
    index = ProvenanceIndex.open(root)
    try:
        for run in runs:
            _keep_outcome(index, run)
    finally:
        index.close()
    if spider is None:
        return CrawlReport(runs)
    return CrawlReport(runs, spider.archive_error, interrupted=reason == "shutdown")


def run_spider(
    root: Path | None,
    options: CrawlOptions,
    *,
    preview: bool = False,
    extra_settings: dict[str, object] | None = None,
    **spider_kwargs,
) -> ArchiveSpider:
    """Run the archive spider to its end in this process; Scrapy's reactor runs once."""
    settings = crawl_settings(root, options, extra_settings)
    settings.set("ARCHIVE_PREVIEW", preview, priority="project")
    process = CrawlerProcess(settings)
    _quiet_scrapy(settings)  # after Scrapy's own logging set-up, which it overrides
    crawler = process.create_crawler(ArchiveSpider)
    failures = []
    process.crawl(crawler, **spider_kwargs).addErrback(failures.append)
    process.start()
    if failures:
        failure = failures[0]
        raise CrawlError(f"the crawl could not run: {describe(failure)}")
    return crawler.spider


def run_worker(
    cluster: Cluster, sources: list[Source], options: CrawlOptions, *, wait: float
) -> CrawlReport:
    """One worker of a scaled-out crawl: sources from the writer's catalog, requests from the
    shared queue, items to Redis. Returns this worker's part of the outcome."""
    for source in sources:
        if source.images == "keep":
            raise ClusterError(
                f"{source.name}: 'images: keep' is not supported by a scaled-out crawl yet"
            )
    run_id = cluster.wait_for_run(wait)
    runs = []
    for source in sources:
        catalog = cluster.catalog(source.name)
        runs.append(
            SourceRun(
                source=source,
                archived=catalog.archived,
                limit=options.limit or source.limit,
                pages=options.pages or source.pages,
                refresh=options.refresh,
                retry_payloads=catalog.retries,
                validators=catalog.validators,
            )
        )
    worker = worker_id()
    cluster.join(worker)
    seed = cluster.claim_seeding(worker)
    spider = run_spider(
        None,
        options,
        extra_settings={
            "SCHEDULER": "crawler.worker.SharedScheduler",
            "SCHEDULER_PERSIST": True,  # the writer clears the queue when it opens a run
            "SCHEDULER_QUEUE_KEY": cluster.key("requests"),
            "SCHEDULER_DUPEFILTER_KEY": cluster.key("dupefilter"),
            "DUPEFILTER_CLASS": "crawler.worker.SourceDupeFilter",
            "REDIS_URL": cluster.url,
            "ITEM_PIPELINES": {"crawler.worker.ClusterItems": 300},
            "EXTENSIONS": {"crawler.worker.ClusterWorker": 500},
            "CLUSTER_WORKER": True,
        },
        runs=runs,
        seed=seed,
        on_seeded=cluster.mark_seeded if seed else None,
        cluster=cluster,
        worker=worker,
        run_id=run_id,
    )
    if getattr(spider, "cluster_error", None):
        raise ClusterError(spider.cluster_error)
    if spider.crawler.stats.get_value("finish_reason") == "run_replaced":
        raise ClusterError(
            "a new writer opened another run while this worker was in the last one: what it "
            "fetched is written by the new writer; nothing is lost"
        )
    reason = spider.crawler.stats.get_value("finish_reason")
    return CrawlReport(runs, interrupted=reason == "shutdown")


def run_writer(root: Path, sources: list[Source], cluster: Cluster, *, wait: float) -> CrawlReport:
    """The one writer of a scaled-out crawl: open the run, write what the workers send, and
    keep the outcome once they are all gone and the item list is drained."""
    _quiet_scrapy(crawl_settings(root, CrawlOptions()))  # the same log lines as a crawl's
    runs: dict[str, SourceRun] = {}
    archive_error = incomplete = None
    interrupted = False
    with ArchiveWriter(root) as writer:
        writer.remove_stale_temp_files()
        cluster.retire_run()  # we hold the archive's lock: the last writer is gone
        archive_error = _drain_leftovers(writer, cluster)
        for source in sources:
            runs[source.name] = _source_run(writer.index, source, CrawlOptions())
        run_id = cluster.open_run(
            {
                name: Catalog(run.archived, run.retry_payloads, run.validators)
                for name, run in runs.items()
            }
        )
        reporters: set[str] = set()
        touched: set[str] = set()  # sources some worker crawled
        gone_since = None
        try:
            while archive_error is None:
                cluster.writer_beat(run_id)
                item = cluster.pop_item(timeout=0.5)
                if item is not None:
                    archive_error = _take(writer, runs, reporters, item)
                    touched.add(item.shelf.source if isinstance(item, Article) else item.source)
                    continue
                if cluster.workers():
                    gone_since = None
                    continue
                if cluster.run().get("seeded") == "1" and not cluster.queued():
                    if not cluster.items_waiting():
                        break
                    continue
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since >= wait:
                    seeded = cluster.run().get("seeded") == "1"
                    incomplete = (
                        f"no worker came within {wait:g} s"
                        if not seeded
                        else f"the workers are gone with {cluster.queued()} requests queued"
                    )
                    break
        except KeyboardInterrupt:
            interrupted = True
        except ClusterError as exc:  # Redis is gone: what was written stays
            incomplete = str(exc)
        try:
            cluster.close_run()
            lost = sorted(cluster.members() - reporters)
        except ClusterError as exc:
            incomplete, lost = incomplete or str(exc), []
        if lost and not incomplete:
            incomplete = (
                f"worker(s) {', '.join(lost)} stopped without reporting (killed?): what they "
                "had in flight is asked for again next run"
            )
        crawled = [run for run in runs.values() if run.name in touched]
        for run in crawled:
            if incomplete or interrupted or archive_error:
                run.new_validators = None  # a 304 next time could hide an entry
            _keep_outcome(writer.index, run)
    return CrawlReport(crawled, archive_error, interrupted, incomplete)


def _drain_leftovers(writer: ArchiveWriter, cluster: Cluster) -> str | None:
    """Items a writer killed mid-run never wrote: written now, before the next run opens
    (the workers' reports went with that run)."""
    while (item := cluster.pop_item()) is not None:
        if not isinstance(item, Report):
            try:
                _store(writer, item)
            except (OSError, sqlite3.Error, ArchiveError) as exc:
                return f"cannot write to the archive: {exc}"
    return None


def _take(
    writer: ArchiveWriter, runs: dict[str, SourceRun], reporters: set[str], item
) -> str | None:
    """One item from a worker into the archive; an error message if the archive refuses."""
    source = item.shelf.source if isinstance(item, Article) else item.source
    run = runs.get(source)
    if run is None:
        log.warning("%s: not a source of the writer's feeds.yaml: item dropped", source)
        return None
    if isinstance(item, Report):
        reporters.add(item.worker)
        run.counts.update(item.counts)
        run.error = run.error or item.error
        run.failed_items.extend(FailedItem(*failed) for failed in item.failed)
        run.skipped.extend(item.skipped)
        if item.validators:
            run.new_validators = item.validators
        return None
    try:
        result = _store(writer, item)
    except (OSError, sqlite3.Error, ArchiveError) as exc:
        log.error("cannot write to the archive: %s", exc)
        return f"cannot write to the archive: {exc}"
    if result is not None:
        run.count(result.status)
    return None


def _store(writer: ArchiveWriter, item: Article | Pending | Settled):
    """Write an article (its WriteResult), or note a Pending or Settled (None)."""
    if isinstance(item, Pending | Settled):
        writer.note(item)
        return None
    return writer.write(item)


@dataclass
class FetchReport:
    run: SourceRun
    written: list[tuple[str, str | bytes]]
    archive_error: str | None = None


def run_fetch(
    root: Path, targets: list[FetchTarget], options: CrawlOptions, *, preview: bool = False
) -> FetchReport:
    """Fetch each URL once into `root` (or, previewing, only render it)."""
    run = SourceRun(Source(name="fetch", site="-", category="-", type="fetch"), limit=10**9)
    spider = run_spider(
        root,
        options,
        preview=preview,
        runs=[run],
        navigators=[UrlFetch(run, target) for target in targets],
    )
    return FetchReport(run, spider.written, spider.archive_error)


def _source_run(index: ProvenanceIndex, source: Source, options: CrawlOptions) -> SourceRun:
    shelf = source.shelf
    image_retries = [
        ImageRetry(shelf, item_id, page_url, tuple(urls))
        for item_id, page_url, urls in index.image_retries(source.name, MAX_ATTEMPTS)
    ]
    return SourceRun(
        source=source,
        archived=frozenset(index.ids(source.name)),
        limit=options.limit or source.limit,
        pages=options.pages or source.pages,
        refresh=options.refresh,
        retry_payloads=index.retry_payloads(source.name),
        validators=index.validators(source.name, source.url) if source.url else {},
        image_retries=image_retries if shelf.images else [],
    )


def _keep_outcome(index: ProvenanceIndex, run: SourceRun) -> None:
    """Remember failed items for the next run, giving up on those that keep failing; keep a
    feed's validators only when all of it is archived (a 304 must not hide a lost entry)."""
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    index.record_crawl(run.name, finished, dict(run.counts), run.error)
    if run.new_validators and not run.error and not run.failed_items:
        index.set_validators(
            run.name,
            run.source.url,
            run.new_validators["etag"],
            run.new_validators["last_modified"],
        )
    for item_id in run.skipped:
        index.drop_retry(run.name, item_id)
    for failed in run.failed_items:
        attempts = index.note_failure(
            run.name, failed.item_id, failed.url, failed.payload, failed.reason
        )
        if attempts >= MAX_ATTEMPTS:
            index.drop_retry(run.name, failed.item_id)
            log.warning("%s: %s: failed %d runs in a row, given up", run.name, failed.url, attempts)


def _quiet_scrapy(settings: Settings) -> None:
    """Warnings (and our progress on a terminal) only: cron mail stays short."""
    level = logging.getLevelName(settings.get("LOG_LEVEL", "WARNING"))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=level)
    for name in ("scrapy", "twisted", "py.warnings", "filelock", "asyncio"):
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
