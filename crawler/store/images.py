"""The image store: `<archive>/images/<2 hex>/<sha256><ext>`, one file per distinct content.

Content addressing makes a file's name its checksum: the same picture under two URLs is kept
once, a stored file never changes, and `archive verify` can tell a damaged one by its name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from .atomic import make_dirs, write_atomic

IMAGES_DIR = "images"
_NAME = re.compile(r"(?P<sha>[0-9a-f]{64})\.[a-z0-9]{2,5}")

# A stored picture is served from the blog's own origin: only raster images, told by their
# bytes, are kept. An SVG runs script when opened; an HTML or XML answer labelled image/* (or
# named .jpg) would be sniffed by some clients. Anything else is refused, whatever its label.
_MAGIC = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
    (b"\x00\x00\x01\x00", ".ico"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
)
_ISO_BRANDS = {b"avif": ".avif", b"avis": ".avif", b"heic": ".heic", b"heix": ".heic"}


class ImageError(Exception):
    """What was downloaded cannot be kept as an image (the message says why)."""


def image_extension(data: bytes, content_type: str = "", url: str = "") -> str:
    """The file extension of a raster image, from its bytes; ImageError for anything else."""
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[data[8:12]]
    kind = content_type.split(";")[0].strip().lower() or "no Content-Type"
    if kind == "image/svg+xml" or data.lstrip()[:5].lower() in (b"<svg ", b"<svg>", b"<?xml"):
        raise ImageError(f"SVG refused: it can run script from the blog ({kind})")
    if kind.startswith("image/"):
        raise ImageError(f"not a raster image by its bytes (served as {kind})")
    raise ImageError(f"not an image ({kind})")


def image_path(sha256: str, ext: str) -> str:
    return f"{IMAGES_DIR}/{sha256[:2]}/{sha256}{ext}"


class ImageStore:
    def __init__(self, root: Path):
        self.root = root.resolve()

    def put(self, data: bytes, content_type: str, url: str) -> tuple[str, str]:
        """Keep `data` (atomically, once); its path in the archive and its sha256."""
        ext = image_extension(data, content_type, url)
        sha = hashlib.sha256(data).hexdigest()
        rel = image_path(sha, ext)
        path = self.root / rel
        if not self.holds(rel):
            make_dirs(path.parent, inside=self.root)
            if not path.parent.resolve().is_relative_to(self.root) or path.is_symlink():
                raise OSError(f"{path}: leads outside the archive (symbolic link?)")
            write_atomic(path, data)
        return rel, sha

    def holds(self, rel: str) -> bool:
        """Whether the stored file is there (its name is its digest: a whole file is right)."""
        path = self.root / rel
        return path.is_file() and not path.is_symlink()


def stored_files(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    """(path in the archive, path, sha256 its name claims or None) of every stored file."""
    folder = root / IMAGES_DIR
    if not folder.is_dir():
        return
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir() or sub.is_symlink():
            continue
        for path in sorted(sub.iterdir()):
            if path.name.startswith("."):  # a write's temporary file: verify's walk reports it
                continue
            m = _NAME.fullmatch(path.name)
            sha = m.group("sha") if m and m.group("sha")[:2] == sub.name else None
            yield path.relative_to(root).as_posix(), path, sha


def store_size(root: Path) -> tuple[int, int]:
    """(files, bytes) in the image store."""
    files = size = 0
    for _, path, _ in stored_files(root):
        if path.is_file():
            files += 1
            size += path.stat().st_size
    return files, size
