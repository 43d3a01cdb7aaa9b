"""Atomic file replacement: a crash leaves the old file or the new one, never a torn one."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

TEMP_SUFFIX = ".crawler-tmp"  # with a leading dot: Hexo skips hidden files


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
