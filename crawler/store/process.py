"""SessionProcess: a crawl's ArchiveSession in a child process, so that the archive's work
(render, judge, index, search index, fsync) runs beside the crawl's reactor, on another core.

    the crawl (its reactor's thread)              the writer (a forked child)
    ────────────────────────────────              ───────────────────────────
    start, finish, due_checks, …   ── call ──►    the session's method; its answer back
    take(item)                     ── item ──►    session.take; the outcome back (refused…)
    flush(older_than)              ── flush ─►    each write told back once it is durable
    apart(read, page…)             ── page ─►     read(page…) first; its answer back
    close()                        ── call ──►    session.close; then the child exits

The child takes the items in the order they were given, the order the in-process session
would have taken them in. What is durable when either process dies is therefore a prefix of
that order: the archive an in-process crawl killed a moment earlier would have left, which
the writer's own guarantees (journal, dirty mark) already make whole. A Pending is durable
before any item after it, as in-process; the request it announces may be made before, and
its answer is archived after it. The child never outlives the crawl: the kernel kills it when
its parent dies (Linux's parent-death signal; elsewhere it closes cleanly when the pipe ends),
and it holds the archive's lock with its parent (the descriptor is shared), so no second
writer can start while it writes. It ignores SIGINT and SIGTERM: Ctrl-C reaches the crawl,
which makes what is held durable through it and closes it.

`apart` reads a page beside the reactor too (the spider's article pages: extraction): a
pure function, done before the items waiting (the crawl waits on it; it changes nothing in
the archive), its answer back to the spider, which goes on from it on the reactor.

What goes out is sent by a thread of the crawl's (a page or a capture is bigger than the pipe
holds: the reactor never waits on a busy child to write it). What comes back (durable writes,
refusals, answers, the archive failing, log lines) is read by `pump`, which the archive
pipeline calls on the reactor whenever the pipe is readable (and every wait of a call reads
it too): outcomes are counted on the reactor, in order. At most MAX_IN_FLIGHT items wait in
the child: a crawl faster than its writer waits for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import pickle
import queue
import select
import signal
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from ..errors import one_line
from .session import ArchiveSession
from .writer import ArchiveError, WriteResult

MAX_IN_FLIGHT = 64  # items given to the child and not yet answered
CALLS = frozenset({"start", "due_checks", "stored_images", "finish", "flush", "close"})


class WriterLost(ArchiveError):
    """The child writing the archive stopped without being asked to (killed, out of memory)."""


class SessionProcess:
    """The session `opener` returns (an ArchiveSession), opened and used in a forked child.
    Its methods are the session's: `take` answers later (through `feed`'s callbacks), the
    others when the child has done everything given before them. A failure the child meets
    comes back as the exception it raised (else an ArchiveError naming it)."""

    def __init__(self, opener: Callable[[], ArchiveSession]):
        mine, theirs = Pipe()
        self.status: int | None = None  # the child's wait status, once it ended
        self.lost: WriterLost | None = None  # the child stopped unasked: every call says so
        self.failure = ""  # the last failure the child told of
        self.conn: Connection | None = mine
        self.readable = _readable(mine)
        self.items: dict[int, Any] = {}  # sequence number → an item the child has not answered
        self.reading: dict[int, tuple[Callable, Callable]] = {}  # … → `apart`'s callbacks
        self.sequence = 0
        self.on_durable: Callable[[WriteResult], None] | None = None
        self.on_refused: Callable[[Any, str], None] | None = None
        self.on_failed: Callable[[str], None] | None = None
        parent = os.getpid()
        # No Ctrl-C between the fork and the child's ignoring it: it would unwind the
        # caller's code in the child (and release the archive's lock). One that came
        # meanwhile is raised here once they are unblocked, and kills the child.
        before = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        try:
            self.pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
            raise
        if self.pid == 0:  # the child: never returns into the caller's code
            _child(theirs, mine, opener, parent, before)
        theirs.close()
        self.sender = _Sender(mine)
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
            self.root: Path = self._answer()  # the session opened (or why it could not be)
        except BaseException:
            self._end(kill=True)  # Ctrl-C while it opens: at once (what it did is recoverable)
            raise

    def __enter__(self) -> SessionProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fileno(self) -> int:
        """The pipe's end the child answers on (readable: `pump`). It stays open, even once
        the child is lost, until `close`: whoever watches it stops watching first."""
        return self.conn.fileno()

    def feed(
        self,
        *,
        batch: int,
        on_durable: Callable[[WriteResult], None],
        on_refused: Callable[[Any, str], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """How items come from now (ArchiveSession.feed); `on_refused(item, reason)` hears of
        an item the archive refused alone, `on_failed(reason)` of the archive failing."""
        self.on_durable, self.on_refused, self.on_failed = on_durable, on_refused, on_failed
        self._send(("feed", batch))

    def take(self, item: Any) -> None:
        """Give the child an item; its outcome is told later (None now)."""
        self.sequence += 1
        self._send(("take", self.sequence, item))
        self.items[self.sequence] = item
        while len(self.items) > MAX_IN_FLIGHT:
            self._told(self._recv())

    def apart(
        self,
        function: Callable[..., Any],
        args: tuple,
        kwargs: dict,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """`function(*args, **kwargs)` run in the child (a module's function: it goes by its
        name; its arguments and its answer pickled), ahead of the writes waiting there (it
        changes nothing in the archive); its answer to `on_done`, or what it raised to
        `on_error` (WriterLost: the child is gone)."""
        if self.lost is not None:
            on_error(self.lost)
            return
        self.sequence += 1
        self._send(("apart", self.sequence, function, args, kwargs))
        self.reading[self.sequence] = (on_done, on_error)

    def flush(self, older_than: float = 0.0) -> None:
        """Make held articles durable (ArchiveSession.flush). `older_than` > 0 (a crawl's
        timer) asks without waiting; 0 waits until they are and each outcome is told."""
        if older_than > 0:
            self._send(("flush", older_than))
        else:
            self._call("flush")

    def start(self, *args, **kwargs):
        return self._call("start", *args, **kwargs)

    def due_checks(self, *args, **kwargs):
        return self._call("due_checks", *args, **kwargs)

    def stored_images(self) -> dict[str, str]:
        return self._call("stored_images")

    def finish(self, done) -> None:
        self._call("finish", done)

    def close(self) -> None:
        """Close the session in the child (what is held made durable, the text state saved)
        and wait for the child to end."""
        if self.conn is None:
            return
        try:
            self._call("close")
        finally:
            self._end()

    def pump(self) -> None:
        """Read what the child has told so far, without waiting."""
        while self.lost is None and self.conn is not None and self.readable():
            self._told(self._recv())

    def _call(self, name: str, *args, **kwargs):
        self._send(("call", name, args, kwargs))
        return self._answer()

    def _answer(self):
        """What the child told up to its answer to the call made: the last it sends until
        it is given more."""
        while True:
            for message in self._recv():
                if message[0] == "return":
                    return message[1]
                if message[0] == "raise":
                    raise message[1]
                self._dispatch(message)

    def _told(self, messages: list[tuple]) -> None:
        for message in messages:
            self._dispatch(message)

    def _dispatch(self, message: tuple) -> None:
        kind, *rest = message
        if kind == "durable":
            if self.on_durable is not None:
                self.on_durable(rest[0])
        elif kind == "outcome":
            sequence, status, reason = rest
            item = self.items.pop(sequence)
            if status == "refused" and self.on_refused is not None:
                self.on_refused(item, reason)
        elif kind == "read":
            sequence, ok, value = rest
            on_done, on_error = self.reading.pop(sequence)
            if ok:  # pickled by the child (_loop): one that cannot be read is the read's error
                try:
                    value = pickle.loads(value)
                except Exception as exc:
                    ok, value = False, ArchiveError(f"a read's answer cannot be read: {exc}")
            (on_done if ok else on_error)(value)
        elif kind == "failed":
            self.failure = rest[0]
            if self.on_failed is not None:
                self.on_failed(rest[0])
        elif kind == "log":
            name, level, text = rest
            logging.getLogger(name).log(level, "%s", text)

    def _send(self, message: tuple) -> None:
        if self.lost is not None:
            raise self.lost
        if self.conn is None:
            raise ArchiveError("the archive's session is closed")
        self.sender.put(message)

    def _recv(self) -> list[tuple]:
        if self.lost is not None:
            raise self.lost
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self._lost()

    def _lost(self):
        """The child stopped unasked: waited for, and said (the pipe stays open: `fileno`)."""
        status = self._wait(kill=True)
        if os.WIFSIGNALED(status):
            how = f"was killed by signal {os.WTERMSIG(status)}"
        else:
            code = os.waitstatus_to_exitcode(status)
            how = f"stopped (exit status {code}{': ' if self.failure else ''}{self.failure})"
        unanswered = f" with {len(self.items)} item(s) unanswered" if self.items else ""
        self.lost = WriterLost(
            f"the archive's writer (pid {self.pid}) {how}{unanswered}: what it had not made "
            "durable is asked for again next run"
        )
        reading, self.reading = self.reading, {}
        for _, on_error in reading.values():  # no read waits for an answer that cannot come
            on_error(self.lost)
        raise self.lost

    def _end(self, *, kill: bool = False) -> int:
        """The pipe closed (the child, if still there, closes its session and ends; `kill`:
        is killed) and the child waited for: its wait status."""
        if self.conn is not None:
            if kill:
                self._wait(kill=True)  # the sender is not left writing to a child that waits
            try:
                self.sender.close()
            except BaseException:  # a Ctrl-C in the wait for it: the child first
                self._wait(kill=True)
                raise
            self.conn.close()
            self.conn = None
        return self._wait(kill=kill)

    def _wait(self, *, kill: bool = False) -> int:
        """The child's end waited for. Whatever interrupts the wait (a second Ctrl-C) kills
        it first: the caller releases the archive's lock next, never with the child alive."""
        if self.status is None:
            try:
                if kill:
                    os.kill(self.pid, signal.SIGKILL)
                _, self.status = os.waitpid(self.pid, 0)
            except BaseException:
                os.kill(self.pid, signal.SIGKILL)
                _, self.status = os.waitpid(self.pid, 0)
                raise
        return self.status


# The child

STOPPING = {signal.SIGINT, signal.SIGTERM}  # the crawl hears them, and closes its writer


def _child(
    conn: Connection,
    parents_end: Connection,
    opener: Callable[[], ArchiveSession],
    parent: int,
    mask: set,
) -> None:
    code = 1
    try:
        for sig in STOPPING:
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        parents_end.close()
        _die_with(parent)
        code = _serve(conn, opener)
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux); a parent already gone ends the child now."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _serve(conn: Connection, opener: Callable[[], ArchiveSession]) -> int:
    gc.freeze()  # what the fork copied stays to the end: the collector never walks it again
    replies = _Replies(conn)
    logging.root.handlers = [_Forward(replies)]  # the crawl's logging says what is shown
    logging.root.setLevel(logging.INFO)
    logging.getLogger("crawler").setLevel(logging.DEBUG)  # ours, all of it
    try:
        try:
            session = opener()
        except Exception as exc:
            replies.put(("raise", _portable(exc)))
            return 1
        replies.put(("return", session.root))
        try:
            return _loop(conn, session, replies)
        except BaseException as exc:  # a fault of ours, or memory: said before the child ends
            replies.put(("failed", one_line(exc)))
            return 1
    finally:
        replies.close()


def _loop(conn: Connection, session: ArchiveSession, replies: _Replies) -> int:
    """Do what the crawl gives, in order, until it closes the session (or is gone)."""
    failed = False  # the archive cannot be written: what comes after is not taken

    def failing(exc: Exception) -> None:
        nonlocal failed
        failed = True
        replies.put(("failed", str(exc) or one_line(exc)))

    readable = _readable(conn)
    waiting: deque[tuple] = deque()  # read from the pipe, not done yet
    ended = False  # the crawl closed the pipe without closing us: what it sent, then close
    while True:
        try:
            while not ended and (not waiting or readable()):
                waiting.append(conn.recv())
        except (EOFError, OSError):
            ended = True
            waiting = deque(m for m in waiting if m[0] != "apart")  # no one waits for those
        if not waiting:
            session.close()
            return 0
        # A page to read goes first: the crawl waits on it, and reading changes nothing here
        # (the archive's own work stays in the order given).
        read = next((m for m in waiting if m[0] == "apart"), None)
        if read is not None:
            waiting.remove(read)
        message = read or waiting.popleft()
        kind = message[0]
        if kind == "take":
            _, sequence, item = message
            status, reason = "dropped", ""
            if not failed:
                try:
                    outcome = session.take(item)
                    status, reason = outcome.status, outcome.reason
                except Exception as exc:
                    failing(exc)
            replies.put(("outcome", sequence, status, reason))
        elif kind == "apart":
            _, sequence, function, args, kwargs = message
            try:
                # pickled here, once: one that cannot go back is its error
                answer = ("read", sequence, True, pickle.dumps(function(*args, **kwargs)))
            except Exception as exc:
                answer = ("read", sequence, False, _portable(exc))
            replies.put(answer)
        elif kind == "flush":
            if not failed:
                try:
                    session.flush(message[1])
                except Exception as exc:
                    failing(exc)
        elif kind == "feed":
            session.feed(batch=message[1], on_durable=lambda r: replies.put(("durable", r)))
        elif kind == "call" and message[1] in CALLS:
            _, name, args, kwargs = message
            try:
                value = getattr(session, name)(*args, **kwargs)
            except Exception as exc:
                replies.put(("raise", _portable(exc)))
            else:
                replies.put(("return", value))
            if name == "close":
                return 0


def _readable(conn: Connection) -> Callable[[], bool]:
    """`conn.poll()` without waiting, asked after every message: one poller for the pipe
    (Connection.poll makes a selector each time). An end closed is readable (EOF)."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return lambda: bool(poller.poll(0))


def _portable(exc: Exception) -> Exception:
    """The exception as the parent can raise it: itself when it survives pickling, else an
    ArchiveError naming it."""
    try:
        return pickle.loads(pickle.dumps(exc))
    except Exception:
        return ArchiveError(one_line(exc))


class _Courier:
    """A thread of its own that sends what is put on its queue down `conn` (`_send_all`):
    its owner never waits on a full pipe. `close` sends what is left (waiting at most
    `timeout` seconds) and ends it."""

    def __init__(self, conn: Connection, *, timeout: float | None = None):
        self.conn = conn
        self.timeout = timeout
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._send_all, daemon=True)
        self.thread.start()

    def put(self, message: Any) -> None:
        self.queue.put(message)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=self.timeout)

    def _send_all(self) -> None:
        raise NotImplementedError


class _Replies(_Courier):
    """The child's answers: the child never waits on a full pipe while the parent waits on
    it (each side would wait for the other). What is waiting goes in one message (a list):
    one read for the parent however much the child told. Its last send is bounded: a parent
    that stopped reading must not keep the child."""

    def __init__(self, conn: Connection):
        super().__init__(conn, timeout=10)

    def _send_all(self) -> None:
        ended = False
        while not ended:
            messages = [self.queue.get()]
            while not self.queue.empty():
                messages.append(self.queue.get())
            if ended := messages[-1] is None:
                messages.pop()
            try:
                if messages:
                    self.conn.send(messages)
            except OSError:  # the parent is gone
                return
            except BaseException:  # an answer that cannot be sent: the parent hears the child
                os._exit(1)  # end (WriterLost) rather than wait forever for the rest


class _Sender(_Courier):
    """The crawl's messages to the child: the reactor never waits on a full pipe (a page is
    250 KB; the pipe holds less) while the child is busy. Each is pickled by the caller (what
    cannot be is its error, not the thread's); one that cannot be sent (the child is gone)
    is dropped: the next read says why."""

    def put(self, message: Any) -> None:
        super().put(ForkingPickler.dumps(message))  # as Connection.send would

    def _send_all(self) -> None:
        broken = False
        while (data := self.queue.get()) is not None:
            if not broken:
                try:
                    self.conn.send_bytes(data)
                except BaseException:  # the child is gone: the next read says so
                    broken = True


class _Forward(logging.Handler):
    """The child's log lines, told to the parent, which logs them as its own."""

    def __init__(self, replies: _Replies):
        super().__init__()
        self.replies = replies

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.replies.put(("log", record.name, record.levelno, record.getMessage()))
        except Exception:
            self.handleError(record)
