"""`crawler recheck`: archived articles asked for again, each found unchanged, edited (its post
written anew, the earlier version kept) or taken down by the source."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from ..extract.sina_article import read_page, sina_article
from ..extract.sina_roll import RollItem
from ..extract.takedown import GONE_STATUSES, gone_page, gone_redirect, gone_status
from ..items import Checked
from ..network import content_type, describe
from .base import Navigator, log

COUNTS = ("unchanged", "updated", "taken down", "failed")  # what a recheck's summary says


@dataclass(frozen=True)
class Due:
    """An archived article to ask for again: what its record says, and the validators its
    page answered with last time (ETag, Last-Modified)."""

    item_id: str
    url: str
    title: str
    date: datetime | None
    author: str
    keywords: tuple[str, ...]
    validators: dict[str, str]


class Recheck(Navigator):
    """Each due article of one source, asked for conditionally (within the crawl's
    politeness): a 304 is unchanged; a 404 or 410, a redirect to a home or error page, or a
    page that says it is gone is taken down; a Sina page read again is archived as an
    article (the writer says unchanged, or updated with the earlier version kept). A feed's
    entry page only tells whether it is there: its content is the feed's."""

    def __init__(self, run, due: list[Due]):
        super().__init__(run)
        self.due = due

    def start(self) -> Iterable[scrapy.Request]:
        for due in self.due:
            headers = {}
            if etag := due.validators.get("etag"):
                headers["If-None-Match"] = etag
            if modified := due.validators.get("last_modified"):
                headers["If-Modified-Since"] = modified
            yield scrapy.Request(
                due.url,
                headers=headers,
                callback=self.parse_page,
                errback=self.page_failed,
                cb_kwargs={"due": due},
                meta={"handle_httpstatus_list": [304, *GONE_STATUSES]},
                dont_filter=True,
            )

    def parse_page(self, response: Response, due: Due) -> Iterable[Any]:
        now = datetime.now(UTC)
        validators = {
            "etag": response.headers.get("ETag", b"").decode("latin-1"),
            "last_modified": response.headers.get("Last-Modified", b"").decode("latin-1"),
        }
        if response.status == 304:
            self.run.count("unchanged")
            yield Checked(self.run.name, due.item_id, now, **due.validators, present=True)
            return
        gone = gone_status(response.status) or gone_redirect(due.url, response.url)
        article = None
        if gone is None and self.run.source.type == "sina":
            page = read_page(response.body, response.url, content_type(response))
            article = sina_article(page, _roll(due), now)
            if article is None:
                gone = gone_page(page.html)
        elif gone is None:
            gone = gone_page(getattr(response, "text", ""))
        if gone is not None:
            self.run.count("taken down")
            log.warning("%s: %s: taken down (%s)", self.run.name, due.url, gone)
            notice = self.run.source.takedown_notice
            yield Checked(self.run.name, due.item_id, now, **validators, gone=gone, notice=notice)
            return
        if article is not None:  # counted by the archive: unchanged or updated
            yield article.filed(self.run.source.shelf)
        elif self.run.source.type == "sina":
            self.run.count("failed")
            log.warning("%s: %s: no article in the page, the post kept", self.run.name, due.url)
            yield Checked(self.run.name, due.item_id, now, **validators)
            return
        else:
            self.run.count("unchanged")
        yield Checked(self.run.name, due.item_id, now, **validators, present=True)

    def page_failed(self, failure: Failure) -> Iterable[Any]:
        due: Due = failure.request.cb_kwargs["due"]
        self.run.count("failed")
        log.warning("%s: %s: %s (checked again later)", self.run.name, due.url, describe(failure))
        yield Checked(self.run.name, due.item_id, datetime.now(UTC), **due.validators)


def _roll(due: Due) -> RollItem:
    """The roll item the article was archived from, as its record keeps it: read again, the
    page is the article's with the roll's title, time, media and keywords (only a change of
    the page itself makes a version)."""
    return RollItem(
        id=due.item_id,
        url=due.url,
        title=due.title,
        intime=int(due.date.timestamp()) if due.date else None,
        media=due.author,
        keywords=due.keywords,
    )
