"""Pages of a layout no extractor knows, kept for whoever adds the next layout family.

Per source, in `.crawler/samples/<source>/`: each page gzipped as it was received, and a
`manifest.json` (oldest first) saying which item, URL and media type each file holds: what
a case in tests/cases/sina/ needs (docs/EXTENDING.md). At most `SAMPLES_PER_SOURCE` per source:
the oldest go first; a page sampled again replaces its older sample.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
from pathlib import Path

from ..items import Sample
from .atomic import make_dirs, read_archive_file, write_atomic
from .index import HIDDEN_DIR
from .paths import stem_for

SAMPLES_DIR = "samples"
SAMPLES_PER_SOURCE = 20
MANIFEST = "manifest.json"
_FILE = re.compile(r"\d{8}T\d{6}Z_[0-9a-f]{10}\.html\.gz")
_FIELDS = ("file", "item_id", "url", "content_type", "fetched_at")
_MAX_MANIFEST = 1 << 20  # a bigger one was not written by us: started afresh


def samples_folder(root: Path, source: str) -> Path:
    return root / HIDDEN_DIR / SAMPLES_DIR / stem_for(source)


def keep_sample(root: Path, sample: Sample, limit: int = SAMPLES_PER_SOURCE) -> Path:
    """Keep `sample` below `root` (resolved), dropping the oldest beyond `limit`: the path of
    its file. An OSError when it cannot (a folder on the way that leads out of the archive)."""
    folder = samples_folder(root, sample.source)
    make_dirs(folder, inside=root)
    if not folder.resolve().is_relative_to(root):  # an existing folder that is a link
        raise OSError(f"{folder}: leads outside the archive (symbolic link?)")
    moment = sample.fetched_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"{moment}_{hashlib.sha1(sample.item_id.encode('utf-8')).hexdigest()[:10]}.html.gz"
    write_atomic(folder / name, gzip.compress(sample.page, mtime=0))
    entries = [e for e in sample_entries(folder) if e["item_id"] != sample.item_id]
    entries.append(
        {
            "file": name,
            "item_id": sample.item_id,
            "url": sample.url,
            "content_type": sample.content_type,
            "fetched_at": sample.fetched_at.isoformat(timespec="seconds"),
        }
    )
    kept = entries[-limit:]
    write_atomic(folder / MANIFEST, json.dumps(kept, ensure_ascii=False, indent=1).encode())
    names = {e["file"] for e in kept}
    for path in folder.iterdir():  # dropped, replaced, or left by a crash before the manifest
        if _FILE.fullmatch(path.name) and path.name not in names:
            with contextlib.suppress(OSError):
                path.unlink()  # a link goes, never what it points to
    return folder / name


def sample_entries(folder: Path) -> list[dict[str, str]]:
    """The manifest's entries whose file is there; [] for a manifest that is not ours."""
    data = _small_file(folder / MANIFEST)
    if data is None:
        return []
    try:
        entries = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not isinstance(entries, list):
        return []
    return [
        e
        for e in entries
        if isinstance(e, dict)
        and all(isinstance(e.get(k), str) for k in _FIELDS)
        and _FILE.fullmatch(e["file"])
        and (folder / e["file"]).is_file()
    ]


def _small_file(path: Path) -> bytes | None:
    """The bytes of a plain file of at most `_MAX_MANIFEST` bytes, None for anything else."""
    try:
        return read_archive_file(path, _MAX_MANIFEST)
    except OSError:  # RefusedFile among them
        return None


def sample_counts(root: Path) -> dict[str, int]:
    """Samples kept per source folder (its name made from the source's)."""
    base = root / HIDDEN_DIR / SAMPLES_DIR
    if not base.is_dir() or base.is_symlink():
        return {}
    return {
        folder.name: count
        for folder in sorted(base.iterdir())
        if folder.is_dir() and not folder.is_symlink()
        if (count := len(sample_entries(folder)))
    }
