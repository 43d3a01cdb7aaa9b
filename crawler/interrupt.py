"""Ctrl-C and SIGTERM stop a crawl at once, keeping what was archived; so does a component
that cannot go on (`stop_crawl`: the archive cannot be written, Redis is lost).

Scrapy's own first signal waits for every request the downloader holds, those queued behind
a politeness delay included (a slow site: a minute), and its second stops the reactor with the
archive's batch still open (the index stays locked, a temporary file stays behind). Here the
first signal, between two reactor callbacks (never inside a write), tells the components that
keep state to finish (the archive pipeline makes what it holds durable; a scale-out worker
reports and leaves) and stops the reactor without waiting for downloads. Requests in flight
were noted as pending before they were made: the next run asks for them again. Later
signals change nothing.

Stopping the reactor by `crash()` skips its shutdown triggers, the one that stops its thread
pool among them (Scrapy resolves host names there: every crawl without a proxy has one). Python
waits at exit for every thread that is not a daemon, and an idle worker of the pool waits for
work forever: the pool's threads are made daemons, so nothing they hold keeps the process.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from functools import partial

INTERRUPTED = object()  # a Scrapy signal: sent once, on the reactor, before it stops


@contextmanager
def stop_at_once_on_signals(crawler):
    """While in the block (`process.start()`), SIGINT and SIGTERM stop `crawler` at once."""
    from twisted.internet import reactor

    # Before the reactor runs: the pool starts its threads only when there is work.
    reactor.getThreadPool().threadFactory = partial(threading.Thread, daemon=True)

    def interrupt() -> None:
        if getattr(crawler, "interrupted", False):
            return
        crawler.interrupted = True
        crawler.stats.set_value("finish_reason", "shutdown")
        crawler.signals.send_catch_log(INTERRUPTED)
        # crash, not stop: stop would first run Scrapy's graceful close, which waits for
        # every download the downloader holds. What is held is durable by now.
        reactor.crash()

    def on_signal(signum, frame) -> None:
        reactor.callFromThread(interrupt)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        # Once interrupted, later signals are ignored until the process ends: a handler of
        # ours would be reset to the default one while Python shuts down, and a second
        # Ctrl-C then would kill the process (exit -2, not 130).
        interrupted = getattr(crawler, "interrupted", False)
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if interrupted else handler)


def stop_crawl(crawler, reason: str) -> None:
    """Close the spider without waiting (the item being processed must finish first)."""
    from scrapy.utils.defer import deferred_from_coro

    engine = crawler.engine
    if hasattr(engine, "close_spider_async"):  # Scrapy 2.14+
        deferred_from_coro(engine.close_spider_async(reason=reason))
    else:
        engine.close_spider(crawler.spider, reason)
