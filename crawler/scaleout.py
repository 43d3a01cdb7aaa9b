"""A crawl across machines: one writer owns the archive (here), each worker runs the archive
spider on a shared Redis queue (worker.py); cluster.py is what they share."""

from __future__ import annotations

import logging
import time

from .cluster import Cluster, Report, SourceStart
from .config import Source
from .errors import ClusterError
from .items import Article, Capture, Pending, Sample, Settled
from .run import CrawlOptions, CrawlReport, finish, quiet_logging, refused, source_run
from .spiders.base import FailedItem, SourceRun
from .store.archive import Archive
from .store.session import ArchiveSession

log = logging.getLogger("crawler")


def run_writer(
    archive: Archive, sources: list[Source], cluster: Cluster, *, wait: float
) -> CrawlReport:
    """The one writer of a scaled-out crawl: open the run, write what the workers send, and
    keep the outcome once they are all gone and the item list is drained."""
    quiet_logging("WARNING")  # the same log lines as a crawl's
    runs: dict[str, SourceRun] = {}
    archive_error = incomplete = None
    interrupted = False
    with archive.session() as session:
        cluster.close_run()  # we hold the archive's lock: the last writer is gone
        archive_error = _drain_leftovers(session, cluster)
        for source in sources:
            runs[source.name] = source_run(session, source, CrawlOptions())
        session.feed(batch=1, on_durable=lambda result: runs[result.source].count(result.status))
        run_id = cluster.open_run(
            {
                name: SourceStart(run.archived, run.retry_payloads, run.validators)
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
                    archive_error = _take(session, runs, reporters, item)
                    touched.add(item.source)
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
            finish(session, run)
    return CrawlReport(crawled, archive_error, interrupted, incomplete)


def _drain_leftovers(session: ArchiveSession, cluster: Cluster) -> str | None:
    """Items a writer killed mid-run never wrote: written now, before the next run opens
    (the workers' reports went with that run)."""
    while (item := cluster.pop_item()) is not None:
        if not isinstance(item, Report) and (error := _store(session, item)):
            return error
    return None


def _take(
    session: ArchiveSession, runs: dict[str, SourceRun], reporters: set[str], item
) -> str | None:
    """One item from a worker into the archive; an error message if the archive refuses."""
    run = runs.get(item.source)
    if run is None:
        log.warning("%s: not a source of the writer's feeds.yaml: item dropped", item.source)
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
    error = _store(session, item, run)
    if error:
        log.error("%s", error)
    return error


def _store(
    session: ArchiveSession,
    item: Article | Pending | Settled | Sample | Capture,
    run: SourceRun | None = None,
) -> str | None:
    """The item into the archive (an article counted by the session's on_durable); the error
    message if the archive cannot be written. An item refused alone fails alone."""
    if isinstance(item, Article) and (item.shelf.images or item.images):
        reason = "kept images cannot be shared through Redis yet (images: keep)"
    else:
        try:
            outcome = session.take(item)
        except Exception as exc:  # full, read-only, or a fault of ours: stop, keep the rest
            return f"cannot write to the archive: {exc}"
        reason = outcome.reason if outcome.status == "refused" else ""
    if reason:
        refused(run, item, reason)
    return None
