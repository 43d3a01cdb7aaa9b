"""What every source's navigation shares: what is archived, how far to go, what happened."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from twisted.python.failure import Failure

from ..config import Source
from ..errors import one_line
from ..network import describe

log = logging.getLogger("crawler")


@dataclass
class FailedItem:
    item_id: str
    url: str
    payload: dict[str, Any] | None  # what it takes to ask again (None: as it was asked for)
    reason: str


@dataclass
class SourceRun:
    """One source's part of a crawl: its inputs, and its outcome for the summary."""

    source: Source
    archived: Mapping[str, str] = field(default_factory=dict)  # item id → when it was fetched
    given_up: frozenset[str] = frozenset()  # failed too often: not asked for (but refreshing)
    limit: int = 50
    pages: int = 1
    refresh: bool = False
    retry_payloads: list[dict[str, Any]] = field(default_factory=list)
    validators: dict[str, str] = field(default_factory=dict)  # a feed's ETag, Last-Modified
    image_retries: list[Any] = field(default_factory=list)  # ImageRetry items (images: keep)
    counts: Counter = field(default_factory=Counter)
    error: str | None = None
    failed_items: list[FailedItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    requested: set[str] = field(default_factory=set)
    holding: set[str] = field(default_factory=set)  # taken and not failed: what `limit` caps
    new_validators: dict[str, str] | None = None  # to keep if the whole feed was archived
    # Responses this source had, of any status (None: not counted here, as in a writer that
    # takes its workers' reports): none at all means its host or proxy was down.
    answers: int | None = None

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def fetching(self) -> int:
        """Items taken this run that have not failed: those archived or on their way."""
        return len(self.holding)

    @property
    def limit_reached(self) -> bool:
        """`limit` items taken and not failed: archived ones seen on the way, and those that
        failed (asked for again next run), do not count."""
        return self.fetching >= self.limit

    def wanted(self, item_id: str, modified: datetime | None = None) -> bool:
        """Whether this item is to be fetched, the limit aside: not archived (or refreshing,
        or the source says it `modified` it after it was fetched: an edit), not given up (or
        refreshing), new to this run. Archived items count as unchanged, given-up ones as
        given up."""
        if item_id in self.requested:
            return False
        if self.edited(item_id, modified):
            return True
        if not self.refresh and (item_id in self.archived or item_id in self.given_up):
            self.requested.add(item_id)
            self.count("unchanged" if item_id in self.archived else "given up")
            return False
        return True

    def edited(self, item_id: str, modified: datetime | None) -> bool:
        """Whether the source changed this archived item after it was fetched (a time it
        gives, not a guess: the roll's `mtime`, a feed entry's `updated`)."""
        fetched = self.archived.get(item_id)
        if modified is None or not fetched or modified > datetime.now(UTC):
            return False  # a time still to come is no edit yet (else: fetched every run)
        try:
            return modified > datetime.fromisoformat(fetched)
        except (ValueError, TypeError):  # the text state's (anyone's) fetch time
            return False

    def take(self, item_id: str, modified: datetime | None = None) -> bool:
        """Whether to fetch this item now: wanted, and within the limit."""
        if not self.wanted(item_id, modified) or self.limit_reached:
            return False
        self.requested.add(item_id)
        self.holding.add(item_id)
        return True

    def release(self, item_id: str) -> None:
        """The item taken failed (or had nothing to archive): its place goes to another."""
        self.holding.discard(item_id)

    def answered(self) -> None:
        """A response came for this source (of any status): its hosts were reached."""
        if self.answers is not None:
            self.answers += 1

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def fail(self, reason: str) -> None:
        """The source failed as a whole (its list could not be fetched or read): said once,
        in the summary; as it happens only with progress on a terminal."""
        self.error = self.error or reason
        log.info("%s: source failed: %s", self.name, reason)

    def fail_item(
        self, item_id: str, url: str, payload: dict[str, Any] | None, reason: str
    ) -> None:
        self.count("failed")
        self.release(item_id)
        self.failed_items.append(FailedItem(item_id, url, payload, reason))
        log.warning("%s: %s: %s (will retry next run)", self.name, url, reason)

    def refused(self, item: Any, reason: str) -> None:
        """The archive refused this article alone (ItemError): failed, asked for again."""
        self.fail_item(item.id, item.url, None, reason)

    def page_seen(self, recognized: bool) -> None:
        """An article page was read: of a known layout (or a slide or video page), or not."""
        self.count("pages")
        if not recognized:
            self.count("unrecognized")

    def unrecognized(self, item_id: str, url: str, payload: dict[str, Any], reason: str) -> None:
        """An article page of a layout no family knows: asked for again next run, like a
        failed one (a fixed extractor then archives it); its page is kept as a sample."""
        self.page_seen(recognized=False)
        self.release(item_id)
        self.failed_items.append(FailedItem(item_id, url, payload, reason))
        log.warning(
            "%s: %s: %s (page kept as a sample, will retry next run)", self.name, url, reason
        )

    def layout_changed(self) -> bool:
        """Most article pages read this run were of no known layout: the source failed."""
        unknown, read = self.counts["unrecognized"], self.counts["pages"]
        if unknown * 2 <= read:
            return False
        self.fail(
            f"layout looks changed: {unknown} of {read} article pages match no known layout "
            "(samples in .crawler/samples/)"
        )
        return True

    def same_as(self, item_id: str, url: str, other: str) -> None:
        """The item is an article archived (or on its way) under another id, listed again
        on another host: unchanged, its retry (if any) dropped; no warning, nothing is
        wrong."""
        self.count("unchanged")
        self.release(item_id)
        self.skipped.append(item_id)
        log.info("%s: %s: the same article as %s, not archived twice", self.name, url, other)


class Navigator:
    """What to fetch next for one source; subclasses per source type."""

    # The callbacks that read an article page: with `capture: warc`, their exchanges are kept.
    article_callbacks: frozenset[str] = frozenset({"parse_article", "parse_page"})
    # Callbacks whose page can be read apart, in the archive's writer process when the crawl
    # has one (store/process.py): name → a function of (body, URL, media type, the callback's
    # keyword arguments) whose answer the callback is given as `read` (else it reads itself).
    readers: dict[str, Callable[..., Any]] = {}

    def __init__(self, run: SourceRun):
        self.run = run
        # What the limit held back, in the order found: (item id, what makes its output),
        # or (None, …) for what is no item (the next roll page). Taken when items fail.
        self.held: deque[tuple[str | None, Callable[[], Any], datetime | None]] = deque()

    def start(self) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    def offer(
        self, item_id: str, output: Callable[[], Any], modified: datetime | None = None
    ) -> list[Any]:
        """An item found: `output()` (its request or article; None if it has none) if it is
        to be fetched now, kept for `refill` if only the limit stands in the way; `modified`:
        when the source says it last changed it (an archived item changed since is fetched
        again)."""
        if not self.run.wanted(item_id, modified):
            return []
        if self.run.limit_reached:
            self.held.append((item_id, output, modified))
            return []
        self.run.take(item_id, modified)
        made = output()
        return [] if made is None else [made]

    def hold(self, output: Callable[[], Any]) -> None:
        """What to make once the limit allows, no item itself (the next roll page)."""
        self.held.append((None, output, None))

    def refill(self) -> Iterator[Any]:
        """What the limit held back, while items that failed leave room (`--limit N` counts
        the items archived)."""
        while self.held and not self.run.limit_reached:
            item_id, output, modified = self.held.popleft()
            if item_id is None:
                yield output()
            else:
                yield from self.offer(item_id, output, modified)

    def list_failed(self, failure: Failure) -> None:
        self.run.fail(f"{failure.request.url}: {describe(failure)}")

    def crashed(self, request: scrapy.Request | None, exc: Exception) -> None:
        """What this source was doing for `request` (None: starting) raised: the source
        fails, unless the request was for one item (see `item_crashed`)."""
        reason = one_line(exc)
        if request is None or not self.item_crashed(request, reason):
            where = request.url if request is not None else "start"
            self.run.fail(f"{where}: {reason}")

    def item_crashed(self, request: scrapy.Request, reason: str) -> bool:
        """Fail the one item `request` was for, if it was for one."""
        return False
