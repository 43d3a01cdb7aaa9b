"""One crawl of some sources into one archive: Scrapy in, a report out."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .config import ConfigError, Source
from .errors import CrawlError
from .interrupt import stop_at_once_on_signals
from .items import Article, ImageRetry
from .network import describe
from .progress import CLEAR
from .spiders.archive import ArchiveSpider
from .spiders.base import SourceRun
from .spiders.check import CHECKERS, Health
from .spiders.fetch import FetchTarget, UrlFetch
from .store import ArchiveWriter, ProvenanceIndex
from .store.search import plain_text
from .store.template import safe_markup

OUTCOMES = ("new", "updated", "unchanged", "failed")
EXTRA_OUTCOMES = ("unrecognized", "skipped", "given up")  # shown when there are any
MAX_ATTEMPTS = 5  # an article that failed this many runs in a row is given up (for good)
log = logging.getLogger("crawler")


@dataclass(frozen=True)
class CrawlOptions:
    limit: int | None = None
    pages: int | None = None
    refresh: bool = False
    progress: bool = False
    settings: dict[str, object] = field(default_factory=dict)  # checked: run.tuning


@dataclass
class CrawlReport:
    runs: list[SourceRun]
    archive_error: str | None = None  # the archive could not be written: the crawl stopped
    interrupted: bool = False  # stopped by a signal (Ctrl-C, SIGTERM) before the end
    incomplete: str | None = None  # a scaled-out run that lost workers, Redis or its writer

    @property
    def failed_sources(self) -> list[SourceRun]:
        return [run for run in self.runs if run.error]

    def lines(self) -> list[str]:
        lines = []
        for run in self.runs:
            counts = ", ".join(f"{run.counts[k]} {k}" for k in OUTCOMES)
            extra = "".join(f", {run.counts[k]} {k}" for k in EXTRA_OUTCOMES if run.counts[k])
            failed = f"; source failed: {run.error}" if run.error else ""
            lines.append(f"{run.name}: {counts}{extra}{failed}")
        total = ", ".join(f"{sum(r.counts[k] for r in self.runs)} {k}" for k in OUTCOMES)
        failed = len(self.failed_sources)
        return [*lines, f"total: {total}; {failed} of {len(self.runs)} source(s) failed"]


def project_settings() -> Settings:
    """Scrapy's defaults with ours (crawler/settings.py) over them."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


# Tuning by environment (README, "Configuration"): variable → Scrapy setting.
ENVIRONMENT = {
    "CRAWLER_DOWNLOAD_TIMEOUT": "DOWNLOAD_TIMEOUT",
    "CRAWLER_CONCURRENCY_PER_DOMAIN": "CONCURRENT_REQUESTS_PER_DOMAIN",
    "CRAWLER_MAX_DELAY": "AUTOTHROTTLE_MAX_DELAY",
}


def tuning(overrides: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> dict:
    """The settings a run changes, from the environment then `-s`, each value read as the
    setting's type: a ConfigError naming the place for one that is not, before any request."""
    defaults = project_settings()
    given = [(f"{var}", name, environ[var]) for var, name in ENVIRONMENT.items() if var in environ]
    given += [(f"-s {name}", name, value) for name, value in overrides.items()]
    values: dict[str, object] = {}
    for place, name, text in given:
        default = defaults.get(name)
        values[name] = _typed(place, text, default) if type(default) in _KINDS else text
        if name == "LOG_LEVEL" and not isinstance(logging.getLevelName(text.upper()), int):
            raise ConfigError(f"{place}={text!r}: not a log level (DEBUG, INFO, WARNING, ERROR)")
    return values


_KINDS = {bool: "true or false", int: "a number, 0 or more", float: "a number, 0 or more"}


def _typed(place: str, text: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            return Settings({"value": text}).getbool("value")
        number = float(text)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        kind = _KINDS[type(default)]
        raise ConfigError(f"{place}={text!r}: must be {kind} (default {default!r})")
    return int(number) if number.is_integer() else number


def crawl_settings(
    root: Path | None, options: CrawlOptions, extra: dict[str, object] | None = None
) -> Settings:
    settings = project_settings()
    settings.setdict(extra or {}, priority="project")
    if root is not None:
        settings.set("ARCHIVE_ROOT", str(root), priority="project")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="project")  # ours: quiet_logging
    if options.progress:
        settings.set("LOG_LEVEL", "INFO", priority="project")
        settings.set("PROGRESS_LINE", True, priority="project")
    for name, value in options.settings.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(root: Path, sources: list[Source], options: CrawlOptions) -> CrawlReport:
    """Crawl `sources` into `root`; the caller holds the archive's lock."""
    with ArchiveWriter(root) as writer:
        writer.remove_stale_temp_files()
        runs = [source_run(writer.index, source, options) for source in sources]
    spider = run_spider(root, options, runs=runs) if runs else None
    reason = spider.crawler.stats.get_value("finish_reason") if spider else "finished"
    if reason != "finished":  # interrupted or stopped: a 304 next time could hide an entry
        for run in runs:
            run.new_validators = None
    index = ProvenanceIndex.open(root)
    try:
        for run in runs:
            keep_outcome(index, run)
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
    if preview:  # --stdout keeps no images: no pipeline to say it is disabled
        pipelines = settings.getdict("ITEM_PIPELINES")
        pipelines.pop("crawler.pipelines.images.ImageKeeper", None)
        settings.set("ITEM_PIPELINES", pipelines, priority="project")
    process = CrawlerProcess(settings)
    # after Scrapy's, which it overrides
    quiet_logging(
        settings.get("LOG_LEVEL", "WARNING"), over_progress=settings.getbool("PROGRESS_LINE")
    )
    crawler = process.create_crawler(ArchiveSpider)
    failures = []
    process.crawl(crawler, **spider_kwargs).addErrback(failures.append)
    with stop_at_once_on_signals(crawler):
        process.start(install_signal_handlers=False)
    if failures:
        failure = failures[0]
        raise CrawlError(f"the crawl could not run: {describe(failure)}")
    return crawler.spider


@dataclass
class FetchReport:
    run: SourceRun
    written: list[tuple[str, str | bytes]]
    archive_error: str | None = None
    interrupted: bool = False


def run_fetch(
    root: Path,
    targets: list[FetchTarget],
    options: CrawlOptions,
    *,
    preview: bool = False,
    allow_private: bool = False,
) -> FetchReport:
    """Fetch each URL once into `root` (or, previewing, only render it); links found in what
    they hold may lead to private hosts only with `allow_private`."""
    source = Source(name="fetch", site="-", category="-", type="fetch", allow_private=allow_private)
    run = SourceRun(source, limit=10**9)
    spider = run_spider(
        root,
        options,
        preview=preview,
        runs=[run],
        navigators=[UrlFetch(run, target) for target in targets],
    )
    reason = spider.crawler.stats.get_value("finish_reason")
    return FetchReport(run, spider.written, spider.archive_error, reason == "shutdown")


def shown_of(article: Article) -> tuple[int, int]:
    """What a reader would see of the article archived: its body's plain-text length and its
    number of images (check.Measure)."""
    body, images, _ = safe_markup(article)
    return len(plain_text(body)), len(images)


def run_check(sources: list[Source], options: CrawlOptions) -> tuple[list[Health], bool]:
    """`crawler check`: each source's list and newest article read for real, nothing written;
    the Health of each, and whether a signal stopped the check."""
    runs = [SourceRun(source, limit=1) for source in sources]
    healths = [Health(source.name, source.type) for source in sources]
    checkers = [
        CHECKERS[run.source.type](run, health, shown_of)
        for run, health in zip(runs, healths, strict=True)
    ]
    spider = run_spider(
        None, options, extra_settings={"ITEM_PIPELINES": {}}, runs=runs, navigators=checkers
    )
    return healths, spider.crawler.stats.get_value("finish_reason") == "shutdown"


def source_run(index: ProvenanceIndex, source: Source, options: CrawlOptions) -> SourceRun:
    shelf = source.shelf
    image_retries = [
        ImageRetry(shelf, item_id, page_url, tuple(urls))
        for item_id, page_url, urls in index.image_retries(source.name, MAX_ATTEMPTS)
    ]
    return SourceRun(
        source=source,
        archived=frozenset(index.ids(source.name)),
        given_up=frozenset(index.given_up(source.name)),
        limit=options.limit or source.limit,
        pages=options.pages or source.pages,
        refresh=options.refresh,
        retry_payloads=index.retry_payloads(source.name, given_up=options.refresh),
        validators=index.validators(source.name, source.url) if source.url else {},
        image_retries=image_retries if shelf.images else [],
    )


def keep_outcome(index: ProvenanceIndex, run: SourceRun) -> None:
    """Remember failed items for the next run, giving up on those that keep failing; keep a
    feed's validators only when all of it is archived (a 304 must not hide a lost entry). A
    source whose pages were mostly of an unknown layout is failed first (`layout_changed`)."""
    run.layout_changed()
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
    # The source's list failed, or no request of it was answered (its host or the proxy was
    # down): its articles are no worse than they were, and the try costs them nothing.
    counted = not run.error and run.answers != 0
    once = {failed.item_id: failed for failed in run.failed_items}  # one run counts once
    for failed in once.values():
        if failed.item_id in run.given_up:  # a refresh tried it again: given up it stays
            continue
        attempts = index.note_failure(
            run.name, failed.item_id, failed.url, failed.payload, failed.reason, counted=counted
        )
        if attempts >= MAX_ATTEMPTS:
            index.give_up(run.name, failed.item_id)
            log.warning("%s: %s: failed %d runs in a row, given up", run.name, failed.url, attempts)


def quiet_logging(level_name: str, *, over_progress: bool = False) -> None:
    """Warnings (and our progress on a terminal) only: cron mail stays short. Over a live
    progress line, each log line first erases it (the line is drawn again after)."""
    level = logging.getLevelName(level_name)
    prefix = CLEAR if over_progress else ""
    logging.basicConfig(format=f"{prefix}%(asctime)s %(levelname)s %(message)s", level=level)
    for name in ("scrapy", "twisted", "py.warnings", "filelock", "asyncio"):
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
    # A request that failed after its retries is said once, by the source or item it was for.
    logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
    # Certificates are not verified (Scrapy's default): a host whose certificate does not
    # match (a TLS-inspecting proxy) is said once per run, not at every handshake.
    tls = logging.getLogger("scrapy.core.downloader.tls")
    if not any(isinstance(f, _Once) for f in tls.filters):
        tls.addFilter(_Once())


class _Once(logging.Filter):
    """Lets each distinct message through once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True
