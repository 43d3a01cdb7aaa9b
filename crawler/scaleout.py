"""A crawl across machines: one writer owns the archive (here), each worker runs the archive
spider on a shared Redis queue (worker.py); cluster.py is what they share."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .cluster import Cluster, Report, SourceStart
from .config import Source
from .errors import ClusterError
from .items import Article, Pending, Sample, Settled
from .run import CrawlOptions, CrawlReport, keep_outcome, quiet_logging, source_run
from .spiders.base import FailedItem, SourceRun
from .store import ArchiveWriter, ItemError

log = logging.getLogger("crawler")


def run_writer(root: Path, sources: list[Source], cluster: Cluster, *, wait: float) -> CrawlReport:
    """The one writer of a scaled-out crawl: open the run, write what the workers send, and
    keep the outcome once they are all gone and the item list is drained."""
    quiet_logging("WARNING")  # the same log lines as a crawl's
    runs: dict[str, SourceRun] = {}
    archive_error = incomplete = None
    interrupted = False
    with ArchiveWriter(root) as writer:
        writer.remove_stale_temp_files()
        cluster.close_run()  # we hold the archive's lock: the last writer is gone
        archive_error = _drain_leftovers(writer, cluster)
        for source in sources:
            runs[source.name] = source_run(writer.index, source, CrawlOptions())
        writer.on_durable = lambda result: runs[result.source].count(result.status)
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
                    archive_error = _take(writer, runs, reporters, item)
                    touched.add(_source_of(item))
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
            keep_outcome(writer.index, run)
    return CrawlReport(crawled, archive_error, interrupted, incomplete)


def _drain_leftovers(writer: ArchiveWriter, cluster: Cluster) -> str | None:
    """Items a writer killed mid-run never wrote: written now, before the next run opens
    (the workers' reports went with that run)."""
    while (item := cluster.pop_item()) is not None:
        if not isinstance(item, Report) and (error := _store(writer, item)):
            return error
    return None


def _take(
    writer: ArchiveWriter, runs: dict[str, SourceRun], reporters: set[str], item
) -> str | None:
    """One item from a worker into the archive; an error message if the archive refuses."""
    run = runs.get(_source_of(item))
    if run is None:
        log.warning("%s: not a source of the writer's feeds.yaml: item dropped", _source_of(item))
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
    error = _store(writer, item, run)
    if error:
        log.error("%s", error)
    return error


def _store(
    writer: ArchiveWriter, item: Article | Pending | Settled | Sample, run: SourceRun | None = None
) -> str | None:
    """Write an article (counted by the writer's on_durable), note a Pending or Settled, or
    keep a Sample; the error message if the archive refuses. An item refused alone fails
    alone."""
    try:
        if isinstance(item, Article) and (item.shelf.images or item.images):
            raise ItemError("kept images cannot be shared through Redis yet (images: keep)")
        if isinstance(item, Sample):
            writer.keep_sample(item)
        elif isinstance(item, Pending | Settled):
            writer.note(item)
        else:
            writer.write(item)
    except ItemError as exc:
        if run is not None:
            run.refused(item, str(exc))
        else:
            log.warning("%s: %s", item.shelf.source, exc)
    except Exception as exc:  # full, read-only, or a fault of ours: stop, keep the rest
        return f"cannot write to the archive: {exc}"
    return None


def _source_of(item: Article | Pending | Settled | Sample | Report) -> str:
    return item.shelf.source if isinstance(item, Article) else item.source
