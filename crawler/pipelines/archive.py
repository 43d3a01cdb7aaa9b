"""Keep each item: hand it to the crawl's archive session and say what happened.

What happens is told through Scrapy's stats (`archive/<status>`) and these signals, which the
run (run.py) listens to; the pipeline keeps no state on the spider."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from ..interrupt import INTERRUPTED, stop_crawl
from ..items import Article, Capture, Checked, ImageRetry, Pending, Sample, Settled
from ..store import WriteResult
from ..store.process import SessionProcess
from ..store.session import ArchiveSession
from ..store.template import render_article
from ..store.writer import unrenderable

log = logging.getLogger("crawler")

# Signals (sent with crawler.signals.send_catch_log):
ITEM_ARCHIVED = object()  # result=WriteResult: an article's write made durable
ITEM_PREVIEWED = object()  # item=Article, data=bytes: the file it would be (ARCHIVE_PREVIEW)
ITEM_REFUSED = object()  # item, reason: the archive refused this item alone
ARCHIVE_FAILED = object()  # reason: the archive cannot be written; the crawl stops


def session_of(crawler) -> ArchiveSession | SessionProcess | None:
    """The session the run opened for this crawl (ARCHIVE_SESSION), if any."""
    return crawler.settings.get("ARCHIVE_SESSION")


class ArchivePipeline:
    def __init__(self, root: Path, crawler):
        self.root = root
        self.crawler = crawler
        settings = crawler.settings
        self.preview = settings.getbool("ARCHIVE_PREVIEW")
        self.batch = settings.getint("ARCHIVE_BATCH")
        self.max_delay = settings.getfloat("ARCHIVE_MAX_DELAY")
        if self.max_delay <= 0:  # no article waits: each is made durable at once
            self.batch, self.max_delay = 1, 1.0
        self.session: ArchiveSession | SessionProcess | None = None
        self.own_session = False  # opened here (no ARCHIVE_SESSION): closed here too
        self.failed: str | None = None  # why the archive cannot be written, once it cannot
        self.flusher = task.LoopingCall(self._flush_late)
        self.replies: _Replies | None = None  # a SessionProcess's answers, read on the reactor

    @classmethod
    def from_crawler(cls, crawler):
        root = crawler.settings.get("ARCHIVE_ROOT")
        if not root:
            raise NotConfigured("ARCHIVE_ROOT is not set")
        pipeline = cls(Path(root), crawler)
        crawler.signals.connect(pipeline.close_spider, INTERRUPTED)
        return pipeline

    def open_spider(self) -> None:
        if self.preview:
            return
        self.session = session_of(self.crawler)
        if self.session is None:
            self.session = ArchiveSession(self.root)
            self.own_session = True
        self.session.feed(
            batch=self.batch,
            on_durable=self._durable,
            on_refused=self._refused,
            on_failed=self._failed,
        )
        if isinstance(self.session, SessionProcess):  # its outcomes read on the reactor
            from twisted.internet import reactor

            self.replies = _Replies(self.session, self._keep)
            reactor.addReader(self.replies)
            # Pages read in the child too: their answers come through here.
            self.crawler.spider.apart = self.session.apart
        self.flusher.start(self.max_delay, now=False)

    def close_spider(self) -> None:
        """At the end, or at once on Ctrl-C (INTERRUPTED): what is held is made durable."""
        if self.session is None:
            return
        if self.flusher.running:
            self.flusher.stop()
        if self.replies is not None:
            self.replies.stop()
            self.replies = None
            self.crawler.spider.apart = None
        session, self.session = self.session, None  # whatever still arrives is not written
        self._keep(session.close if self.own_session else session.flush)

    @property
    def _writing(self) -> bool:
        """A session is open and the archive has not refused a write (never in preview)."""
        return self.session is not None and self.failed is None

    def _flush_late(self) -> None:
        if self._writing:
            self._keep(self.session.flush, self.max_delay)

    def process_item(self, item):
        if isinstance(item, Pending | Settled | Sample | ImageRetry | Checked | Capture):
            if self._writing:
                self._take(item)
            return item
        article = item if isinstance(item, Article) else Article(**ItemAdapter(item).asdict())
        if self.preview:  # --stdout: the file as it would be, nothing written
            try:
                data = render_article(article)
            except Exception as exc:
                self._refused(article, str(unrenderable(article, exc)))
            else:
                self.crawler.signals.send_catch_log(ITEM_PREVIEWED, item=article, data=data)
            return item
        if self._writing:  # else the archive cannot be written, or the crawl was interrupted
            self._take(article)
        return item

    def _take(self, item) -> None:
        """An item to the session; a SessionProcess tells its outcome later (_refused)."""
        outcome = self._keep(self.session.take, item)
        if outcome is not None and outcome.status == "refused":
            self._refused(item, outcome.reason)

    def _durable(self, result: WriteResult) -> None:
        """A write made durable: counted and shown."""
        self.crawler.stats.inc_value(f"archive/{result.status}")
        self.crawler.signals.send_catch_log(ITEM_ARCHIVED, result=result)
        if result.status != "unchanged" and log.isEnabledFor(logging.INFO):
            rel = result.path.relative_to(self.resolved_root)
            log.info("%s: %s %s", result.source, result.status, rel)

    @cached_property
    def resolved_root(self) -> Path:
        return self.root.resolve()  # once: a realpath is a system call a folder level

    def _keep(self, write, *args):
        """A write; when the archive cannot be written at all, the crawl stops (None)."""
        try:
            return write(*args)
        except Exception as exc:  # full, read-only, or a fault of ours: stop, keep the rest
            self._failed(str(exc))
        return None

    def _failed(self, reason: str) -> None:
        """The archive cannot be written: the crawl stops (the first error says it all)."""
        if self.failed is None:
            self.failed = f"cannot write to the archive: {reason}"
            log.error("%s", self.failed)
            self.crawler.signals.send_catch_log(ARCHIVE_FAILED, reason=self.failed)
            stop_crawl(self.crawler, "archive_error")

    def _refused(self, item, reason: str) -> None:
        self.crawler.stats.inc_value("archive/refused")
        self.crawler.signals.send_catch_log(ITEM_REFUSED, item=item, reason=reason)


class _Replies:
    """A SessionProcess's pipe as the reactor watches it: what the child told, read when it
    is readable (through `keep`: the child lost stops the crawl)."""

    def __init__(self, session: SessionProcess, keep):
        self.session = session
        self.keep = keep
        self.fd = session.fileno()

    def fileno(self) -> int:
        return self.fd

    def doRead(self) -> None:
        self.keep(self.session.pump)
        if self.session.lost is not None:  # the child is gone: nothing more to read
            self.stop()

    def stop(self) -> None:
        from twisted.internet import reactor

        reactor.removeReader(self)

    def connectionLost(self, reason) -> None:
        pass

    def logPrefix(self) -> str:
        return "archive"
