"""A crawl across machines: what the workers and the one writer share in Redis.

    workers (crawler crawl --redis)            writer (crawler write --redis)
    ───────────────────────────────            ──────────────────────────────
    wait for an open run                 ◄──   open a run: clear the queue, publish
    one of them seeds the sources              each source's archived ids, retries and
    fetch from the shared request queue        feed validators
    (scrapy-redis scheduler + dupefilter)
    push items, then a report per source ──►   write items into the archive
    exit once everything is idle               exit once the workers are gone and the
                                               item list is drained; keep the outcome

Keys live under one prefix (default `crawler`): `requests` (scrapy-redis's priority queue),
`dupefilter`, `items` (a list of JSON items), `run` (a hash: id, state, seeded), `members`
(the workers of the run), `worker:<id>` (busy/idle, expires when a worker stops beating),
`writer` (expires when the writer stops beating),
`archived:<source>` (a hash: item id → when it was fetched) and `start:<source>` (a hash).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.connection import parse_url

from .errors import ClusterError
from .items import Article, Capture, ImageOutcome, Pending, Sample, Settled, Shelf

log = logging.getLogger("crawler")

HEARTBEAT = 1.0  # seconds between a worker's beats
WORKER_TTL = 10  # a worker unheard of for this long is gone (killed, or its machine is)
WRITER_TTL = 3  # a run whose writer is unheard of for this long takes no new workers
IDLE_TIME = 2.0  # everything idle this long (seen twice): the workers stop


@dataclass
class Report:
    """A worker's part of one source's outcome, sent when it stops."""

    worker: str
    source: str
    counts: dict[str, int] = field(default_factory=dict)  # unchanged, failed, skipped
    error: str | None = None
    failed: list[list] = field(default_factory=list)  # [item id, url, payload, reason]
    skipped: list[str] = field(default_factory=list)
    validators: dict[str, str] | None = None


@dataclass(frozen=True)
class SourceStart:
    """What a source's workers start from, as the archive has it: what to skip, what to ask
    again. (The archive's own listings are store/catalog.py.)"""

    archived: Mapping[str, str]  # item id → when it was fetched
    retries: list[dict]
    validators: dict[str, str]


def _lost_redis(method):
    """Redis failing mid-run is one ClusterError (one line for the user), never a traceback."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            raise ClusterError(f"lost Redis at {self.shown}: {exc}") from None

    return wrapper


def _guarded(cls):
    """Every public method of `cls` through _lost_redis."""
    for attr, value in list(vars(cls).items()):
        if callable(value) and not attr.startswith("_"):
            setattr(cls, attr, _lost_redis(value))
    return cls


REDIS_SCHEMES = ("redis", "rediss", "unix")  # as redis-py's from_url takes them
_DATABASE = re.compile(r"/?\d{0,9}")  # the path of a redis:// URL: a database number
_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def redacted(url: str) -> str:
    """A Redis URL as messages show it: its password (redis://user:password@host) hidden."""
    return _PASSWORD.sub(r"\1***@", url)


def redis_url_problem(url: str) -> str | None:
    """Why `url` (typed by the user) is no Redis URL, or None: checked before connecting."""
    hidden = redacted(url)
    shown = repr(hidden) if len(hidden) <= 200 else repr(hidden[:200] + "…")
    schemes = "redis://, rediss:// or unix://"
    if any(ord(c) < 32 or c.isspace() or 0xD800 <= ord(c) <= 0xDFFF for c in url):
        return f"{shown} is not a Redis URL (white space, a control character or no text)"
    try:
        parts = urlsplit(url)
        port = parts.port
        if parts.scheme not in REDIS_SCHEMES:
            return f"must be a {schemes} URL, not {shown}"
        parse_url(url)
    except ValueError as exc:
        return f"{shown} is not a Redis URL ({exc})"
    if parts.scheme == "unix" and not parts.path:
        return f"{shown} is not a Redis URL (unix:// needs the socket's path)"
    if parts.scheme != "unix" and not _DATABASE.fullmatch(unquote(parts.path)):
        return f"{shown} is not a Redis URL (its path is a database number: /0)"
    if port == 0:
        return f"{shown} is not a Redis URL (port 0)"
    return None


@_guarded
class Cluster:
    def __init__(self, url: str, prefix: str = "crawler"):
        self.url = url
        self.shown = redacted(url)
        self.prefix = prefix
        if problem := redis_url_problem(url):
            raise ClusterError(problem)
        try:
            self.redis = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
            self.redis.ping()
        except redis.AuthenticationError as exc:
            raise ClusterError(f"Redis at {self.shown} refused the login: {exc}") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise ClusterError(f"Redis is unreachable at {self.shown}: {exc}") from None
        except (redis.RedisError, ValueError) as exc:
            raise ClusterError(f"cannot use Redis at {self.shown}: {exc}") from None

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # The writer's side.

    def open_run(self, starts: dict[str, SourceStart]) -> str:
        """Start a run: an empty queue and dupefilter, every source's start published (the
        item list is the writer's to drain first)."""
        run_id = uuid.uuid4().hex
        stale = [self.key(k) for k in ("requests", "dupefilter", "members", "seeder")]
        stale += list(self.redis.scan_iter(self.key("archived", "*")))
        stale += list(self.redis.scan_iter(self.key("start", "*")))
        pipe = self.redis.pipeline()
        pipe.delete(self.key("run"), *stale)
        for source, start in starts.items():
            ids = sorted(start.archived.items())
            for first in range(0, len(ids), 10_000):
                pipe.hset(self.key("archived", source), mapping=dict(ids[first : first + 10_000]))
            pipe.hset(
                self.key("start", source),
                mapping={
                    "retries": json.dumps(start.retries, ensure_ascii=False),
                    "validators": json.dumps(start.validators),
                },
            )
        pipe.hset(self.key("run"), mapping={"id": run_id, "state": "open", "seeded": 0})
        pipe.set(self.key("writer"), run_id, ex=WRITER_TTL)
        pipe.execute()
        return run_id

    def close_run(self) -> None:
        """Close whatever run is open: no worker joins it any more."""
        pipe = self.redis.pipeline()
        pipe.hset(self.key("run"), "state", "closed")
        pipe.delete(self.key("writer"))
        pipe.execute()

    def writer_beat(self, run_id: str) -> None:
        self.redis.set(self.key("writer"), run_id, ex=WRITER_TTL)

    def pop_item(self, timeout: float = 0) -> Any | None:
        """The next item, waiting up to `timeout` seconds for one (0: not waiting)."""
        if timeout:
            popped = self.redis.blpop([self.key("items")], timeout=timeout)
            data = popped[1] if popped else None
        else:
            data = self.redis.lpop(self.key("items"))
        if data is None:
            return None
        try:
            return decode(data)
        except Exception as exc:  # Redis is shared: whatever is there is only data
            log.warning("an item in %s is not one of ours, dropped: %r", self.key("items"), exc)
            return None

    def members(self) -> set[str]:
        return {m.decode() for m in self.redis.smembers(self.key("members"))}

    # The workers' side.

    def wait_for_run(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run()
            writer = self.redis.get(self.key("writer"))
            if run.get("state") == "open" and writer and writer.decode() == run["id"]:
                return run["id"]
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"no run is open on {self.shown} after {timeout:g} s: start "
                    "'crawler write --redis' for the archive (it opens the run)"
                )
            time.sleep(0.2)

    def source_start(self, source: str) -> SourceStart:
        data = self.redis.hgetall(self.key("start", source))
        if not data:
            raise ClusterError(
                f"{source}: the writer did not publish this source (is it in the writer's "
                "feeds.yaml?)"
            )
        archived = {
            k.decode(): v.decode()
            for k, v in self.redis.hgetall(self.key("archived", source)).items()
        }
        return SourceStart(archived, json.loads(data[b"retries"]), json.loads(data[b"validators"]))

    def join(self, worker: str) -> None:
        self.redis.sadd(self.key("members"), worker)
        self.beat(worker, busy=True)

    def claim_seeding(self, worker: str) -> bool:
        """Whether this worker seeds the run (exactly one does, however many start)."""
        return bool(self.redis.set(self.key("seeder"), worker, nx=True))

    def mark_seeded(self) -> None:
        self.redis.hset(self.key("run"), "seeded", 1)

    def push(self, item: Any) -> None:
        self.redis.rpush(self.key("items"), encode(item))

    def beat(self, worker: str, *, busy: bool) -> None:
        self.redis.set(self.key("worker", worker), "busy" if busy else "idle", ex=WORKER_TTL)

    def leave(self, worker: str) -> None:
        self.redis.delete(self.key("worker", worker))

    # Both.

    def run(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.redis.hgetall(self.key("run")).items()}

    def workers(self) -> dict[str, str]:
        """Live workers: id → busy or idle."""
        keys = list(self.redis.scan_iter(self.key("worker", "*")))
        states = self.redis.mget(keys) if keys else []
        return {
            k.decode().rsplit(":", 1)[1]: s.decode() for k, s in zip(keys, states, strict=True) if s
        }

    def queued(self) -> int:
        return self.redis.zcard(self.key("requests"))

    def items_waiting(self) -> int:
        return self.redis.llen(self.key("items"))

    def idle(self) -> bool:
        """Seeded, nothing queued, and no live worker busy."""
        run = self.run()
        return (
            run.get("seeded") == "1"
            and self.queued() == 0
            and "busy" not in self.workers().values()
        )


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


# Items travel as JSON (never pickle: a writer must not run what Redis hands it).

_CLASSES = {
    cls.__name__: cls
    for cls in (Article, Shelf, Pending, Settled, Sample, Capture, ImageOutcome, Report)
}


def encode(item: Any) -> bytes:
    return json.dumps(_plain(item), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    return _typed(json.loads(data))


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {
            "~": type(value).__name__,
            **{f.name: _plain(getattr(value, f.name)) for f in fields(value) if not f.metadata},
        }
    if isinstance(value, datetime):
        return {"~dt": value.isoformat()}
    if isinstance(value, bytes):
        return {"~b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"~t": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "~dt" in value:
        return datetime.fromisoformat(value["~dt"])
    if "~b" in value:
        return base64.b64decode(value["~b"])
    if "~t" in value:
        return tuple(_typed(v) for v in value["~t"])
    if "~" in value:
        cls = _CLASSES[value["~"]]  # only our item classes: anything else is a KeyError
        local = {f.name for f in fields(cls) if f.metadata}  # never taken from Redis
        return cls(**{k: _typed(v) for k, v in value.items() if k != "~" and k not in local})
    return {k: _typed(v) for k, v in value.items()}
