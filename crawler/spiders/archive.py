"""One spider for a whole crawl: every source's navigation shares one engine, so
concurrency and per-domain politeness hold across sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy

from .base import Navigator, SourceRun
from .feed import FeedSource
from .sina import SinaRoll

NAVIGATORS: dict[str, type[Navigator]] = {"sina": SinaRoll, "feed": FeedSource}


class ArchiveSpider(scrapy.Spider):
    name = "archive"

    def __init__(
        self, runs: list[SourceRun], navigators: list[Navigator] | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.runs = {run.name: run for run in runs}
        self.navigators = navigators or [NAVIGATORS[run.source.type](run) for run in runs]
        self.written: list[tuple[str, str | bytes]] = []  # (status, path) or ("preview", file)
        self.archive_error: str | None = None  # set when the archive cannot be written

    async def start(self) -> AsyncIterator[Any]:
        for navigator in self.navigators:
            for retry in navigator.run.image_retries:  # to the image pipeline, then the store
                yield retry
            for request in navigator.start():
                yield request
