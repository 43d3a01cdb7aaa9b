"""What every archive spider shares: its source, what is archived, limits, the outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from ..config import Source


@dataclass
class FailedItem:
    item_id: str
    url: str
    payload: dict[str, Any]  # what it takes to request it again next run
    reason: str


class ArchiveSpider(scrapy.Spider):
    """One spider per source. The crawl's outcome is in the crawler's stats (`archive/*`),
    the source's failure in `source_error`, failed items in `failed_items`."""

    def __init__(
        self,
        source: Source,
        *,
        archived: Iterable[str] = (),
        limit: int | None = None,
        pages: int | None = None,
        refresh: bool = False,
        **kwargs: Any,
    ):
        super().__init__(name=f"{self.name}:{source.name}", **kwargs)
        self.source = source
        self.archived = frozenset(archived)
        self.limit = limit or source.limit
        self.pages = pages or source.pages
        self.refresh = refresh
        self.requested: set[str] = set()
        self.source_error: str | None = None
        self.failed_items: list[FailedItem] = []

    @property
    def limit_reached(self) -> bool:
        return len(self.requested) >= self.limit

    def take(self, item_id: str) -> bool:
        """Whether to request this item now: new to this run and within the limit."""
        if item_id in self.requested or self.limit_reached:
            return False
        if item_id in self.archived and not self.refresh:
            return False
        self.requested.add(item_id)
        return True

    def count(self, outcome: str) -> None:
        self.crawler.stats.inc_value(f"archive/{outcome}")

    def fail_source(self, reason: str) -> None:
        self.source_error = self.source_error or reason
        self.logger.error("%s: source failed: %s", self.source.name, reason)

    def list_failed(self, failure: Failure) -> None:
        self.fail_source(f"{failure.request.url}: {describe(failure)}")

    def fail_item(self, item_id: str, url: str, payload: dict[str, Any], failure: Failure) -> None:
        reason = describe(failure)
        self.count("failed")
        self.failed_items.append(FailedItem(item_id, url, payload, reason))
        self.logger.warning("%s: %s: %s (will retry next run)", self.source.name, url, reason)

    def skip(self, url: str, reason: str) -> None:
        self.count("skipped")
        self.logger.warning("%s: %s: %s, skipped", self.source.name, url, reason)


def describe(failure: Failure) -> str:
    """One line for what went wrong with a request."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    return f"{type(failure.value).__name__}: {failure.getErrorMessage()}".strip(": ")
