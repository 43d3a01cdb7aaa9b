"""Atomic file replacement: a crash leaves the old file or the new one, never a torn one; and
the one way a file in the archive is read (`read_archive_file`): a checkout can plant anything."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

TEMP_SUFFIX = ".crawler-tmp"  # with a leading dot: Hexo skips hidden files
# No file the crawler writes comes near it (a 10 MB page whose every character the body edits
# made six); a bigger one was planted, and reading it whole could exhaust the memory.
MAX_FILE_BYTES = 128 << 20
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what a file made by open() would have


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file in the same folder, flush + fsync, rename, fsync the folder (the file's
    own fsync keeps it whole; the folder's makes the new name outlive a power cut)."""
    fd, tmp = write_temp(path, data)
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_temp(path: Path, data: bytes) -> tuple[int, Path]:
    """`data` in a new temporary file beside `path`, not synced yet: its open descriptor (the
    caller fsyncs and closes it) and its path."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=TEMP_SUFFIX)
    try:
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, Path(tmp)


def fsync_all(fds: list[int]) -> None:
    """fsync several files at once: the file system joins concurrent syncs into one journal
    commit, where one after the other each waits for its own (on a disk, ~10 ms apiece)."""
    if len(fds) > 1:
        list(_syncers().map(os.fsync, fds))
    elif fds:
        os.fsync(fds[0])


@cache
def _syncers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="fsync")


# A forked child (store/process.py) has none of its parent's threads: its own pool, made anew.
os.register_at_fork(after_in_child=_syncers.cache_clear)


def make_dirs(path: Path, inside: Path | None = None) -> None:
    """Create `path` and its missing parents, each made durable in its own parent; with
    `inside`, never through a symbolic link that leads out of it (an OSError names it)."""
    missing = []
    while not path.exists() and not path.is_symlink():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        if inside is not None and not folder.parent.resolve().is_relative_to(inside):
            raise OSError(f"{folder}: leads outside the archive (symbolic link?)")
        folder.mkdir(exist_ok=True)
        fsync_dir(folder.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_temp_file(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


class RefusedFile(OSError):
    """What lies at an archive path is not a plain file of bounded size: it is never read."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def read_archive_file(path: Path, cap: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, of at most `cap` bytes: never through a
    symbolic link (git carries them: one to /dev/zero never ends), never blocking on a FIFO,
    never more than `cap` + 1 bytes read. FileNotFoundError when nothing is there, RefusedFile
    (its `reason` says why) for anything else that is there, OSError when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedFile(path, "not a plain file (a symbolic link): not read") from None
        if exc.errno == errno.ENXIO:
            raise RefusedFile(path, "not a plain file (a socket): not read") from None
        if exc.errno == errno.ENOTDIR:
            raise RefusedFile(path, "not a plain file (a file stands for a folder)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise RefusedFile(path, f"not a plain file ({kind}): not read")
        size = info.st_size
        data = _read_fd(fd, cap + 1, size + 1) if size <= cap else b""
    finally:
        os.close(fd)
    if size > cap or len(data) > cap:  # grown since fstat: still no more than cap + 1 read
        raise RefusedFile(path, f"larger than {cap:,} bytes: not read")
    return data


def _read_fd(fd: int, limit: int, expected: int) -> bytes:
    """At most `limit` bytes, in reads the size of what fstat said (a growing file: more)."""
    chunks, left, step = [], limit, max(expected, 1 << 16)
    while left and (chunk := os.read(fd, min(left, step))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def unreadable(exc: OSError) -> str:
    """Why a file of the archive was not read, for a report line (the path said apart)."""
    if isinstance(exc, RefusedFile):
        return exc.reason
    return exc.strerror or str(exc)
