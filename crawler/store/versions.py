"""The text of a post's earlier versions, below `.crawler/versions/` (Hexo publishes nothing of
the hidden folder): `<post's path without .md>/<first 16 hex digits of its sha256>.txt`, the
file as it was (not `.md`: what looks for posts by their suffix finds none here). Which
versions an item had, when and with what title, is the index's (index_versions.py) and the
text state's; the git recipe leaves these files out (git keeps the post's history itself)."""

from __future__ import annotations

import difflib
from pathlib import Path

from .atomic import make_dirs, read_archive_file, write_atomic
from .index import HIDDEN_DIR

VERSIONS_DIR = "versions"


def version_path(root: Path, post: str, sha256: str) -> Path:
    """Where the text of the version of `post` (its path in the archive) with this sha256 is."""
    return root / HIDDEN_DIR / VERSIONS_DIR / post.removesuffix(".md") / f"{sha256[:16]}.txt"


def keep_version(root: Path, post: str, sha256: str, data: bytes) -> None:
    """Keep a post's bytes as they were before it is written anew (durable on return). An
    OSError when it cannot: a folder on the way that leads out of the archive."""
    path = version_path(root, post, sha256)
    make_dirs(path.parent, inside=root)
    if not path.parent.resolve().is_relative_to(root):  # an existing folder that is a link
        raise OSError(f"{path.parent}: leads outside the archive (symbolic link?)")
    write_atomic(path, data)


def version_text(root: Path, post: str, sha256: str) -> str | None:
    """The text of a kept version; None when it is not kept here (a clone of the archive in
    git, a version from before), or not the archive's own file."""
    return file_text(version_path(root, post, sha256))


def file_text(path: Path) -> str | None:
    """A file of the archive as text; None when it is gone or not the archive's own (a link,
    a FIFO, a huge file)."""
    try:
        return read_archive_file(path).decode("utf-8", "replace")
    except OSError:
        return None


def text_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """A unified diff of two texts, line by line."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        old_name,
        new_name,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
