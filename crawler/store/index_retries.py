"""The retries table: articles to ask for again (failed, or asked for by a crawl that never got
them), and those given up. A part of ProvenanceIndex."""

from __future__ import annotations

import json
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS retries (
    source     TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    url        TEXT NOT NULL,
    payload    TEXT NOT NULL,
    attempts   INTEGER NOT NULL,  -- failed runs in a row (the cache's alone: not in the text)
    last_error TEXT NOT NULL,
    given_up   INTEGER NOT NULL DEFAULT 0,  -- never asked for again (but by --refresh)
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;
"""


class RetryTable:
    """Items to ask for again, and those given up (ProvenanceIndex's `retries`)."""

    _db: sqlite3.Connection  # the rest is ProvenanceIndex\'s

    def note_failure(
        self,
        source: str,
        item_id: str,
        url: str,
        payload: dict | None,
        error: str,
        *,
        counted: bool = True,
    ) -> int:
        """Remember an item to request again next run (with `payload`, or as it was asked for
        when None); returns how many runs in a row it has failed. A failure that is not
        `counted` (its whole source was down) keeps the count as it was; one given up stays
        given up, as it was."""
        text = None if payload is None else json.dumps(payload, ensure_ascii=False)
        step = int(counted)
        self._changed = True
        with self.transaction():
            self._db.execute(
                "INSERT INTO retries (source, item_id, url, payload, attempts, last_error) "
                "VALUES (?,?,?,COALESCE(?,'{}'),?,?) "
                "ON CONFLICT(source, item_id) DO UPDATE "
                "SET attempts=attempts+?, last_error=excluded.last_error, url=excluded.url, "
                "payload=COALESCE(?, payload) WHERE given_up=0",
                (source, item_id, url, text, step, error, step, text),
            )
            return self._db.execute(
                "SELECT attempts FROM retries WHERE source=? AND item_id=?", (source, item_id)
            ).fetchone()[0]

    def give_up(self, source: str, item_id: str) -> None:
        """Never ask for this item again (its line in the text state says so), unless a
        crawl refreshes: `given_up(…)` and `retry_payloads(…, given_up=True)`."""
        self._changed = True
        with self.transaction():
            self._db.execute(
                "UPDATE retries SET given_up=1 WHERE source=? AND item_id=?", (source, item_id)
            )

    def note_pending(self, source: str, entries) -> None:
        """Articles about to be requested (item id, url, payload), in one transaction."""
        self._changed = True
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO retries (source, item_id, url, payload, attempts, "
                "last_error) VALUES (?,?,?,?,0,'')",
                [
                    (source, item_id, url, json.dumps(payload, ensure_ascii=False))
                    for item_id, url, payload in entries
                ],
            )

    def retry_payloads(self, source: str, *, given_up: bool = False) -> list[dict]:
        """Items to request again: failed, or requested by a crawl that never got them; with
        `given_up`, those given up too."""
        rows = self._db.execute(
            "SELECT payload FROM retries r WHERE source=? AND (given_up=0 OR ?) AND NOT EXISTS "
            "(SELECT 1 FROM items i WHERE i.source = r.source AND i.item_id = r.item_id)",
            (source, given_up),
        )
        return [json.loads(payload) for (payload,) in rows]

    def given_up(self, source: str) -> set[str]:
        """The ids of the items given up (never requested again, but by a refresh)."""
        rows = self._db.execute(
            "SELECT item_id FROM retries WHERE source=? AND given_up=1", (source,)
        )
        return {item_id for (item_id,) in rows}

    def retries(self) -> list[tuple[str, str, str, int, str]]:
        """(source, item_id, url, attempts, last error) of every item waiting for a retry."""
        return self._db.execute(
            "SELECT source, item_id, url, attempts, last_error FROM retries "
            "WHERE attempts > 0 AND given_up = 0 ORDER BY source"
        ).fetchall()

    def drop_retry(self, source: str, item_id: str) -> None:
        self.drop_retries(source, (item_id,))

    def drop_retries(self, source: str, item_ids) -> None:
        self._changed = True
        with self.transaction():
            self._db.executemany(
                "DELETE FROM retries WHERE source=? AND item_id=?",
                [(source, item_id) for item_id in item_ids],
            )


def migrate(db: sqlite3.Connection) -> None:
    """Columns an index from before lacks."""
    if "given_up" not in {row[1] for row in db.execute("PRAGMA table_info(retries)")}:
        db.execute("ALTER TABLE retries ADD COLUMN given_up INTEGER NOT NULL DEFAULT 0")
