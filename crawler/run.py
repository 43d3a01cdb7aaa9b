"""One crawl of some sources into one archive: Scrapy in, a report out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .config import Source
from .extract.sina_roll import RollItem
from .spiders.base import ArchiveSpider
from .spiders.sina import SinaRollSpider
from .store import ArchiveWriter, ProvenanceIndex

OUTCOMES = ("new", "updated", "unchanged", "failed")
MAX_ATTEMPTS = 5  # an article that failed this many runs in a row is given up


@dataclass(frozen=True)
class CrawlOptions:
    limit: int | None = None
    pages: int | None = None
    refresh: bool = False
    progress: bool = False
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceReport:
    name: str
    counts: dict[str, int]
    error: str | None = None

    def line(self) -> str:
        counts = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in OUTCOMES)
        skipped = self.counts.get("skipped", 0)
        extra = f", {skipped} skipped" if skipped else ""
        failed = f" — FAILED: {self.error}" if self.error else ""
        return f"{self.name}: {counts}{extra}{failed}"


@dataclass
class CrawlReport:
    sources: list[SourceReport]

    @property
    def failed_sources(self) -> list[SourceReport]:
        return [s for s in self.sources if s.error]

    def lines(self) -> list[str]:
        total = {k: sum(s.counts.get(k, 0) for s in self.sources) for k in OUTCOMES}
        failed = len(self.failed_sources)
        summary = ", ".join(f"{total[k]} {k}" for k in OUTCOMES)
        return [s.line() for s in self.sources] + [
            f"total: {summary}; {failed} of {len(self.sources)} source(s) failed"
        ]


def crawl_settings(root: Path, options: CrawlOptions) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
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
        plans = [(source, _spider_kwargs(writer.index, source, options)) for source in sources]
    settings = crawl_settings(root, options)
    process = CrawlerProcess(settings)
    _quiet_scrapy(settings)  # after Scrapy's own logging set-up, which it overrides
    crawlers = []
    for source, kwargs in plans:
        spider_class = SinaRollSpider if source.type == "sina" else None
        if spider_class is None:
            crawlers.append((source, None))
            continue
        crawler = process.create_crawler(spider_class)
        process.crawl(crawler, source, **kwargs)
        crawlers.append((source, crawler))
    if any(c for _, c in crawlers):
        process.start()
    reports = []
    index = ProvenanceIndex.open(root)
    try:
        for source, crawler in crawlers:
            reports.append(_report(index, source, crawler))
    finally:
        index.close()
    return CrawlReport(reports)


def _spider_kwargs(index: ProvenanceIndex, source: Source, options: CrawlOptions) -> dict:
    kwargs = {
        "archived": index.ids(source.name),
        "limit": options.limit,
        "pages": options.pages,
        "refresh": options.refresh,
    }
    if source.type == "sina":
        kwargs["retry_items"] = [
            RollItem(**{**p, "keywords": tuple(p.get("keywords", ()))})
            for p in index.retry_payloads(source.name)
        ]
    return kwargs


def _report(index: ProvenanceIndex, source: Source, crawler) -> SourceReport:
    if crawler is None:
        return SourceReport(source.name, {}, f"source type {source.type!r} is not supported yet")
    spider: ArchiveSpider | None = crawler.spider
    stats = crawler.stats.get_stats()
    counts = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("archive/")}
    error = spider.source_error if spider else "the spider did not start"
    if spider is not None:
        for failed in spider.failed_items:
            attempts = index.note_failure(
                source.name, failed.item_id, failed.url, failed.payload, failed.reason
            )
            if attempts >= MAX_ATTEMPTS:
                index.drop_retry(source.name, failed.item_id)
                logging.getLogger("crawler").warning(
                    "%s: %s: failed %d runs in a row, given up", source.name, failed.url, attempts
                )
    return SourceReport(source.name, counts, error)


def _quiet_scrapy(settings: Settings) -> None:
    """Warnings (and our progress on a terminal) only: cron mail stays short."""
    level = logging.getLevelName(settings.get("LOG_LEVEL", "WARNING"))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=level)
    for name in ("scrapy", "twisted", "py.warnings", "filelock", "asyncio"):
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
