"""Reading the archive back: listings, one item, statistics — from the provenance index."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .images import store_size
from .index import ProvenanceIndex, Record
from .samples import sample_counts
from .search import Listing


def list_items(
    index: ProvenanceIndex,
    source: str | None = None,
    since: str | None = None,
    *,
    edited: bool = False,
    taken_down: bool = False,
) -> Iterator[Listing]:
    """Newest first (equal dates by path); `since` is an ISO date or time (UTC) compared with
    each item's date; `edited`: only items with an earlier version; `taken_down`: only those
    the source took down. Read as SQLite walks its date index: one row at a time."""
    where, params = [], []
    for wanted, table, known in (
        (edited, "versions", index.edited),
        (taken_down, "takedowns", index.taken_down),
    ):
        if not wanted:
            continue
        if not known():  # none (or an index from before the table)
            return iter(())
        where.append(
            f"EXISTS (SELECT 1 FROM {table} t WHERE t.source = items.source "
            "AND t.item_id = items.item_id)"
        )
    if source:
        where.append("source = ?")
        params.append(source)
    if since:
        where.append("date >= ?")
        params.append(since)
    rows = index.db.execute(
        "SELECT date, source, title, path, url, item_id FROM items"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY date DESC, path DESC",
        params,
    )
    return map(Listing._make, rows)


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
    edited: Counter = field(default_factory=Counter)  # items with an earlier version, by source
    taken_down: Counter = field(default_factory=Counter)  # by source


def stats(index: ProvenanceIndex, root: Path) -> Stats:
    result = Stats()
    db = index.db
    result.per_source.update(dict(db.execute("SELECT source, count(*) FROM items GROUP BY 1")))
    result.per_day.update(
        dict(db.execute("SELECT substr(date, 1, 10), count(*) FROM items GROUP BY 1"))
    )
    base = os.fspath(root)
    for source, path in db.execute("SELECT source, path FROM items"):
        with contextlib.suppress(OSError):
            result.bytes_per_source[source] += os.stat(f"{base}/{path}").st_size
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
    result.edited.update(source for source, _ in index.edited())
    result.taken_down.update(source for source, _ in index.taken_down())
    return result
