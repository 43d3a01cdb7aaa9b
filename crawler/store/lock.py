"""One writer per archive: an advisory lock that dies with its process."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from .index import HIDDEN_DIR

LOCK_NAME = "lock"


class ArchiveLocked(Exception):
    """Another process holds the archive; the message names its pid."""

    def __init__(self, root: Path, pid: str):
        super().__init__(f"{root}: another crawl (pid {pid or 'unknown'}) holds the archive's lock")
        self.pid = pid


class ArchiveLock:
    """flock on `<root>/.crawler/lock`: the kernel releases it when the holder dies, so the
    lock of a killed crawl is simply taken over. The file names the holder's pid."""

    def __init__(self, root: Path):
        self.root = root
        self.path = root / HIDDEN_DIR / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock (ArchiveLocked if another process has it). The hidden folder and the
        lock file are the archive's own: never opened through a symbolic link."""
        hidden = self.path.parent
        if hidden.is_symlink():
            raise OSError(f"{hidden}: is a symbolic link, not the archive's own folder: refused")
        hidden.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            self.path.unlink()  # a link planted where the lock goes: the link goes, not its target
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise ArchiveLocked(self.root, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
