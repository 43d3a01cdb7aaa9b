"""One spider for a whole crawl: every source's navigation shares one engine, so
concurrency and per-domain politeness hold across sources."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from functools import partial
from typing import Any, NoReturn

import scrapy
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.request import RequestFingerprinter
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from ..capture import CAPTURE, captures
from ..network import ALLOW_PRIVATE, content_type
from .base import Navigator, SourceRun
from .feed import FeedSource
from .live import SinaLive
from .sina import SinaRoll

# A source type (config.SOURCE_TYPES) → the navigator that crawls it.
NAVIGATORS: dict[str, type[Navigator]] = {
    "sina": SinaRoll,
    "feed": FeedSource,
    "sina_live": SinaLive,
}


class ArchiveSpider(scrapy.Spider):
    name = "archive"

    def __init__(
        self,
        runs: list[SourceRun],
        navigators: list[Navigator] | None = None,
        seed: bool = True,
        on_seeded: Callable[[], None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.runs = {run.name: run for run in runs}
        for run in runs:  # counted here: a source none of whose requests was answered was down
            run.answers = 0
        self.navigators = navigators or [NAVIGATORS[run.source.type](run) for run in runs]
        self.by_source = {navigator.run.name: navigator for navigator in self.navigators}
        self.seed = seed  # False: a worker that finds the shared queue already seeded
        self.on_seeded = on_seeded  # called once every start request is queued
        # SessionProcess.apart, set by the archive pipeline whose session can read pages in
        # its writer process (and reads the answers): `readers`' callbacks then go apart.
        self.apart: Callable[..., None] | None = None

    async def start(self) -> AsyncIterator[Any]:
        if not self.seed:
            return
        for navigator in self.navigators:
            for retry in navigator.run.image_retries:  # to the image pipeline, then the store
                yield retry
            for output in self._routed(navigator.start, navigator, None):
                yield output
        if self.on_seeded is not None:  # the engine has queued the last one by now
            self.on_seeded()

    # A navigator schedules its own methods (`callback=self.parse_article`: a search for a
    # callback finds where it is scheduled). `_route` swaps them for `dispatch` and keeps
    # their names, so that a request can be serialized (the shared Redis queue of a
    # scaled-out crawl) and come back to the same method on any worker.

    def dispatch(self, response, **kwargs) -> Iterable[Any]:
        navigator = self.by_source[response.meta["source"]]
        callback = getattr(navigator, response.meta["callback"])
        yield from self._dispatched(response, navigator, lambda: callback(response, **kwargs))

    async def dispatch_apart(self, response, **kwargs) -> list[Any]:
        """`dispatch` for a callback whose page its navigator reads apart (`readers`): read
        beside the reactor, by the archive's writer process (else here), then called here."""
        navigator = self.by_source[response.meta["source"]]
        reader = navigator.readers[response.meta["callback"]]
        if self.apart is not None:
            done: Deferred = Deferred()
            args = (response.body, response.url, content_type(response))
            try:
                self.apart(reader, args, kwargs, done.callback, done.errback)
                kwargs["read"] = await maybe_deferred_to_future(done)
            except Exception as exc:  # fails what the callback was for, as its own would
                return list(self._dispatched(response, navigator, partial(_raise, exc)))
        callback = getattr(navigator, response.meta["callback"])
        return list(self._dispatched(response, navigator, lambda: callback(response, **kwargs)))

    def _dispatched(self, response, navigator: Navigator, outputs) -> Iterable[Any]:
        navigator.run.answered()
        yield from captures(navigator.run.name, response.meta)
        yield from self._routed(outputs, navigator, response.request)

    def dispatch_failure(self, failure: Failure) -> Iterable[Any]:
        request = failure.request
        navigator = self.by_source[request.meta["source"]]
        if getattr(failure.value, "response", None) is not None:  # an HTTP error status
            navigator.run.answered()
        yield from captures(navigator.run.name, request.meta)
        errback = getattr(navigator, request.meta["errback"])
        yield from self._routed(lambda: errback(failure), navigator, request)

    def _routed(
        self,
        outputs: Callable[[], Iterable[Any] | None],
        navigator: Navigator,
        request: scrapy.Request | None,
    ) -> Iterable[Any]:
        """The navigator's outputs, its requests routed back through the spider, then what
        its limit held back and now has room for. Whatever it raises fails what it was
        working on (an item, or its source), nothing else."""
        try:
            for output in outputs() or ():
                yield self._routed_one(output, navigator)
        except Exception as exc:
            navigator.crashed(request, exc)
        try:
            for output in navigator.refill():
                yield self._routed_one(output, navigator)
        except Exception as exc:
            navigator.crashed(None, exc)

    def _routed_one(self, output: Any, navigator: Navigator) -> Any:
        if isinstance(output, scrapy.Request) and "callback" not in output.meta:
            return self._route(output, navigator)
        return output

    def _route(self, request: scrapy.Request, navigator: Navigator) -> scrapy.Request:
        errback = request.errback
        for method in (request.callback, errback):
            if method is not None and getattr(navigator, method.__name__, None) != method:
                name, owner = getattr(method, "__qualname__", repr(method)), type(navigator)
                raise TypeError(f"{name} is not a {owner.__name__} method: not dispatchable")
        capture = (
            navigator.run.source.capture == "warc"
            and request.callback.__name__ in navigator.article_callbacks
        )
        apart = self.apart is not None and request.callback.__name__ in navigator.readers
        return request.replace(
            callback=self.dispatch_apart if apart else self.dispatch,
            errback=self.dispatch_failure if errback else None,
            meta={
                **request.meta,
                CAPTURE: capture,
                "source": navigator.run.name,
                "callback": request.callback.__name__,
                "errback": errback.__name__ if errback else None,
                ALLOW_PRIVATE: navigator.run.source.allow_private,
            },
        )


def _raise(exc: Exception) -> NoReturn:
    raise exc


class SourceFingerprinter(RequestFingerprinter):
    """Scrapy's request fingerprint, per source: one article listed by two sources is
    fetched once for each (identity is per source), never twice for one."""

    def fingerprint(self, request: scrapy.Request) -> bytes:
        base = super().fingerprint(request)
        source = request.meta.get("source")
        return base if source is None else base + b"\x00" + source.encode("utf-8")
