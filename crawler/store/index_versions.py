"""The versions table: each earlier version of an archived post (the source edited the article
and the crawler wrote it anew), with when it was fetched, its sha256 and its title. The text of
each is kept below `.crawler/versions/` (store/versions.py). A part of ProvenanceIndex."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    source     TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    fetched_at TEXT NOT NULL,  -- when this version was fetched (ISO 8601, UTC)
    sha256     TEXT NOT NULL,  -- of the post as it was then
    title      TEXT NOT NULL,
    PRIMARY KEY (source, item_id, fetched_at)
) WITHOUT ROWID;
"""


class Version(NamedTuple):
    fetched_at: str
    sha256: str
    title: str


class VersionTable:
    """Earlier versions of the posts (ProvenanceIndex's `versions`)."""

    _db: sqlite3.Connection  # the rest is ProvenanceIndex's

    def _add_version(self, source: str, item_id: str, version: Version) -> None:
        """Keep an earlier version (inside the caller's transaction: the post's `put`)."""
        self._db.execute(
            "INSERT OR REPLACE INTO versions VALUES (?,?,?,?,?)", (source, item_id, *version)
        )

    def versions(self, source: str, item_id: str) -> list[Version]:
        """The item's earlier versions, oldest first (the current one is its record)."""
        if not self._has_table("versions"):
            return []
        rows = self._db.execute(
            "SELECT fetched_at, sha256, title FROM versions WHERE source=? AND item_id=? "
            "ORDER BY fetched_at",
            (source, item_id),
        )
        return [Version(*row) for row in rows]

    def edited(self) -> set[tuple[str, str]]:
        """(source, item id) of every item with an earlier version."""
        if not self._has_table("versions"):
            return set()
        return set(self._db.execute("SELECT DISTINCT source, item_id FROM versions"))
