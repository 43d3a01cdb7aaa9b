"""Reading the archive back: listings, one item, statistics — from the provenance index."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .images import store_size
from .index import ProvenanceIndex, Record
from .samples import sample_counts
from .search import Listing


def list_items(
    index: ProvenanceIndex, source: str | None = None, since: str | None = None
) -> list[Listing]:
    """Newest first; `since` is an ISO date or time (UTC) compared with each item's date."""
    records = (r for r in index.records() if (not source or r.source == source))
    chosen = [r for r in records if not since or r.date >= since]
    chosen.sort(key=lambda r: (r.date, r.path), reverse=True)
    return [Listing(r.date, r.source, r.title, r.path, r.url, r.item_id) for r in chosen]


def find_items(index: ProvenanceIndex, root: Path, path_or_id: str) -> list[Record]:
    """The item at that path (relative to the root, to the current folder, or absolute), else
    the items with that id."""
    candidate = Path(path_or_id)
    if candidate.is_absolute() or (candidate.exists() and not (root / candidate).exists()):
        try:  # an absolute path, or one relative to the current folder
            candidate = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            return []
    record = index.at_path(candidate.as_posix())
    if record is not None:
        return [record]
    return [r for r in index.records() if r.item_id == path_or_id]


@dataclass
class Stats:
    per_source: Counter = field(default_factory=Counter)
    bytes_per_source: Counter = field(default_factory=Counter)
    per_day: Counter = field(default_factory=Counter)
    last_crawls: dict[str, tuple] = field(default_factory=dict)
    retries: list[tuple] = field(default_factory=list)
    images: tuple[int, int] = (0, 0)  # files and bytes in the image store
    image_failures: list[tuple] = field(default_factory=list)  # (url, attempts, last error)
    samples: dict[str, int] = field(default_factory=dict)  # pages of unknown layouts kept


def stats(index: ProvenanceIndex, root: Path) -> Stats:
    result = Stats()
    for record in index.records():
        result.per_source[record.source] += 1
        result.per_day[record.date[:10]] += 1
        with contextlib.suppress(OSError):
            result.bytes_per_source[record.source] += os.path.getsize(root / record.path)
    columns = {row[1] for row in index.db.execute("PRAGMA table_info(crawls)")}
    unrecognized = "unrecognized" if "unrecognized" in columns else "0"  # an older index
    rows = index.db.execute(
        "SELECT source, finished, new, updated, unchanged, failed, error, "
        f"{unrecognized} FROM crawls ORDER BY finished"
    )
    for source, *rest in rows:
        result.last_crawls[source] = tuple(rest)
    result.retries = index.retries()
    result.images = store_size(root)
    result.image_failures = index.failed_images()
    result.samples = sample_counts(root)
    return result
