"""The runs' tables: each crawl's counts (`crawls`), each feed's validators (`feeds`), and the
size each WARC file of raw captures had at its last append (`warc_files`, the cache's: an
append past it checks what is there first, store/warc.py). A part of ProvenanceIndex."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    source        TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    etag          TEXT NOT NULL,
    last_modified TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crawls (
    source    TEXT NOT NULL,
    finished  TEXT NOT NULL,
    new       INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    failed    INTEGER NOT NULL,
    error     TEXT,
    unrecognized INTEGER NOT NULL DEFAULT 0  -- article pages of no known layout
);
CREATE TABLE IF NOT EXISTS warc_files (
    path TEXT PRIMARY KEY,  -- relative to the archive root
    size INTEGER NOT NULL
) WITHOUT ROWID;
"""


class RunTables:
    """What each run left (ProvenanceIndex's `crawls`, `feeds`)."""

    _db: sqlite3.Connection  # the rest is ProvenanceIndex\'s

    def validators(self, source: str, url: str) -> dict[str, str]:
        """The ETag and Last-Modified a feed last answered with (if its URL is unchanged)."""
        row = self._db.execute(
            "SELECT etag, last_modified FROM feeds WHERE source=? AND url=?", (source, url)
        ).fetchone()
        return {"etag": row[0], "last_modified": row[1]} if row else {}

    def set_validators(self, source: str, url: str, etag: str, last_modified: str) -> None:
        self._changed = True
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO feeds VALUES (?,?,?,?)", (source, url, etag, last_modified)
            )

    def record_crawl(
        self, source: str, finished: str, counts: dict[str, int], error: str | None
    ) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO crawls (source, finished, new, updated, unchanged, failed, error, "
                "unrecognized) VALUES (?,?,?,?,?,?,?,?)",
                (
                    source,
                    finished,
                    *(counts.get(k, 0) for k in ("new", "updated", "unchanged", "failed")),
                    error,
                    counts.get("unrecognized", 0),
                ),
            )

    def warc_size(self, path: str) -> int | None:
        row = self._db.execute("SELECT size FROM warc_files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    def set_warc_size(self, path: str, size: int) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO warc_files VALUES (?,?)", (path, size))


def migrate(db: sqlite3.Connection) -> None:
    """Columns an index from before lacks."""
    if "unrecognized" not in {row[1] for row in db.execute("PRAGMA table_info(crawls)")}:
        db.execute("ALTER TABLE crawls ADD COLUMN unrecognized INTEGER NOT NULL DEFAULT 0")
