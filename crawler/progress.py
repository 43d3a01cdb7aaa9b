"""On a terminal, one live line says how a crawl is going (a long backfill is no silence)."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

CLEAR = "\r\x1b[K"  # back to the start of the line, and erase it
EVERY = 0.5  # seconds between two updates


class ProgressLine:
    """Scrapy extension (`PROGRESS_LINE`): rewrites one stderr line with the articles done,
    queued and failed and the rate; log lines print above it (see run.quiet_logging)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.draw)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("PROGRESS_LINE"):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.opened, signals.spider_opened)
        crawler.signals.connect(extension.closed, signals.spider_closed)
        return extension

    def opened(self) -> None:
        self.started = time.monotonic()
        self.loop.start(EVERY, now=False)

    def closed(self) -> None:
        if self.loop.running:
            self.loop.stop()
        sys.stderr.write(CLEAR)
        sys.stderr.flush()

    def draw(self) -> None:
        sys.stderr.write(CLEAR + self.status())
        sys.stderr.flush()

    def status(self) -> str:
        runs = self.crawler.spider.runs.values()
        done = sum(run.counts[k] for run in runs for k in ("new", "updated", "unchanged"))
        failed = sum(run.counts["failed"] for run in runs)
        stats = self.crawler.stats
        waiting = stats.get_value("scheduler/enqueued", 0) - stats.get_value(
            "scheduler/dequeued", 0
        )
        queued = waiting + len(self.crawler.engine.downloader.active)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        failing = f", {failed} failed" if failed else ""
        sources = sum(1 for run in runs if run.error)
        broken = f", {sources} source(s) failed" if sources else ""
        return f"{done} done, {queued} queued, {rate:.1f}/s{failing}{broken}"
