"""`images: keep`: every image an archived item shows, downloaded by Scrapy's media pipeline
machinery into the archive's image store, before the item is written.

A failed image never holds its item back: the outcome travels on the item to the archive
pipeline, which records it (a failure is asked for again next run). An image already stored
is never downloaded again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.media import MediaPipeline
from twisted.python.failure import Failure

from .. import urls
from ..items import Article, ImageOutcome, ImageRetry
from ..network import ALLOW_PRIVATE, content_type, describe
from ..store import ProvenanceIndex
from ..store.images import ImageError, ImageStore
from ..store.template import Prepared, feed_picture, prepare
from .archive import session_of

log = logging.getLogger("crawler")


def referer_for(image_url: str, page_url: str) -> dict[str, str]:
    """The Referer an image request carries: the article's own URL to the article's own host,
    nothing to any other (Sina's image hosts refuse foreign Referers; none is always safe)."""
    host = urls.netloc(image_url)
    if host and host == urls.netloc(page_url):
        return {"Referer": page_url}
    return {}


class ImageKeeper(MediaPipeline):
    MEDIA_NAME = "image"

    def __init__(self, root: Path, *, crawler):
        super().__init__(crawler=crawler)
        self._handle_statuses(allow_redirects=True)  # image CDNs redirect
        self.root = root
        self.store = ImageStore(root)
        self.maxsize = crawler.settings.getint("ARCHIVE_IMAGES_MAXSIZE")
        # Sources whose hosts may be private (allow_private): their images' hosts too.
        self.private = set(crawler.settings.getlist("ARCHIVE_PRIVATE_SOURCES"))
        self.known: dict[str, str] = {}  # URL → stored path
        self.errors: dict[str, str] = {}  # URL → why its download failed, this run
        self.asked: dict[int, list[str]] = {}  # id(item) → its image URLs, while they load

    @classmethod
    def from_crawler(cls, crawler):
        root = crawler.settings.get("ARCHIVE_ROOT")
        if not root or crawler.settings.getbool("ARCHIVE_PREVIEW"):
            raise NotConfigured("no archive to keep images in")
        return cls(Path(root), crawler=crawler)

    def open_spider(self, spider=None) -> None:
        super().open_spider()
        if (session := session_of(self.crawler)) is not None:
            self.known = session.stored_images()
        elif (index := ProvenanceIndex.open_existing(self.root)) is not None:
            try:
                self.known = index.stored_images()
            finally:
                index.close()

    @staticmethod
    def _wanted(item: Any) -> tuple[list[str], str, Prepared | None]:
        """The image URLs to store for an item, the page they are shown on, and the article's
        body as prepared to find them (the writer uses it: the body is prepared once)."""
        if isinstance(item, Article) and item.shelf.images:
            prepared = prepare(item)
            urls = list(prepared.images) or [p for p in (feed_picture(item),) if p]
            page = item.url
        elif isinstance(item, ImageRetry):
            urls, page, prepared = list(item.urls), item.page_url, None
        else:
            return [], "", None
        urls = [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]
        return urls, page, prepared

    def get_media_requests(self, item: Any, info) -> list[Request]:
        urls, page, prepared = self._wanted(item)
        if urls or prepared:
            self.asked[id(item)] = (urls, prepared)
        meta = {
            "download_maxsize": self.maxsize,
            "download_warnsize": self.maxsize,
            ALLOW_PRIVATE: bool(urls) and item.source in self.private,
        }
        return [
            Request(url, headers=referer_for(url, page), meta=meta, callback=NO_CALLBACK)
            for url in urls
        ]

    def media_to_download(self, request: Request, info, *, item: Any = None):
        path = self.known.get(request.url)
        if path and self.store.holds(path):
            return {"url": request.url, "path": path, "status": "uptodate"}
        return None

    def media_downloaded(self, response, request: Request, info, *, item: Any = None):
        if response.status != 200:
            return self._failed(request.url, f"HTTP {response.status}")
        if {"partial", "dataloss"} & set(response.flags) or not response.body:
            return self._failed(request.url, "incomplete or empty response")
        try:
            path, sha = self.store.put(response.body, content_type(response), request.url)
        except (ImageError, OSError) as exc:
            return self._failed(request.url, str(exc))
        self.known[request.url] = path
        self.crawler.stats.inc_value("images/stored")
        return {"url": request.url, "path": path, "sha256": sha, "status": "downloaded"}

    def media_failed(self, failure: Failure, request: Request, info) -> None:
        # Returning (not raising) keeps Scrapy from logging a traceback per lost picture;
        # the reason reaches item_completed through self.errors.
        self._failed(request.url, describe(failure))

    def _failed(self, url: str, reason: str) -> dict[str, str]:
        self.errors[url] = reason
        self.crawler.stats.inc_value("images/failed")
        log.warning("image %s: %s (will retry next run)", url, reason)
        return {"url": url, "error": reason}

    def file_path(self, request: Request, response=None, info=None, *, item: Any = None) -> str:
        raise NotImplementedError("stored by content: see ImageStore.put")

    def item_completed(self, results, item: Any, info) -> Any:
        urls, prepared = self.asked.pop(id(item), ((), None))
        if not urls and prepared is None:
            return item
        outcomes = []
        for url, (ok, result) in zip(urls, results, strict=True):
            if ok and result and result.get("path"):
                outcomes.append(ImageOutcome(url, result["path"], _sha_of(result["path"])))
            else:
                reason = self.errors.get(url) or (describe(result) if not ok else "failed")
                outcomes.append(ImageOutcome(url, error=reason))
        if prepared is None:  # an ImageRetry
            return replace(item, images=tuple(outcomes))
        return replace(item, images=tuple(outcomes), prepared=prepared)


def _sha_of(path: str) -> str:
    """A stored image's sha256: its file name (content addressing)."""
    return Path(path).stem
