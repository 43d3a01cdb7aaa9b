"""Keep each article: write it to the archive and count what happened."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from ..items import Article, ImageRetry, Pending, Settled
from ..spiders.base import stop_crawl
from ..store import ArchiveError, ArchiveWriter
from ..store.template import render_article

log = logging.getLogger("crawler")


class ArchivePipeline:
    def __init__(self, root: Path, crawler):
        self.root = root
        self.crawler = crawler
        self.preview = crawler.settings.getbool("ARCHIVE_PREVIEW")
        self.writer: ArchiveWriter | None = None

    @classmethod
    def from_crawler(cls, crawler):
        root = crawler.settings.get("ARCHIVE_ROOT")
        if not root:
            raise NotConfigured("ARCHIVE_ROOT is not set")
        return cls(Path(root), crawler)

    def open_spider(self) -> None:
        if not self.preview:
            self.writer = ArchiveWriter(self.root)

    def close_spider(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def process_item(self, item):
        spider = self.crawler.spider
        if isinstance(item, Pending | Settled):
            if not self.preview and not spider.archive_error:
                self._keep(self.writer.note, item)
            return item
        if isinstance(item, ImageRetry):
            if not self.preview and not spider.archive_error:
                self._keep(self.writer.relink, item)
            return item
        article = item if isinstance(item, Article) else Article(**ItemAdapter(item).asdict())
        if self.preview:  # --stdout: the file as it would be, nothing written
            spider.written.append(("preview", render_article(article)))
            return item
        if spider.archive_error:
            return item  # the archive cannot be written: the crawl is stopping
        result = self._keep(self.writer.write, article)
        if result is None:
            return item
        self.crawler.stats.inc_value(f"archive/{result.status}")
        if run := spider.runs.get(article.shelf.source):
            run.count(result.status)
        spider.written.append((result.status, str(result.path)))
        if result.status != "unchanged":
            log.info(
                "%s: %s %s",
                article.shelf.source,
                result.status,
                result.path.relative_to(self.writer.root),
            )
        return item

    def _keep(self, write, item):
        """A write; when the archive cannot take it, the crawl stops (None)."""
        try:
            return write(item)
        except (OSError, sqlite3.Error, ArchiveError) as exc:
            spider = self.crawler.spider
            spider.archive_error = f"cannot write to the archive: {exc}"
            log.error("%s", spider.archive_error)
            stop_crawl(self.crawler, "archive_error")
            return None
