"""The Sina Finance roll: roll pages, then every article not yet archived."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from ..config import Source
from ..extract.sina_article import sina_article
from ..extract.sina_roll import ROLL_REFERER, RollError, RollItem, parse_roll, roll_url
from .base import ArchiveSpider


class SinaRollSpider(ArchiveSpider):
    name = "sina"

    def __init__(self, source: Source, *, retry_items: Iterable[RollItem] = (), **kwargs: Any):
        super().__init__(source, **kwargs)
        self.retry_items = list(retry_items)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for item in self.retry_items:
            if request := self.article_request(item):
                yield request
        yield self.roll_request(1)

    def roll_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(
            roll_url(self.source.lid, page),
            headers={"Referer": ROLL_REFERER},
            callback=self.parse_roll,
            errback=self.list_failed,
            cb_kwargs={"page": page},
            dont_filter=True,
            priority=10,
        )

    def parse_roll(self, response: Response, page: int) -> Iterable[scrapy.Request]:
        try:
            items = parse_roll(response.body)
        except RollError as exc:
            self.fail_source(f"{response.url}: {exc}")
            return
        fresh = 0
        for item in items:
            if item.id in self.archived and not self.refresh:
                self.count("unchanged")
                continue
            fresh += 1
            if request := self.article_request(item):
                yield request
        if items and fresh and page < self.pages and not self.limit_reached:
            yield self.roll_request(page + 1)

    def article_request(self, item: RollItem) -> scrapy.Request | None:
        if not self.take(item.id):
            return None
        return scrapy.Request(
            item.url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"roll": item},
        )

    def parse_article(self, response: Response, roll: RollItem):
        article, page = sina_article(
            response.body,
            response.url,
            response.headers.get("Content-Type", b"").decode("latin-1"),
            self.source.shelf,
            roll,
        )
        if article is None:
            self.skip(response.url, "no article body (a video or slide page?)")
            return
        yield article

    def article_failed(self, failure: Failure) -> None:
        roll: RollItem = failure.request.cb_kwargs["roll"]
        self.fail_item(roll.id, roll.url, roll.__dict__, failure)
