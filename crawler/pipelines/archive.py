"""Keep each article: write it to the archive and count what happened."""

from __future__ import annotations

import logging
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from ..interrupt import INTERRUPTED, stop_crawl
from ..items import Article, ImageRetry, Pending, Sample, Settled
from ..store import ArchiveWriter, ItemError, WriteResult
from ..store.template import render_article
from ..store.writer import unrenderable

log = logging.getLogger("crawler")

BATCH = 64  # articles made durable together: one fsync pass, one index commit
MAX_DELAY = 1.0  # seconds an article may wait for its batch


class ArchivePipeline:
    def __init__(self, root: Path, crawler):
        self.root = root
        self.crawler = crawler
        self.preview = crawler.settings.getbool("ARCHIVE_PREVIEW")
        self.writer: ArchiveWriter | None = None
        self.flusher = task.LoopingCall(self._flush_late)

    @classmethod
    def from_crawler(cls, crawler):
        root = crawler.settings.get("ARCHIVE_ROOT")
        if not root:
            raise NotConfigured("ARCHIVE_ROOT is not set")
        pipeline = cls(Path(root), crawler)
        crawler.signals.connect(pipeline.close_spider, INTERRUPTED)
        return pipeline

    def open_spider(self) -> None:
        if not self.preview:
            self.writer = ArchiveWriter(self.root, batch=BATCH, on_durable=self._durable)
            self.flusher.start(MAX_DELAY, now=False)

    def close_spider(self) -> None:
        """At the end, or at once on Ctrl-C (INTERRUPTED): what is held is made durable."""
        if self.writer is not None:
            if self.flusher.running:
                self.flusher.stop()
            self._keep(self.writer.close)
            self.writer = None  # closed: whatever still arrives is not written

    @property
    def _writing(self) -> bool:
        """A writer is open and the archive has not refused a write (never in preview)."""
        return self.writer is not None and not self.crawler.spider.archive_error

    def _flush_late(self) -> None:
        if self._writing:
            self._keep(self.writer.flush, MAX_DELAY)

    def process_item(self, item):
        spider = self.crawler.spider
        if isinstance(item, Pending | Settled):
            if self._writing:
                self._keep(self.writer.note, item)
            return item
        if isinstance(item, Sample):
            if self._writing:
                self.writer.keep_sample(item)
            return item
        if isinstance(item, ImageRetry):
            if self._writing:
                self._keep(self.writer.relink, item)
            return item
        article = item if isinstance(item, Article) else Article(**ItemAdapter(item).asdict())
        if self.preview:  # --stdout: the file as it would be, nothing written
            try:
                spider.written.append(("preview", render_article(article)))
            except Exception as exc:
                self._refused(article, unrenderable(article, exc))
            return item
        if self._writing:  # else the archive cannot be written, or the crawl was interrupted
            self._keep(self.writer.write, article)
        return item

    def _durable(self, result: WriteResult) -> None:
        """A write made durable: counted and shown."""
        spider = self.crawler.spider
        self.crawler.stats.inc_value(f"archive/{result.status}")
        if run := spider.runs.get(result.source):
            run.count(result.status)
        spider.written.append((result.status, str(result.path)))
        if result.status != "unchanged":
            log.info(
                "%s: %s %s", result.source, result.status, result.path.relative_to(self.writer.root)
            )

    def _keep(self, write, *args):
        """A write. An item the archive refuses fails alone (reported, asked for again next
        run); when the archive cannot be written at all, the crawl stops (None)."""
        try:
            return write(*args)
        except ItemError as exc:
            self._refused(args[0], exc)
        except Exception as exc:  # full, read-only, or a fault of ours: stop, keep the rest
            spider = self.crawler.spider
            if not spider.archive_error:  # the first error says it all
                spider.archive_error = f"cannot write to the archive: {exc}"
                log.error("%s", spider.archive_error)
                stop_crawl(self.crawler, "archive_error")
        return None

    def _refused(self, item, exc: ItemError) -> None:
        run = self.crawler.spider.runs.get(item.shelf.source)
        if isinstance(item, Article) and run is not None:
            run.refused(item, str(exc))
        else:
            log.warning("%s: %s", item.shelf.source, exc)
