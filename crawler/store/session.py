"""ArchiveSession: one crawl's use of the archive — the index opened once, each source's start
read from it, every item taken through one dispatch, each source's outcome recorded at the end.

The archive pipeline and the scale-out writer both write through a session; they differ only in
where items come from (Scrapy's engine, a Redis list). No Scrapy here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..items import Article, Capture, Checked, ImageRetry, Sample, Shelf
from .index import Record
from .writer import ArchiveWriter, ItemError, WriteResult

log = logging.getLogger("crawler")

MAX_ATTEMPTS = 5  # an article that failed this many runs in a row is given up (for good)


@dataclass(frozen=True)
class Start:
    """What one source's crawl starts from: what the archive holds and owes it."""

    archived: Mapping[str, str] = field(default_factory=dict)  # item id → when it was fetched
    given_up: frozenset[str] = frozenset()  # failed MAX_ATTEMPTS runs in a row
    retry_payloads: list[dict[str, Any]] = field(default_factory=list)  # what to ask for again
    validators: dict[str, str] = field(default_factory=dict)  # a feed's ETag, Last-Modified
    image_retries: list[ImageRetry] = field(default_factory=list)  # images: keep


@dataclass(frozen=True)
class Outcome:
    """What taking an item came to: `written` (an article, durable at the next flush: the
    session's `on_durable` hears of it then), `noted` (a Pending, Settled or Sample),
    `relinked` (an ImageRetry; `result` is None when no file changed), or `refused` (this item
    alone: `reason` says why; a refused article is asked for again next run)."""

    status: str
    result: WriteResult | None = None
    reason: str = ""


@dataclass
class Finish:
    """What one source's crawl came to, for the archive to remember."""

    name: str
    counts: Mapping[str, int]
    error: str | None = None
    url: str = ""  # a feed's URL, which `validators` belong to
    validators: dict[str, str] | None = None  # kept when the whole feed was archived
    skipped: Iterable[str] = ()  # nothing to archive: not asked for again
    failed: Iterable[tuple[str, str, dict | None, str]] = ()  # (id, url, payload, reason)
    given_up: frozenset[str] = frozenset()  # given up before this run: stays so
    counted: bool = True  # False: the source was down; its failures cost no attempt


class ArchiveSession:
    """A crawl's session on the archive below `root`; the caller holds the archive's lock.

    With `batch` > 1, articles are made durable in groups (ArchiveWriter)."""

    def __init__(
        self,
        root: Path | str,
        *,
        batch: int = 1,
        on_durable: Callable[[WriteResult], None] | None = None,
    ):
        self.writer = ArchiveWriter(root, batch=batch, on_durable=on_durable)
        self.root = self.writer.root
        self.index = self.writer.index

    def feed(
        self,
        *,
        batch: int,
        on_durable: Callable[[WriteResult], None],
        on_refused: Callable[[Any, str], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """How items come from now: articles made durable `batch` at a time, each write
        told to `on_durable` once it is. (`take` answers at once here: `on_refused` and
        `on_failed` are for a SessionProcess, which answers later.)"""
        self.writer.batch = batch
        self.writer.on_durable = on_durable

    def close(self) -> None:
        """What is held made durable, the text state saved, the index let go."""
        self.writer.close()

    def __enter__(self) -> ArchiveSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, shelf: Shelf, url: str = "", *, refresh: bool = False) -> Start:
        """Where the source filed on `shelf` (listed at `url`, for a feed's validators) starts:
        `refresh` asks again for what was given up too."""
        name = shelf.source
        image_retries = [
            ImageRetry(shelf, item_id, page_url, tuple(urls))
            for item_id, page_url, urls in self.index.image_retries(name, MAX_ATTEMPTS)
        ]
        return Start(
            archived=self.index.fetched_times(name),
            given_up=frozenset(self.index.given_up(name)),
            retry_payloads=self.index.retry_payloads(name, given_up=refresh),
            validators=self.index.validators(name, url) if url else {},
            image_retries=image_retries if shelf.images else [],
        )

    def due_checks(
        self, names: list[str], since: str, budget: int
    ) -> list[tuple[Record, dict[str, str]]]:
        """Up to `budget` archived articles of the sources `names`, dated on or after `since`
        and not taken down, the longest unchecked first, with their page's last validators:
        what `crawler recheck` asks for again."""
        due = []
        for source, item_id, validators in self.index.due_checks(names, since, budget):
            if (record := self.index.get(source, item_id)) is not None:
                due.append((record, validators))
        return due

    def stored_images(self) -> dict[str, str]:
        """URL → stored path of every image the archive holds."""
        return self.index.stored_images()

    def take(self, item: Any) -> Outcome:
        """The one dispatch of every item kind into the archive. An item the archive refuses
        alone is `refused`; when the archive cannot be written at all, the error is raised."""
        try:
            if isinstance(item, Article):
                return Outcome("written", self.writer.write(item))
            if isinstance(item, ImageRetry):
                return Outcome("relinked", self.writer.relink(item))
            if isinstance(item, Sample):
                self.writer.keep_sample(item)
            elif isinstance(item, Checked):
                self.writer.note_check(item)
            elif isinstance(item, Capture):
                self.writer.keep_capture(item)
            else:
                self.writer.note(item)
        except ItemError as exc:
            return Outcome("refused", reason=str(exc))
        return Outcome("noted")

    def flush(self, older_than: float = 0.0) -> None:
        """Make held articles durable (only if the oldest waited `older_than` seconds)."""
        self.writer.flush(older_than)

    def finish(self, done: Finish) -> None:
        """Remember how a source's crawl ended: its counts, a feed's validators (only when all
        of it is archived: a 304 must not hide a lost entry), and its failed items for the next
        run, giving up on those that keep failing."""
        index = self.index
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        index.record_crawl(done.name, finished, dict(done.counts), done.error)
        failed = {item_id: rest for item_id, *rest in done.failed}  # one run counts once
        if done.validators and not done.error and not failed:
            index.set_validators(
                done.name, done.url, done.validators["etag"], done.validators["last_modified"]
            )
        for item_id in done.skipped:
            index.drop_retry(done.name, item_id)
        for item_id, (url, payload, reason) in failed.items():
            if item_id in done.given_up:  # a refresh tried it again: given up it stays
                continue
            attempts = index.note_failure(
                done.name, item_id, url, payload, reason, counted=done.counted
            )
            if attempts >= MAX_ATTEMPTS:
                index.give_up(done.name, item_id)
                log.warning("%s: %s: failed %d runs in a row, given up", done.name, url, attempts)
