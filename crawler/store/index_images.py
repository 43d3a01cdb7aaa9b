"""The image tables: each stored or failed image's provenance (`images`), and which item shows
which image (`item_images`). A part of ProvenanceIndex."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .state import month_of, shard_of

if TYPE_CHECKING:
    from .index import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    url        TEXT PRIMARY KEY,
    path       TEXT NOT NULL,  -- in the image store; '' while it could not be stored
    sha256     TEXT NOT NULL,
    attempts   INTEGER NOT NULL,  -- failed downloads in a row
    last_error TEXT NOT NULL,
    fetched_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS item_images (
    source  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (source, item_id, url)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_images_by_url ON item_images (url);
"""


class ImageTables:
    """Image provenance (ProvenanceIndex's `images`, `item_images`)."""

    _db: sqlite3.Connection  # the rest is ProvenanceIndex\'s

    def item_images(self, record: Record) -> list[tuple[str, str]]:
        """(URL, path in the image store, '' if not stored) of each image the item shows."""
        if not self._has_table("images"):
            return []
        return self._db.execute(
            "SELECT ii.url, COALESCE(im.path, '') FROM item_images ii "
            "LEFT JOIN images im ON im.url = ii.url WHERE ii.source=? AND ii.item_id=? "
            "ORDER BY ii.url",
            (record.source, record.item_id),
        ).fetchall()

    def note_images(self, source: str, item_id: str, images, fetched_at: str) -> None:
        """An item's image outcomes (ImageOutcome): stored ones, and failures to retry."""
        self._shards.update(shard_of(image.url) for image in images)
        if row := self.get(source, item_id):
            self._months.add((source, month_of(row.date)))
        with self.transaction():
            for image in images:
                self._db.execute(
                    "INSERT OR IGNORE INTO item_images VALUES (?,?,?)", (source, item_id, image.url)
                )
                if image.path:
                    self._db.execute(
                        "INSERT OR REPLACE INTO images VALUES (?,?,?,0,'',?)",
                        (image.url, image.path, image.sha256, fetched_at),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO images VALUES (?,'','',1,?,?) ON CONFLICT(url) DO UPDATE "
                        "SET attempts=attempts+1, last_error=excluded.last_error, "
                        "fetched_at=excluded.fetched_at WHERE path=''",
                        (image.url, image.error, fetched_at),
                    )

    def stored_images(self, urls=None) -> dict[str, str]:
        """URL → path in the image store of the stored images (of `urls`, or all)."""
        if not self._has_table("images"):
            return {}
        if urls is None:
            rows = self._db.execute("SELECT url, path FROM images WHERE path != ''")
            return dict(rows)
        found = {}
        for url in urls:
            row = self._db.execute(
                "SELECT path FROM images WHERE url=? AND path != ''", (url,)
            ).fetchone()
            if row:
                found[url] = row[0]
        return found

    def image_records(self) -> list[tuple[str, str, str]]:
        """(url, path, sha256) of every stored image."""
        if not self._has_table("images"):
            return []
        return self._db.execute(
            "SELECT url, path, sha256 FROM images WHERE path != '' ORDER BY path"
        ).fetchall()

    def image_retries(self, source: str, max_attempts: int) -> list[tuple[str, str, list[str]]]:
        """(item id, item URL, image URLs) of archived items with images still to store."""
        rows = self._db.execute(
            "SELECT ii.item_id, i.url, ii.url FROM item_images ii "
            "JOIN images im ON im.url = ii.url "
            "JOIN items i ON i.source = ii.source AND i.item_id = ii.item_id "
            "WHERE ii.source=? AND im.path='' AND im.attempts < ? ORDER BY ii.item_id",
            (source, max_attempts),
        )
        retries: dict[str, tuple[str, list[str]]] = {}
        for item_id, page_url, url in rows:
            retries.setdefault(item_id, (page_url, []))[1].append(url)
        return [(item_id, page, urls) for item_id, (page, urls) in retries.items()]

    def failed_images(self) -> list[tuple[str, int, str]]:
        """(url, attempts, last error) of every image not stored yet."""
        if not self._has_table("images"):
            return []
        return self._db.execute(
            "SELECT url, attempts, last_error FROM images WHERE path='' ORDER BY url"
        ).fetchall()
