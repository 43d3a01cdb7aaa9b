"""The archive as a command opens it: `Archive.read` to review it, `Archive.write` to change it.

Reading brings the cache up to date with the text state first (a checkout brought the state,
not the cache), and builds the search index when it is missing and asked for; when a crawl
holds the archive or it cannot be written (a read-only copy), it is read as it is. Writing
takes the archive's lock; the crawl's one session then opens the writer (dirty mark, journal
recovery) and sweeps what a killed writer left. No Scrapy, no command line here."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .index import ProvenanceIndex
from .lock import ArchiveLock, ArchiveLocked
from .process import SessionProcess
from .search import index_state
from .session import ArchiveSession
from .writer import ArchiveError


class ArchivePathError(ArchiveError):
    """The path given cannot be an archive (a file, below one, a name too long)."""


class Archive:
    """The archive below `root`, opened by `read` (with its index) or `write` (its lock
    held). A bare `Archive(root)` is only its place: what `--stdout` previews against."""

    def __init__(
        self,
        root: Path,
        *,
        index: ProvenanceIndex | None = None,
        lock: ArchiveLock | None = None,
    ):
        self.root = root
        self._index = index
        self._lock = lock

    @property
    def index(self) -> ProvenanceIndex:
        """The provenance index (an ArchiveError when the archive has none)."""
        if self._index is None:
            raise ArchiveError(
                f"{self.root}: no provenance index here: run 'crawler archive reindex' first"
            )
        return self._index

    @classmethod
    @contextmanager
    def read(cls, root: Path, *, search: bool = False) -> Iterator[Archive]:
        """The archive with its index, read-only (`index` says when it has none); `search`:
        its search index whole too."""
        must_exist(root)
        if ProvenanceIndex.stale_cache(root):
            _maintain(root, lambda: ProvenanceIndex.open(root).close())
        archive = cls(root, index=ProvenanceIndex.open_existing(root))
        if search and index_state(archive.index.db):  # the cache came without it: built now
            from .verify import rebuild_search

            archive.index.close()
            _maintain(root, lambda: rebuild_search(root))
            archive = cls(root, index=ProvenanceIndex.open_existing(root))
        try:
            if search and (problem := index_state(archive.index.db)):
                raise ArchiveError(f"{problem}: run 'crawler archive reindex'")
            yield archive
        finally:
            if archive._index is not None:
                archive._index.close()

    @classmethod
    @contextmanager
    def write(cls, root: Path, *, create: bool = True) -> Iterator[Archive]:
        """The archive with its lock held (ArchiveLocked when another process has it); the
        folder is made if need be (`create`), else it must be there."""
        if create:
            check_path(root)
            root.mkdir(parents=True, exist_ok=True)
        else:
            must_exist(root)
        lock = ArchiveLock(root)
        lock.acquire()
        try:
            yield cls(root, lock=lock)
        finally:
            lock.release()

    def session(self, *, apart: bool = False) -> ArchiveSession | SessionProcess:
        """A crawl's one session on the archive (close it when the crawl ends): the writer
        opened, the temp files a killed writer left swept; `apart`: in a child process of
        its own (store/process.py), which a crawl's reactor feeds."""
        if self._lock is None:
            raise ArchiveError(f"{self.root}: not opened to write")
        return SessionProcess(self._open_session) if apart else self._open_session()

    def _open_session(self) -> ArchiveSession:
        session = ArchiveSession(self.root)
        session.writer.remove_stale_temp_files()
        return session


def check_path(root: Path) -> None:
    """The archive is a folder, or can become one: never a file, nor below one."""
    try:
        exists = root.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        shown = str(root) if len(str(root)) <= 200 else f"{str(root)[:200]}…"
        raise ArchivePathError(f"{shown}: not a usable archive path: {reason}") from None
    if exists and not root.is_dir():
        raise ArchivePathError(f"{root}: archive path exists and is not a folder")
    above = next((p for p in root.absolute().parents if os.path.exists(p)), None)
    if above is not None and not above.is_dir():
        raise ArchivePathError(f"{root}: archive path lies below {above}, a file")


def must_exist(root: Path) -> None:
    check_path(root)
    if not root.is_dir():
        raise ArchiveError(
            f"{root.absolute()}: no such archive folder (give it with --archive, or -c FEEDS)"
        )


def _maintain(root: Path, rebuild: Callable[[], None]) -> None:
    """Rebuild part of the archive's cache under its lock, unless a crawl holds the archive
    or it cannot be written (a read-only copy): then it is read as it is, and the command
    says what is missing."""
    lock = ArchiveLock(root)
    try:
        lock.acquire()
    except (ArchiveLocked, OSError):
        return
    try:
        rebuild()
    except (OSError, sqlite3.Error):
        pass
    finally:
        lock.release()
