"""One crawl of some sources into one archive: Scrapy in, a report out."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from .config import ConfigError, Source
from .errors import CrawlError
from .interrupt import stop_at_once_on_signals
from .items import Article
from .network import describe
from .pipelines.archive import ARCHIVE_FAILED, ITEM_ARCHIVED, ITEM_PREVIEWED, ITEM_REFUSED
from .progress import CLEAR
from .spiders.archive import ArchiveSpider
from .spiders.base import SourceRun
from .spiders.check import CHECKERS, Health
from .spiders.fetch import FetchTarget, UrlFetch
from .spiders.recheck import COUNTS as RECHECK_COUNTS
from .spiders.recheck import Due, Recheck
from .store import Record, WriteResult
from .store.archive import Archive
from .store.search import plain_text
from .store.session import ArchiveSession, Finish
from .store.template import safe_markup
from .store.writer import WRITE_ERRORS

OUTCOMES = ("new", "updated", "unchanged", "failed")
EXTRA_OUTCOMES = ("unrecognized", "skipped", "given up")  # shown when there are any
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
        if name in RUN_SETTINGS:
            raise ConfigError(f"{place}: set by the crawler itself, not a setting to change")
        default = defaults.get(name)
        values[name] = _typed(place, text, default) if type(default) in _KINDS else text
        if name == "LOG_LEVEL" and not isinstance(logging.getLevelName(text.upper()), int):
            raise ConfigError(f"{place}={text!r}: not a log level (DEBUG, INFO, WARNING, ERROR)")
    return values


# What run_spider and crawl_settings set for each run (the archive, the session, the sources).
RUN_SETTINGS = {"ARCHIVE_ROOT", "ARCHIVE_SESSION", "ARCHIVE_PREVIEW", "ARCHIVE_PRIVATE_SOURCES"}
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


def run_crawl(archive: Archive, sources: list[Source], options: CrawlOptions) -> CrawlReport:
    """Crawl `sources` into the archive (opened by Archive.write) through one session."""
    session = archive.session(apart=True)
    try:
        runs = [source_run(session, source, options) for source in sources]
        ran = run_spider(archive.root, options, runs=runs, session=session) if runs else None
        if ran is not None and ran.reason != "finished":
            for run in runs:  # interrupted or stopped: a 304 next time could hide an entry
                run.new_validators = None
        finish_error = finished(session, runs)
    finally:
        archive_error = closed(session)
    archive_error = finish_error or archive_error
    if ran is None:
        return CrawlReport(runs, archive_error)
    return CrawlReport(runs, ran.archive_error or archive_error, ran.reason == "shutdown")


def finished(session: ArchiveSession, runs: list[SourceRun]) -> str | None:
    """Each source's outcome kept (finish); why the archive could not keep them, if it
    could not (the summary still says what was done)."""
    try:
        for run in runs:
            finish(session, run)
    except WRITE_ERRORS as exc:
        return f"cannot write to the archive: {exc}"
    return None


def closed(session: ArchiveSession) -> str | None:
    """Close the session; why the archive could not take its last writes (full, read-only),
    for the summary that still says what was done."""
    try:
        session.close()
    except WRITE_ERRORS as exc:
        return f"cannot write to the archive: {exc}"
    return None


@dataclass
class Ran:
    """One Scrapy run, and what its pipelines said of it (their signals)."""

    runs: dict[str, SourceRun]
    crawler: Crawler | None = None
    written: list[tuple[str, str | bytes]] = field(default_factory=list)  # (status, path|file)
    archive_error: str | None = None  # the archive could not be written: the crawl stopped

    @property
    def spider(self) -> ArchiveSpider:
        return self.crawler.spider

    @property
    def reason(self) -> str:
        return self.crawler.stats.get_value("finish_reason")

    def listen(self, signals) -> None:
        signals.connect(self._archived, ITEM_ARCHIVED)
        signals.connect(self._previewed, ITEM_PREVIEWED)
        signals.connect(self._refused, ITEM_REFUSED)
        signals.connect(self._failed, ARCHIVE_FAILED)

    def _archived(self, result: WriteResult) -> None:
        if run := self.runs.get(result.source):
            run.count(result.status)
        self.written.append((result.status, str(result.path)))

    def _previewed(self, item: Article, data: bytes) -> None:
        self.written.append(("preview", data))

    def _refused(self, item, reason: str) -> None:
        refused(self.runs.get(item.source), item, reason)

    def _failed(self, reason: str) -> None:
        self.archive_error = self.archive_error or reason


def refused(run: SourceRun | None, item, reason: str) -> None:
    """The archive refused this item alone: an article of a source in this run fails (it is
    asked for again next run); of anything else, a warning says so."""
    if isinstance(item, Article) and run is not None:
        run.refused(item, reason)
    else:
        log.warning("%s: %s", item.source, reason)


def run_spider(
    root: Path | None,
    options: CrawlOptions,
    *,
    runs: list[SourceRun],
    preview: bool = False,
    session: ArchiveSession | None = None,
    extra_settings: dict[str, object] | None = None,
    **spider_kwargs,
) -> Ran:
    """Run the archive spider over `runs` to its end in this process, writing through
    `session`; Scrapy's reactor runs once."""
    settings = crawl_settings(root, options, extra_settings)
    settings.set("ARCHIVE_PREVIEW", preview, priority="project")
    private = [run.name for run in runs if run.source.allow_private]
    settings.set("ARCHIVE_PRIVATE_SOURCES", private, priority="project")
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
    # The one open session, set on the crawler's own settings (never copied again, unlike the
    # process's), above the process's own values, which `crawl` merges in under it.
    crawler.settings.set("ARCHIVE_SESSION", session, priority="cmdline")
    ran = Ran({run.name: run for run in runs}, crawler)
    ran.listen(crawler.signals)
    failures = []
    process.crawl(crawler, runs=runs, **spider_kwargs).addErrback(failures.append)
    with collecting_for_a_run(), stop_at_once_on_signals(crawler):
        process.start(install_signal_handlers=False)
    if failures:
        failure = failures[0]
        raise CrawlError(f"the crawl could not run: {describe(failure)}")
    return ran


@contextmanager
def collecting_for_a_run() -> Iterator[None]:
    """The garbage collector set for a reactor's run (issue 32: its passes took 0.7 of the
    crawl process's 5 CPU-s at 1,000 articles, now 0.1). What exists by now (modules, Scrapy's
    components, the sources) outlives the run: frozen, the full passes skip it. Scrapy makes
    and drops thousands of objects a response: the youngest generation is collected every
    10,000 allocations, not 700. Both undone after (a process that runs again collects as
    before)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class RecheckReport(CrawlReport):
    """A recheck's report: a crawl's, each source's line saying what its articles came to."""

    SAID = {"updated": "edited"}  # a rewritten post, to a recheck, is an edit

    def lines(self) -> list[str]:
        lines = []
        for run in self.runs:
            asked = sum(run.counts[k] for k in RECHECK_COUNTS)
            counts = ", ".join(f"{run.counts[k]} {self.SAID.get(k, k)}" for k in RECHECK_COUNTS)
            failed = f"; source failed: {run.error}" if run.error else ""
            lines.append(f"{run.name}: {asked} rechecked: {counts}{failed}")
        return lines or ["nothing to recheck"]


def run_recheck(
    archive: Archive, sources: list[Source], options: CrawlOptions, *, days: int, budget: int
) -> RecheckReport:
    """`crawler recheck`: up to `budget` archived articles of `sources` dated in the last
    `days` days asked for again (the longest unchecked first), in one archive session."""
    session = archive.session(apart=True)
    archive_error, ran, runs = None, None, []
    try:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        due: dict[str, list[Due]] = {}
        for record, validators in session.due_checks([s.name for s in sources], since, budget):
            due.setdefault(record.source, []).append(_due(record, validators))
        runs = [SourceRun(source, limit=budget) for source in sources if source.name in due]
        navigators = [Recheck(run, due[run.name]) for run in runs]
        if runs:
            ran = run_spider(
                archive.root, options, runs=runs, navigators=navigators, session=session
            )
            for run in runs:
                if run.answers == 0:
                    run.fail("no request was answered (its host or the proxy is down)")
    finally:
        archive_error = closed(session)
    if ran is None:
        return RecheckReport(runs, archive_error)
    return RecheckReport(runs, ran.archive_error or archive_error, ran.reason == "shutdown")


def _due(record: Record, validators: dict[str, str]) -> Due:
    return Due(
        item_id=record.item_id,
        url=record.url,
        title=record.title,
        date=None if record.date_guessed else datetime.fromisoformat(record.date),
        author=record.author,
        keywords=record.keywords,
        validators=validators,
    )


@dataclass
class FetchReport:
    run: SourceRun
    written: list[tuple[str, str | bytes]]
    archive_error: str | None = None
    interrupted: bool = False


def run_fetch(
    archive: Archive,
    targets: list[FetchTarget],
    options: CrawlOptions,
    *,
    preview: bool = False,
    allow_private: bool = False,
) -> FetchReport:
    """Fetch each URL once into the archive (opened by Archive.write; previewing, only render
    it); links found in what they hold may lead to private hosts only with `allow_private`."""
    source = Source(name="fetch", site="-", category="-", type="fetch", allow_private=allow_private)
    run = SourceRun(source, limit=10**9)
    navigators = [UrlFetch(run, target) for target in targets]
    if preview:
        ran = run_spider(archive.root, options, preview=True, runs=[run], navigators=navigators)
        return FetchReport(run, ran.written, ran.archive_error, ran.reason == "shutdown")
    session = archive.session(apart=True)
    try:
        ran = run_spider(archive.root, options, runs=[run], navigators=navigators, session=session)
    finally:
        archive_error = closed(session)
    return FetchReport(
        run, ran.written, ran.archive_error or archive_error, ran.reason == "shutdown"
    )


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
    ran = run_spider(
        None, options, extra_settings={"ITEM_PIPELINES": {}}, runs=runs, navigators=checkers
    )
    return healths, ran.reason == "shutdown"


def source_run(session: ArchiveSession, source: Source, options: CrawlOptions) -> SourceRun:
    """A source's part of this crawl, from where the archive says it stands."""
    start = session.start(source.shelf, source.url, refresh=options.refresh)
    return SourceRun(
        source=source,
        archived=start.archived,
        given_up=start.given_up,
        limit=options.limit or source.limit,
        pages=options.pages or source.pages,
        refresh=options.refresh,
        retry_payloads=start.retry_payloads,
        validators=start.validators,
        image_retries=start.image_retries,
    )


def finish(session: ArchiveSession, run: SourceRun) -> None:
    """The archive remembers how the source's crawl ended (ArchiveSession.finish). A source
    whose pages were mostly of an unknown layout is failed first (`layout_changed`); one whose
    list failed, or none of whose requests was answered (its host or the proxy was down),
    spends no attempt of its failed articles."""
    run.layout_changed()
    session.finish(
        Finish(
            name=run.name,
            counts=run.counts,
            error=run.error,
            url=run.source.url,
            validators=run.new_validators,
            skipped=run.skipped,
            failed=[(f.item_id, f.url, f.payload, f.reason) for f in run.failed_items],
            given_up=run.given_up,
            counted=not run.error and run.answers != 0,
        )
    )


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
