"""A feed: the document (conditionally), then each new entry, or its page with full_text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from ..config import url_problem
from ..errors import one_line
from ..extract.feed import Feed, FeedEntry, FeedError, entry_article, parse_feed
from ..extract.page import page_body
from ..network import TYPED, content_type, describe
from .base import Navigator, log


def feed_of(response: Response, zone) -> Feed:
    """The feed a response holds (its headers tell feedparser the media type and charset);
    FeedError when it holds none."""
    headers = {
        k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()
    }
    return parse_feed(response.body, response.url, headers, zone)


class FeedSource(Navigator):
    def start(self) -> Iterable[scrapy.Request]:
        headers = {}
        if etag := self.run.validators.get("etag"):
            headers["If-None-Match"] = etag
        if modified := self.run.validators.get("last_modified"):
            headers["If-Modified-Since"] = modified
        if self.run.refresh:
            headers = {}
        yield scrapy.Request(
            self.run.source.url,
            headers=headers,
            callback=self.parse_feed,
            errback=self.list_failed,
            dont_filter=True,
            priority=10,
            meta={"handle_httpstatus_list": [304], TYPED: self.run.source.url},
        )

    def parse_feed(self, response: Response):
        if response.status == 304:
            return  # not modified: nothing new, and no failure
        if {"partial", "dataloss"} & set(response.flags):
            self.run.fail(f"{response.url}: incomplete response ({', '.join(response.flags)})")
            return
        try:
            feed = feed_of(response, self.run.source.zone)
        except FeedError as exc:
            self.run.fail(f"{response.url}: {exc}")
            return
        fetched = datetime.now(UTC)
        for entry in feed.entries:
            yield from self.offer(
                entry.id, partial(self.entry_output, entry, response.url, fetched), entry.updated
            )
        if not self.held:  # every entry was taken: the validators may be kept
            self.run.new_validators = {
                "etag": response.headers.get("ETag", b"").decode("latin-1"),
                "last_modified": response.headers.get("Last-Modified", b"").decode("latin-1"),
            }

    def entry_output(self, entry: FeedEntry, feed_url: str, fetched: datetime):
        """The entry as an article, or with `full_text` the request for its page; None when
        it cannot be read (it fails alone)."""
        try:
            return self._entry_output(entry, feed_url, fetched)
        except Exception as exc:
            self.run.fail_item(entry.id, entry.link or feed_url, None, one_line(exc))
            return None

    def _entry_output(self, entry: FeedEntry, feed_url: str, fetched: datetime):
        if self.run.source.full_text and url_problem(entry.link) is None:
            return scrapy.Request(
                entry.link,
                callback=self.parse_page,
                errback=self.page_failed,
                cb_kwargs={"entry": entry},
                # Entries are told apart by id (`take`): two that link, or redirect, to one
                # page must each get an answer, not lose one to the duplicate filter.
                dont_filter=True,
            )
        return entry_article(entry, feed_url, fetched).filed(self.run.source.shelf)

    def item_crashed(self, request: scrapy.Request, reason: str) -> bool:
        entry: FeedEntry | None = request.cb_kwargs.get("entry")
        if entry is not None:
            self.run.fail_item(entry.id, entry.link, None, reason)
        return entry is not None

    def parse_page(self, response: Response, entry: FeedEntry):
        """The entry with its page's body; the feed's own content when that fails."""
        body = page_body(response.body, response.url, content_type(response), entry.title)
        if body is None:
            log.warning(
                "%s: %s: no article found in the page, feed content kept",
                self.run.name,
                response.url,
            )
        article = entry_article(entry, self.run.source.url, datetime.now(UTC), body)
        yield article.filed(self.run.source.shelf)

    def page_failed(self, failure: Failure):
        entry: FeedEntry = failure.request.cb_kwargs["entry"]
        log.warning("%s: %s: %s, feed content kept", self.run.name, entry.link, describe(failure))
        article = entry_article(entry, self.run.source.url, datetime.now(UTC))
        yield article.filed(self.run.source.shelf)
