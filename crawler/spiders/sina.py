"""The Sina Finance roll: roll pages, then every article not yet archived or changed since."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from ..extract.sina_article import ArticleRead, read_article
from ..extract.sina_roll import (
    RollError,
    RollItem,
    parse_roll,
    roll_date,
    roll_referer,
    roll_url,
)
from ..items import Pending, Sample, Settled
from ..network import TYPED, content_type, describe
from .base import Navigator, log

ROLL_PAGE = "roll_page"  # a pending entry that is a roll page, not an article
# An item a list page names: its id, what makes its output, when the source last changed it.
Listed = tuple[str, Callable[[], Any], datetime | None]


def _page_id(page: int) -> str:
    return f"{ROLL_PAGE}:{page}"


class SinaRoll(Navigator):
    def start(self) -> Iterable[scrapy.Request]:
        for payload in self.run.retry_payloads:
            if ROLL_PAGE in payload:
                continue  # a roll page a crawl never read: the resumed walk reaches it
            try:  # the payload is the text state's (anyone's): one not of a roll item is none
                item = RollItem(**{**payload, "keywords": tuple(payload.get("keywords", ()))})
                if not isinstance(item.id, str):
                    raise TypeError(f"not an id: {item.id!r:.40}")
                self.article_request(item)  # a URL it cannot be asked for raises here
            except (TypeError, ValueError) as exc:
                log.warning("%s: a retry that is no roll item, passed over: %s", self.run.name, exc)
                continue
            yield from self.offer(item.id, partial(self.article_request, item))
        yield self.roll_request(1)

    def list_page(self, page: int) -> tuple[str, str]:
        """The URL of the list's page `page` (made from feeds.yaml: typed) and its Referer."""
        source = self.run.source
        return roll_url(source.lid, page, pageid=source.pageid), roll_referer(source.pageid)

    def roll_request(self, page: int) -> scrapy.Request:
        url, referer = self.list_page(page)
        return scrapy.Request(
            url,
            meta={TYPED: url},
            headers={"Referer": referer},
            callback=self.parse_roll,
            errback=self.list_failed,
            cb_kwargs={"page": page},
            dont_filter=True,
            priority=10,
        )

    def listed(self, body: bytes) -> list[Listed]:
        """What one page of the list names: each item's id, what makes its output (here the
        request for its page), and when the source last changed it."""
        return [
            (item.id, partial(self.article_request, item), roll_date(item.mtime))
            for item in parse_roll(body)
        ]

    def parse_roll(self, response: Response, page: int) -> Iterable[Any]:
        try:
            items = self.listed(response.body)
        except RollError as exc:
            self.run.fail(f"{response.url}: {exc}")
            return
        if page > 1:
            yield Settled(self.run.name, (_page_id(page),))
        fresh = sum(
            1
            for item_id, _, modified in items
            if self.run.refresh
            or item_id not in self.run.archived
            or self.run.edited(item_id, modified)
        )
        outputs = []
        for item_id, output, modified in items:
            outputs += self.offer(item_id, output, modified)
        # An all-archived page ends a backfill, unless an earlier run left items or pages
        # behind (it was killed, or failed): then older pages may still hold gaps. While the
        # limit is reached the next page waits for room (items that fail make it), recorded
        # as owed: if no room comes, the next run walks on past pages all archived to it.
        if items and (fresh or self.resuming()):
            if page >= self.run.pages:
                if fresh and not self.run.refresh:
                    self.walked_all(page)
            elif self.run.limit_reached:
                held = self.roll_request(page + 1)
                self.hold(lambda: held)
                outputs.append(self.owed([held]))
            else:
                outputs.append(self.roll_request(page + 1))
        yield from self.recorded(outputs)

    def resuming(self) -> bool:
        """An earlier run left items or pages behind (it was killed, failed, or its limit
        held them): older pages may hold gaps."""
        return bool(self.run.retry_payloads)

    def walked_all(self, pages: int) -> None:
        """The last page the source may read still held new items: a backfill's end."""

    def refill(self) -> Iterable[Any]:
        yield from self.recorded(list(super().refill()))

    def recorded(self, outputs: list[Any]) -> Iterable[Any]:
        """The outputs, their requests recorded before they are made: a crawl stopped now
        asks for them again next run."""
        if pending := self.owed([r for r in outputs if isinstance(r, scrapy.Request)]):
            yield pending
        yield from outputs

    def owed(self, requests: list[scrapy.Request]) -> Pending | None:
        """The requests as owed to the archive (asked for next run unless they are answered):
        a roll page's, or an article's with its roll item."""
        pending = tuple(
            (_page_id(r.cb_kwargs["page"]), r.url, {ROLL_PAGE: r.cb_kwargs["page"]})
            if "page" in r.cb_kwargs
            else (r.cb_kwargs["roll"].id, r.url, dict(r.cb_kwargs["roll"].__dict__))
            for r in requests
        )
        return Pending(self.run.name, pending) if pending else None

    def article_request(self, item: RollItem) -> scrapy.Request:
        return scrapy.Request(
            item.url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"roll": item},
        )

    readers = {"parse_article": read_article}

    def parse_article(self, response: Response, roll: RollItem, read: ArticleRead | None = None):
        media_type = content_type(response)
        read = read or read_article(response.body, response.url, media_type, roll)
        same = read.publish_id
        if same and same != roll.id and (same in self.run.archived or same in self.run.holding):
            # The roll listed the article twice, on two hosts (desktop and mobile, 看点): it is
            # archived once, under the id it was first listed with.
            self.run.page_seen(recognized=True)
            self.run.same_as(roll.id, response.url, same)
            return
        article = read.article
        if article is None:
            self.run.unrecognized(roll.id, roll.url, dict(roll.__dict__), read.reason)
            yield Sample(
                self.run.name, roll.id, response.url, media_type, response.body, datetime.now(UTC)
            )
            return
        self.run.page_seen(recognized=True)
        yield article.filed(self.run.source.shelf)

    def item_crashed(self, request: scrapy.Request, reason: str) -> bool:
        roll: RollItem | None = request.cb_kwargs.get("roll")
        if roll is not None:
            self.run.fail_item(roll.id, roll.url, dict(roll.__dict__), reason)
        return roll is not None

    def article_failed(self, failure: Failure) -> None:
        roll: RollItem = failure.request.cb_kwargs["roll"]
        self.run.fail_item(roll.id, roll.url, dict(roll.__dict__), describe(failure))
