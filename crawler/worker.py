"""A scaled-out crawl's worker (`run_worker`), and its parts inside Scrapy: scrapy-redis's
shared queue and dupefilter, items pushed to Redis, and an exit once the whole cluster is idle
(a scrapy-redis spider otherwise never stops, which would break cron). The writer is in
scaleout.py."""

from __future__ import annotations

import logging
import time
import warnings

import redis
from scrapy import signals
from scrapy.exceptions import (
    CloseSpider,
    DontCloseSpider,
    NotConfigured,
    ScrapyDeprecationWarning,
)
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from .cluster import HEARTBEAT, IDLE_TIME, Cluster, Report, worker_id
from .config import Source
from .errors import ClusterError
from .interrupt import INTERRUPTED, stop_crawl
from .items import Article, Capture, Pending, Sample, Settled
from .run import CrawlOptions, CrawlReport, run_spider
from .spiders.base import SourceRun

log = logging.getLogger("crawler")


def run_worker(
    cluster: Cluster, sources: list[Source], options: CrawlOptions, *, wait: float
) -> CrawlReport:
    """One worker of a scaled-out crawl: sources as the writer started them, requests from the
    shared queue, items to Redis. Returns this worker's part of the outcome."""
    if problem := unsupported(sources):
        raise ClusterError(problem)
    run_id = cluster.wait_for_run(wait)
    runs = []
    for source in sources:
        start = cluster.source_start(source.name)
        runs.append(
            SourceRun(
                source=source,
                archived=start.archived,
                limit=options.limit or source.limit,
                pages=options.pages or source.pages,
                refresh=options.refresh,
                retry_payloads=start.retries,
                validators=start.validators,
            )
        )
    worker = worker_id()
    cluster.join(worker)
    seed = cluster.claim_seeding(worker)
    spider = run_spider(
        None,
        options,
        extra_settings={
            "SCHEDULER": "crawler.worker.SharedScheduler",
            "SCHEDULER_PERSIST": True,  # the writer clears the queue when it opens a run
            "SCHEDULER_QUEUE_KEY": cluster.key("requests"),
            "SCHEDULER_DUPEFILTER_KEY": cluster.key("dupefilter"),
            "DUPEFILTER_CLASS": "crawler.worker.SourceDupeFilter",
            "REDIS_URL": cluster.url,
            "ITEM_PIPELINES": {"crawler.worker.ClusterItems": 300},
            "EXTENSIONS": {"crawler.worker.ClusterWorker": 500},
            "CLUSTER_WORKER": True,
        },
        runs=runs,
        seed=seed,
        on_seeded=cluster.mark_seeded if seed else None,
        cluster=cluster,
        worker=worker,
        run_id=run_id,
    ).spider
    if getattr(spider, "cluster_error", None):
        raise ClusterError(spider.cluster_error)
    reason = spider.crawler.stats.get_value("finish_reason")
    if reason == "run_replaced":
        raise ClusterError(
            "a new writer opened another run while this worker was in the last one: what it "
            "fetched is written by the new writer; nothing is lost"
        )
    return CrawlReport(runs, interrupted=reason == "shutdown")


def unsupported(sources: list[Source]) -> str | None:
    """Why these sources cannot be crawled scaled out, or None (checked before connecting)."""
    for source in sources:
        if source.images == "keep":
            return f"{source.name}: 'images: keep' is not supported by a scaled-out crawl yet"
    return None


def lost(spider, error: str) -> None:
    """Redis failed under this worker: stop it (once); run_worker reports the error."""
    if getattr(spider, "cluster_error", None) is None:
        spider.cluster_error = error
        log.error("%s", error)
        stop_crawl(spider.crawler, "redis_lost")


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler (the shared queue); Redis failing mid-run stops the worker
    with one line instead of a traceback on every engine tick."""

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        # Its counters pass `spider=` to the stats collector, which Scrapy 2.13+ deprecates
        # with a warning per run; Scrapy's own counters stay.
        scheduler.stats = None
        return scheduler

    def open(self, spider) -> None:
        # It announces a queue other workers filled with Spider.log(), which Scrapy 2.13+
        # deprecates with a warning: a worker joining a seeded run is nothing to warn about.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Spider.log", ScrapyDeprecationWarning)
            super().open(spider)

    def enqueue_request(self, request) -> bool:
        return self._guard(super().enqueue_request, request, default=False)

    def next_request(self):
        return self._guard(super().next_request, default=None)

    def has_pending_requests(self) -> bool:
        return self._guard(super().has_pending_requests, default=False)

    def _guard(self, call, *args, default):
        try:
            return call(*args)
        except redis.RedisError as exc:
            lost(self.spider, f"lost Redis at {self.spider.cluster.shown}: {exc}")
            return default


class SourceDupeFilter(RFPDupeFilter):
    """scrapy-redis's shared fingerprints, per source (as SourceFingerprinter in one process)."""

    def request_fingerprint(self, request) -> str:
        base = super().request_fingerprint(request)
        source = request.meta.get("source")
        return base if source is None else f"{base}:{source}"


class ClusterItems:
    """Every item to the writer through Redis; this machine writes nothing."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("CLUSTER_WORKER"):
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, Article | Pending | Settled | Sample | Capture):
            try:
                self.crawler.spider.cluster.push(item)
            except ClusterError as exc:
                lost(self.crawler.spider, str(exc))
        return item


class ClusterWorker:
    """Beats while alive (busy or idle), keeps the spider open while any worker is busy or
    requests are queued, and reports each source's outcome to the writer at the end."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.idle_since: float | None = None
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("CLUSTER_WORKER"):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.engine_started, signals.engine_started)
        crawler.signals.connect(extension.spider_idle, signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signals.spider_closed)
        crawler.signals.connect(lambda: extension.spider_closed("shutdown"), INTERRUPTED)
        return extension

    @property
    def spider(self):
        return self.crawler.spider

    def engine_started(self) -> None:
        # An idle engine looks at its scheduler every heartbeat (5 s by default): a shorter
        # one lets an idle worker take its share of newly queued requests promptly.
        self.crawler.engine._SLOT_HEARTBEAT_INTERVAL = HEARTBEAT
        self.loop = task.LoopingCall(self.beat)
        self.loop.start(HEARTBEAT)

    def beat(self) -> None:
        try:
            busy = not self.crawler.engine.spider_is_idle()
        except RuntimeError:  # the engine is not running its spider yet, or any more
            busy = False
        try:
            self.spider.cluster.beat(self.spider.worker, busy=busy)
        except ClusterError as exc:
            lost(self.spider, str(exc))

    def spider_idle(self) -> None:
        try:
            self._keep_open_while_busy()
        except ClusterError as exc:
            lost(self.spider, str(exc))

    def _keep_open_while_busy(self) -> None:
        cluster = self.spider.cluster
        cluster.beat(self.spider.worker, busy=False)
        if cluster.run().get("id") != self.spider.run_id:  # a new writer started over
            raise CloseSpider("run_replaced")
        if cluster.idle():
            now = time.monotonic()
            if self.idle_since is None:
                self.idle_since = now
            elif now - self.idle_since >= IDLE_TIME:
                return  # idle everywhere, twice: the spider closes
        else:
            self.idle_since = None
        raise DontCloseSpider

    def spider_closed(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        spider = self.spider
        if getattr(spider, "cluster_error", None):
            return  # Redis is gone: nothing can be sent
        try:
            self._report(reason)
        except ClusterError as exc:
            lost(spider, str(exc))

    def _report(self, reason: str) -> None:
        spider = self.spider
        if reason == "run_replaced":  # its reports belong to a run no writer keeps any more
            spider.cluster.leave(spider.worker)
            return
        for run in spider.runs.values():
            spider.cluster.push(
                Report(
                    worker=spider.worker,
                    source=run.name,
                    counts=dict(run.counts),
                    error=run.error,
                    failed=[[f.item_id, f.url, f.payload, f.reason] for f in run.failed_items],
                    skipped=list(run.skipped),
                    validators=run.new_validators if reason == "finished" else None,
                )
            )
        spider.cluster.leave(spider.worker)
