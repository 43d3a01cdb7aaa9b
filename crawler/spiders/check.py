"""`crawler check`: each source's list and its newest article, read for real, nothing kept.

A checker asks for what a crawl would (the same requests, the same extraction) but only the
first page of the list and one article, and fills in a Health record instead of yielding
items: nothing reaches the pipelines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from ..config import url_problem
from ..errors import one_line
from ..extract.feed import FeedEntry, FeedError, entry_article
from ..extract.page import read_any_page
from ..extract.sina_article import no_article_reason, read_page, sina_article
from ..extract.sina_live import flash_article, parse_live
from ..extract.sina_media import MEDIA_PAGES, media_kind
from ..extract.sina_roll import RollError, RollItem, parse_roll
from ..items import Article
from ..network import TYPED, content_type, describe
from .base import Navigator
from .feed import feed_of
from .live import SinaLive
from .sina import SinaRoll

# What a reader would see of an article once archived: the plain-text length of its body
# and its number of images. The store knows (run.py passes it in): spiders do not import it.
Measure = Callable[[Article], tuple[int, int]]


@dataclass
class Health:
    """What `crawler check` found for one source."""

    source: str
    type: str
    list_url: str = ""
    listed: int = 0  # items on the roll page, entries in the feed
    article_url: str = ""
    family: str | None = None  # Sina: the layout family of the article's page ("?": none)
    title: str = ""
    date: str | None = None  # ISO, UTC
    date_origin: str = ""  # roll time, page meta, page, feed, guessed
    body_chars: int = 0  # what a reader sees of the archived body
    images: int = 0
    author: str = ""
    keywords: list[str] = field(default_factory=list)
    # Sina: every kind of item the roll's page lists (article, slides, video) → the URL of
    # its newest, read too: a problem of one is named by its kind.
    kinds: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """One line for people: the verdict, then what was found, then where."""
        verdict = "ok" if self.healthy else f"DEGRADED: {'; '.join(self.problems)}"
        found = []
        if self.family:
            found.append(f"family {self.family}")
        if self.title or self.body_chars:
            title = self.title if len(self.title) <= 40 else self.title[:39] + "…"
            found += [
                f"title {title!r}",
                f"date {self.date or 'none'} ({self.date_origin})",
                f"body {self.body_chars} chars, {self.images} images",
                f"author {self.author or 'none'}",
                f"keywords {', '.join(self.keywords) or 'none'}",
            ]
        if len(self.kinds) > 1:
            found.append(f"kinds read {', '.join(self.kinds)}")
        where = self.article_url or self.list_url
        return f"{self.source}: {verdict}" + "".join(f"; {f}" for f in found) + f" — {where}"

    def record(self) -> dict:
        """One JSON object for scripts."""
        return {"healthy": self.healthy, **asdict(self)}

    def found(self, article: Article, date_origin: str, shown: tuple[int, int]) -> None:
        """The newest article, as the archive would have it (`shown`: see Measure)."""
        self.article_url = article.url
        self.title = article.title
        self.date = None if article.date_guessed else article.date.astimezone(UTC).isoformat()
        self.date_origin = "guessed" if article.date_guessed else date_origin
        self.body_chars, self.images = shown
        self.author = article.author
        self.keywords = list(article.keywords)
        if not self.title.strip():
            self.problems.append("no title")
        if article.date_guessed:
            self.problems.append("no date")
        if not self.body_chars and not (self.family in MEDIA_PAGES and self.images):
            self.problems.append("no body text")  # a slide album may be pictures alone


class _Checker(Navigator):
    """A navigator whose outcome is a Health record: whatever goes wrong is a problem of it."""

    def __init__(self, run, health: Health, measure: Measure):
        super().__init__(run)
        self.health = health
        self.measure = measure

    def found(self, article: Article, date_origin: str) -> None:
        """The newest article, on the source's shelf (what the archive would show of it)."""
        article = article.filed(self.run.source.shelf)
        self.health.found(article, date_origin, self.measure(article))

    def crashed(self, request: scrapy.Request | None, exc: Exception) -> None:
        where = request.url if request is not None else "start"
        self.health.problems.append(f"{where}: {one_line(exc)}")


class _ListCheck(_Checker):
    """A checker of a paged list (a SinaRoll's): its page 1, asked for as a crawl would."""

    list_name = "roll"  # what the list is called in its problems

    def start(self) -> Iterable[scrapy.Request]:
        request = self.roll_request(1)
        self.health.list_url = request.url
        yield request

    def list_failed(self, failure: Failure) -> None:
        self.health.problems.append(f"{self.list_name} unreadable: {describe(failure)}")


class SinaCheck(_ListCheck, SinaRoll):
    """The roll's page 1, then its newest item, and the newest of every other kind it lists
    (article, slides, video pages): each is extracted as a crawl would."""

    readers = {}  # its parse_article reads its page itself (a check has no archive)

    def parse_roll(self, response: Response, page: int) -> Iterable[scrapy.Request]:
        try:
            items = parse_roll(response.body)
        except RollError as exc:
            self.health.problems.append(f"roll unreadable: {exc}")
            return
        self.health.listed = len(items)
        if not items:
            self.health.problems.append("the roll lists no article")
            return
        for item in items:
            kind = media_kind("", item.url) or "article"
            if kind not in self.health.kinds:
                self.health.kinds[kind] = item.url
                yield self._article(item, kind, newest=item is items[0])

    def _article(self, item: RollItem, kind: str, newest: bool) -> scrapy.Request:
        return scrapy.Request(
            item.url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"roll": item, "kind": kind, "newest": newest},
            dont_filter=True,
        )

    def parse_article(self, response: Response, roll: RollItem, kind: str, newest: bool):
        page = read_page(response.body, response.url, content_type(response))
        article = sina_article(page, roll)
        if not newest:  # another kind's newest: only what is wrong with it is said
            if article is None:
                self.health.problems.append(f"{kind} {response.url}: {no_article_reason(page)}")
            elif self.measure(article.filed(self.run.source.shelf)) == (0, 0):
                self.health.problems.append(f"{kind} {response.url}: nothing in its body")
            return
        self.health.article_url = response.url
        self.health.family = page.family
        if article is None:
            self.health.problems.append(no_article_reason(page))
            return
        origin = "roll time" if roll.intime else page.date_origin
        self.found(article, origin or "guessed")

    def article_failed(self, failure: Failure) -> None:
        request = failure.request
        if not request.cb_kwargs["newest"]:
            kind = request.cb_kwargs["kind"]
            self.health.problems.append(f"{kind} {request.url}: unreadable: {describe(failure)}")
            return
        self.health.article_url = request.url
        self.health.problems.append(f"newest article unreadable: {describe(failure)}")


class FeedCheck(_Checker):
    """The feed, then its newest entry (with `full_text`, the entry's page)."""

    def start(self) -> Iterable[scrapy.Request]:
        url = self.run.source.url
        self.health.list_url = url
        yield scrapy.Request(
            url,
            callback=self.parse_feed,
            errback=self.list_failed,
            dont_filter=True,
            meta={TYPED: url},
        )

    def list_failed(self, failure: Failure) -> None:
        self.health.problems.append(f"feed unreadable: {describe(failure)}")

    def parse_feed(self, response: Response):
        try:
            feed = feed_of(response, self.run.source.zone)
        except FeedError as exc:
            self.health.problems.append(f"feed unreadable: {exc}")
            return
        self.health.listed = len(feed.entries)
        if not feed.entries:
            self.health.problems.append("the feed has no entries")
            return
        dated = [e for e in feed.entries if e.date is not None]
        entry = max(dated, key=lambda e: e.date) if dated else feed.entries[0]
        if self.run.source.full_text and url_problem(entry.link) is None:
            yield scrapy.Request(
                entry.link,
                callback=self.parse_page,
                errback=self.page_failed,
                cb_kwargs={"entry": entry},
                dont_filter=True,
            )
            return
        self.found(entry_article(entry, response.url, _now()), "feed")

    def parse_page(self, response: Response, entry: FeedEntry):
        body, family = read_any_page(
            response.body, response.url, content_type(response), entry.title
        )
        self.health.family = family
        article = entry_article(entry, self.run.source.url, _now(), body)
        self.found(article, "feed")
        self.health.article_url = response.url
        if body is None:
            self.health.problems.append("full_text: no article found in the entry's page")

    def page_failed(self, failure: Failure) -> None:
        self.health.article_url = failure.request.url
        self.health.problems.append(f"full_text: entry's page unreadable: {describe(failure)}")


def _now() -> datetime:
    return datetime.now(UTC)


class LiveCheck(_ListCheck, SinaLive):
    """The live feed's page 1, then its newest flash."""

    list_name = "live feed"

    def parse_roll(self, response: Response, page: int) -> None:
        try:
            flashes = parse_live(response.body)
        except RollError as exc:
            self.health.problems.append(f"live feed unreadable: {exc}")
            return
        self.health.listed = len(flashes)
        if not flashes:
            self.health.problems.append("the live feed lists no flash")
            return
        self.health.family = "7x24"
        self.health.article_url = flashes[0].url
        self.found(flash_article(flashes[0], _now()), "feed")


# A source type (config.SOURCE_TYPES) → the navigator that checks it.
CHECKERS: dict[str, type[_Checker]] = {"sina": SinaCheck, "feed": FeedCheck, "sina_live": LiveCheck}
