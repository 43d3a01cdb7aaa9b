"""The rechecks' tables: when each archived article was last asked for again (by a recheck,
or fetched again by a crawl and found the same) and the validators its page answered with
(`checks`, the cache's alone: a clone asks again), and the
articles the source took down (`takedowns`, in the text state: the item's line says when and
why). A part of ProvenanceIndex."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    source        TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    checked_at    TEXT NOT NULL,  -- last asked for again (ISO 8601, UTC): the recheck order
    seen_at       TEXT NOT NULL,  -- last answered as the same ('' never): what edits follow
    etag          TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS takedowns (
    source  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,  -- when the recheck found it gone (ISO 8601, UTC)
    reason  TEXT NOT NULL,  -- HTTP 404, a redirect to the home page, the page's words
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;
"""


class Takedown(NamedTuple):
    seen_at: str
    reason: str


class CheckTables:
    """Rechecks and takedowns (ProvenanceIndex's `checks`, `takedowns`)."""

    _db: sqlite3.Connection  # the rest is ProvenanceIndex's

    def due_checks(
        self, sources: list[str], since: str, limit: int
    ) -> list[tuple[str, str, dict[str, str]]]:
        """(source, item id, validators) of up to `limit` articles of `sources` dated on or
        after `since` and not taken down, the longest unchecked first (never checked: the
        oldest first)."""
        if not sources:
            return []
        marks = ",".join("?" * len(sources))
        rows = self._db.execute(
            "SELECT i.source, i.item_id, COALESCE(c.etag, ''), COALESCE(c.last_modified, '') "
            "FROM items i LEFT JOIN checks c ON c.source = i.source AND c.item_id = i.item_id "
            f"WHERE i.source IN ({marks}) AND i.date >= ? AND NOT i.adopted AND NOT EXISTS "
            "(SELECT 1 FROM takedowns t WHERE t.source = i.source AND t.item_id = i.item_id) "
            "ORDER BY c.checked_at IS NOT NULL, c.checked_at, i.date, i.path LIMIT ?",
            (*sources, since, limit),
        )
        return [
            (source, item_id, {"etag": etag, "last_modified": modified})
            for source, item_id, etag, modified in rows
        ]

    def note_check(
        self,
        source: str,
        item_id: str,
        checked_at: str,
        etag: str,
        last_modified: str,
        *,
        answered: bool,
    ) -> None:
        """A recheck asked for the article at `checked_at`; `answered`: and the answer said
        something of it (a failed request moves it back in the order, nothing more)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO checks VALUES (?,?,?,?,?,?) ON CONFLICT(source, item_id) DO UPDATE "
                "SET checked_at=excluded.checked_at, etag=excluded.etag, "
                "last_modified=excluded.last_modified, seen_at=CASE WHEN ? THEN "
                "excluded.seen_at ELSE seen_at END",
                (
                    source,
                    item_id,
                    checked_at,
                    checked_at if answered else "",
                    etag,
                    last_modified,
                    answered,
                ),
            )

    def note_seen(self, source: str, item_id: str, seen_at: str) -> None:
        """The article was fetched again and found the same (the cache's: the text state
        keeps when its version was first fetched)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO checks VALUES (?,?,?,?,'','') ON CONFLICT(source, item_id) "
                "DO UPDATE SET seen_at=excluded.seen_at",
                (source, item_id, seen_at, seen_at),
            )

    def note_takedown(self, source: str, item_id: str, takedown: Takedown | None) -> bool:
        """The source took the article down (`takedown`), or has it again (None): whether
        that is news."""
        row = self._db.execute(
            "SELECT date FROM items WHERE source=? AND item_id=?", (source, item_id)
        ).fetchone()
        if row is None:
            return False
        with self.transaction():
            if takedown is None:
                changed = self._db.execute(
                    "DELETE FROM takedowns WHERE source=? AND item_id=?", (source, item_id)
                ).rowcount
            else:
                changed = self._db.execute(
                    "INSERT OR IGNORE INTO takedowns VALUES (?,?,?,?)",
                    (source, item_id, *takedown),
                ).rowcount
            if changed:
                self._mark_month(source, row[0])
        return bool(changed)

    def takedown(self, source: str, item_id: str) -> Takedown | None:
        if not self._has_table("takedowns"):
            return None
        row = self._db.execute(
            "SELECT seen_at, reason FROM takedowns WHERE source=? AND item_id=?",
            (source, item_id),
        ).fetchone()
        return Takedown(*row) if row else None

    def taken_down(self) -> set[tuple[str, str]]:
        """(source, item id) of every article the source took down."""
        if not self._has_table("takedowns"):
            return set()
        return set(self._db.execute("SELECT source, item_id FROM takedowns"))
