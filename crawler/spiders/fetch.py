"""One-off fetches: a URL is a Sina article, a feed, or any other article page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import scrapy
from scrapy.http import Response

from ..extract.feed import FeedError, entry_article, parse_feed
from ..extract.page import generic_article, is_sina, looks_like_feed
from ..extract.sina_article import no_article_reason, read_page, sina_article
from ..items import Shelf
from ..network import TYPED, content_type
from .base import Navigator, SourceRun


@dataclass(frozen=True)
class FetchTarget:
    url: str
    sina_shelf: Shelf  # where a Sina article goes
    shelf: Shelf | None  # --source or --category/--site/--name: where everything else goes
    zone: ZoneInfo

    def feed_shelf(self, feed_title: str) -> Shelf:
        """`订阅/<title>/<title>`: the writer makes each name inert (docs/FORMAT.md, CATEGORY),
        and the folders are those names' STEMs, so the folders and categories agree."""
        title = feed_title.strip() or "feed"
        return self.shelf or Shelf(category="订阅", site=title, name=title)


class UrlFetch(Navigator):
    def __init__(self, run: SourceRun, target: FetchTarget):
        super().__init__(run)
        self.target = target

    def start(self) -> Iterable[scrapy.Request]:
        yield scrapy.Request(
            self.target.url,
            callback=self.parse,
            errback=self.list_failed,
            dont_filter=True,
            meta={TYPED: self.target.url},
        )

    def parse(self, response: Response):
        media_type = content_type(response)
        fetched = datetime.now(UTC)
        if looks_like_feed(response.body, media_type):
            headers = {"Content-Type": media_type}
            try:
                feed = parse_feed(response.body, response.url, headers, self.target.zone)
            except FeedError as exc:
                self.run.fail(f"{response.url}: {exc}")
                return
            shelf = self.target.feed_shelf(feed.title)
            for entry in feed.entries:
                yield entry_article(entry, response.url, fetched).filed(shelf)
        elif is_sina(response.url):
            shelf = self.target.shelf or self.target.sina_shelf
            page = read_page(response.body, response.url, media_type)
            article = sina_article(page, fetched_at=fetched)
            if article is None:
                self.run.fail(f"{response.url}: {no_article_reason(page)}")
                return
            yield article.filed(shelf)
        elif self.target.shelf is None:
            self.run.fail(
                f"{response.url}: not a Sina page nor a feed: give --source, or "
                "--category, --site and --name"
            )
        else:
            article = generic_article(
                response.body,
                response.url,
                media_type,
                self.target.zone,
                fetched,
            )
            if article is None:
                self.run.fail(f"{response.url}: no article found in the page")
                return
            yield article.filed(self.target.shelf)
