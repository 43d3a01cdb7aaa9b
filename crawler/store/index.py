"""Provenance: what is archived where, kept in SQLite (WAL) in the archive's hidden folder.

SQLite's write-ahead log makes every commit atomic and durable, so a crash at any moment
leaves the index as of its last commit. Hexo ignores the dot-folder.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import index_checks, index_retries, index_runs, index_versions, search
from .index_checks import CheckTables
from .index_images import SCHEMA as IMAGES_SCHEMA
from .index_images import ImageTables
from .index_retries import RetryTable
from .index_runs import RunTables
from .index_versions import Version, VersionTable
from .state import STATE_FORMAT, TextState, month_of

HIDDEN_DIR = ".crawler"
DB_NAME = "archive.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    source       TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    url          TEXT NOT NULL,
    path         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    date         TEXT NOT NULL,
    date_guessed INTEGER NOT NULL,
    author       TEXT NOT NULL,
    keywords     TEXT NOT NULL,
    fetched_at   TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    adopted      INTEGER NOT NULL DEFAULT 0,
    sanitized    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- `archive list` and `export` read the items newest first without sorting them.
CREATE INDEX IF NOT EXISTS items_by_date ON items (date, path);
"""

# Every table of the index, each with the part of ProvenanceIndex that keeps it.
SCHEMA = _SCHEMA + index_retries.SCHEMA + IMAGES_SCHEMA + index_runs.SCHEMA
SCHEMA += index_versions.SCHEMA + index_checks.SCHEMA + search.SCHEMA


@dataclass(frozen=True)
class Record:
    source: str
    item_id: str
    url: str
    path: str  # relative to the archive root, with `/`
    title: str
    date: str  # ISO 8601, UTC
    date_guessed: bool
    author: str  # extracted author or media
    keywords: tuple[str, ...]
    fetched_at: str  # ISO 8601, UTC
    sha256: str
    adopted: bool = False  # rebuilt from a file on disk: the source's own id is unknown
    sanitized: bool = False  # the body was written through the allowlist sanitizer


_COLUMNS = (
    "source, item_id, url, path, title, date, date_guessed, author, keywords, fetched_at, "
    "sha256, adopted, sanitized"
)
# An index from before `sanitized`, opened read-only, reads as if no body was sanitized.
_OLD_COLUMNS = _COLUMNS.replace(", sanitized", ", 0")


def record_row(record: Record) -> tuple:
    return (
        record.source,
        record.item_id,
        record.url,
        record.path,
        record.title,
        record.date,
        int(record.date_guessed),
        record.author,
        json.dumps(list(record.keywords), ensure_ascii=False),
        record.fetched_at,
        record.sha256,
        int(record.adopted),
        int(record.sanitized),
    )


def record_from_row(row: tuple) -> Record:
    """A record from its row (a batch journal from before `sanitized` has one column less)."""
    (source, item_id, url, path, title, date, guessed, author, keywords, fetched, sha, adopted) = (
        row[:12]
    )
    return Record(
        source,
        item_id,
        url,
        path,
        title,
        date,
        bool(guessed),
        author,
        tuple(json.loads(keywords)),
        fetched,
        sha,
        bool(adopted),
        bool(row[12]) if len(row) > 12 else False,
    )


class ProvenanceIndex(RetryTable, ImageTables, RunTables, VersionTable, CheckTables):
    """One archive's provenance. Readers never block the writer (WAL)."""

    def __init__(self, connection: sqlite3.Connection, state: TextState | None = None):
        self._db = connection
        names = {row[1] for row in connection.execute("PRAGMA table_info(items)")}
        self._columns = _COLUMNS if "sanitized" in names or not names else _OLD_COLUMNS
        self._state = state  # written after each commit (None: a read-only index)
        self._months: set[tuple[str, str]] = set()  # (source, month) of items changed
        self._shards: set[str] = set()  # image shards changed
        self._changed = False  # retries or feeds changed
        # A writer saves the text state when it closes, not after each batch (a month's file
        # holds thousands of items); killed first, it leaves its dirty mark and the next one
        # writes the whole state from the index.
        self.deferred = False

    def _saved(self) -> None:
        """After a commit: what it changed is written to the text state (unless `deferred`)."""
        if not self.deferred:
            self.save_state()

    def save_state(self) -> None:
        """Write what commits changed to the text state, and keep the state's signature (a
        later difference means a checkout changed it)."""
        if self._state is None:
            return
        if not self._state_current():  # written by a version before: all of it anew, once
            self.save_all_state()
            return
        if not (self._months or self._shards or self._changed):
            return
        months, shards = self._months, self._shards
        self._months, self._shards, self._changed = set(), set(), False
        self._state.save(self._db, months, shards)
        self._sign()

    def save_all_state(self) -> None:
        """Write the whole text state from the index (an upgrade, or after a crash)."""
        if self._state is not None:
            self._months, self._shards, self._changed = set(), set(), False
            self._state.save(self._db, None, None)
            self._sign()
            self._note_format(True)

    def _state_current(self) -> bool:
        """Whether the text state is written as this version writes it (`STATE_FORMAT`)."""
        row = self._db.execute("SELECT value FROM meta WHERE key='state_format'").fetchone()
        return row is not None and row[0] == STATE_FORMAT

    def _note_format(self, current: bool) -> None:
        if current:
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('state_format', ?)", (STATE_FORMAT,)
            )
        else:
            self._db.execute("DELETE FROM meta WHERE key='state_format'")

    def _sign(self) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('state', ?)", (self._state.signature(),)
        )

    def _sync_state(self, dirty: bool) -> None:
        """Bring the cache and the text state together at open: an archive without text
        state gets it (written from the index); a state a checkout changed (its signature
        differs) is read into the index. Left alone while a writer is at work or died
        (`dirty`): that writer, or the next one, writes the state from the index."""
        state = self._state
        if dirty or state is None:
            return
        if not state.exists():
            if (
                self._db.execute("SELECT 1 FROM items LIMIT 1").fetchone()
                or self._db.execute("SELECT 1 FROM retries LIMIT 1").fetchone()
            ):
                self.save_all_state()
            return
        row = self._db.execute("SELECT value FROM meta WHERE key='state'").fetchone()
        if row is not None and row[0] == state.signature():
            return
        with _Transaction(self._db):
            current = state.load(self._db)
            self._note_format(current)
        self._sign()

    @classmethod
    def open(cls, root: Path) -> ProvenanceIndex:
        folder = root / HIDDEN_DIR
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(folder / DB_NAME, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a crash (even of the machine) never corrupts the index; a power
        # cut may lose the last commits, whose files the next run adopts (same bytes).
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{folder / DB_NAME}: made by a newer version of the crawler (schema {version})"
            )
        db.executescript(SCHEMA)
        if "sanitized" not in {row[1] for row in db.execute("PRAGMA table_info(items)")}:
            db.execute("ALTER TABLE items ADD COLUMN sanitized INTEGER NOT NULL DEFAULT 0")
        index_retries.migrate(db)
        index_runs.migrate(db)
        search.backfill_keys(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        index = cls(db, TextState(folder))
        index._sync_state(dirty=(folder / "dirty").exists())
        return index

    @staticmethod
    def stale_cache(root: Path) -> bool:
        """Whether the archive has a text state its cache (the SQLite index) does not hold:
        no cache yet (a fresh checkout), or the state changed since (a checkout, a pull)."""
        folder = root / HIDDEN_DIR
        state = TextState(folder)
        if not state.exists() or (folder / "dirty").exists():
            return False
        if not (folder / DB_NAME).is_file():
            return True
        try:
            db = sqlite3.connect(f"{(folder / DB_NAME).absolute().as_uri()}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT value FROM meta WHERE key='state'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return True
        return row is None or row[0] != state.signature()

    @classmethod
    def open_existing(cls, root: Path) -> ProvenanceIndex | None:
        """The index if the archive has one, opened without creating anything."""
        path = root / HIDDEN_DIR / DB_NAME
        if not path.is_file():
            return None
        uri = f"{path.absolute().as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
        try:
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        except sqlite3.OperationalError:
            # A read-only archive (a mounted backup, another user's folder): a WAL reader
            # cannot make its shared-memory file there. Nobody writes it, so read it as is.
            db.close()
            db = sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None)
        return cls(db)

    def close(self) -> None:
        self._db.close()

    def get(self, source: str, item_id: str) -> Record | None:
        row = self._db.execute(
            f"SELECT {self._columns} FROM items WHERE source=? AND item_id=?", (source, item_id)
        ).fetchone()
        return record_from_row(row) if row else None

    def at_path(self, path: str) -> Record | None:
        row = self._db.execute(
            f"SELECT {self._columns} FROM items WHERE path=?", (path,)
        ).fetchone()
        return record_from_row(row) if row else None

    def ids_at(self, paths) -> dict[str, str]:
        """Path → item id, for those of `paths` the index holds."""
        found = {}
        for path in paths:
            row = self._db.execute("SELECT item_id FROM items WHERE path=?", (path,)).fetchone()
            if row:
                found[path] = row[0]
        return found

    def sources(self) -> set[str]:
        """The names of the sources the archive holds items of."""
        return {name for (name,) in self._db.execute("SELECT DISTINCT source FROM items")}

    def ids(self, source: str) -> set[str]:
        """The item ids a source has archived: a crawl skips these without a request."""
        rows = self._db.execute("SELECT item_id FROM items WHERE source=?", (source,))
        return {item_id for (item_id,) in rows}

    def fetched_times(self, source: str) -> dict[str, str]:
        """Item id → when it was last fetched (its version first, or seen the same since), of
        what a source has archived: a crawl skips these without a request, unless the source
        says it changed one since."""
        rows = self._db.execute(
            "SELECT i.item_id, max(i.fetched_at, COALESCE(c.seen_at, '')) FROM items i "
            "LEFT JOIN checks c ON c.source = i.source AND c.item_id = i.item_id "
            "WHERE i.source=?",
            (source,),
        )
        return dict(rows)

    def records(self) -> Iterator[Record]:
        for row in self._db.execute(f"SELECT {self._columns} FROM items ORDER BY path"):
            yield record_from_row(row)

    def _has_table(self, name: str) -> bool:
        """Whether this index has the table (one opened read-only may predate it)."""
        return bool(
            self._db.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone()
        )

    def _mark_month(self, source: str, date: str) -> None:
        """The text state's month file of an item dated `date` changed."""
        self._months.add((source, month_of(date)))

    @property
    def db(self) -> sqlite3.Connection:
        return self._db

    @property
    def columns(self) -> str:
        """The items table's columns a Record is made from (`record_from_row`), for a SELECT."""
        return self._columns

    def put(self, record: Record, text: str, earlier: Version | None = None) -> None:
        """Insert or replace the record of (source, item_id) and its searchable text, with
        the `earlier` version it replaces, in one transaction."""
        with self.transaction():
            self._put(record, text)
            if earlier is not None:
                self._add_version(record.source, record.item_id, earlier)

    def _put(self, record: Record, text: str) -> None:
        self._changed |= bool(
            self._db.execute(
                "DELETE FROM retries WHERE source=? AND item_id=?", (record.source, record.item_id)
            ).rowcount
        )
        old = self._db.execute(
            "SELECT path, date FROM items WHERE source=? AND item_id=?",
            (record.source, record.item_id),
        ).fetchone()
        self._months.add((record.source, month_of(record.date)))
        if old:
            self._months.add((record.source, month_of(old[1])))
        if old and old[0] != record.path:
            self._db.execute("DELETE FROM texts WHERE path=?", old[:1])
        for source, date in self._db.execute(
            "SELECT source, date FROM items WHERE path=? AND NOT (source=? AND item_id=?)",
            (record.path, record.source, record.item_id),
        ).fetchall():
            self._months.add((source, month_of(date)))
        self._db.execute(
            "DELETE FROM items WHERE path=? AND NOT (source=? AND item_id=?)",
            (record.path, record.source, record.item_id),
        )
        self._db.execute(
            f"INSERT OR REPLACE INTO items ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            record_row(record),
        )
        search.put_text(
            self._db,
            record.path,
            record.title,
            text,
            date=record.date,
            source=record.source,
            url=record.url,
        )

    def replace_all(self, records: Iterable[tuple[Record, str]]) -> int:
        """Make the index hold exactly these records and texts, in one transaction (reindex);
        the number of records dropped. `records` is read as it comes (it may look up the
        records it replaces: each is dropped only at the end, if it did not come back). The
        full-text index is rebuilt in one pass at the end, not row by row."""
        with _Transaction(self._db):  # the whole state is written after, once
            for name in search.TRIGGERS:
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            self._db.execute("DELETE FROM texts")
            self._db.execute("DELETE FROM text_keys")
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (path TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM temp.kept")
            for record, text in records:
                self._db.execute("INSERT OR IGNORE INTO temp.kept VALUES (?)", (record.path,))
                self._put(record, text)
            dropped = self._db.execute(
                "DELETE FROM items WHERE path NOT IN (SELECT path FROM temp.kept)"
            ).rowcount
            for table in ("versions", "takedowns", "checks"):  # of the items dropped
                self._db.execute(
                    f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM items i "
                    f"WHERE i.source = {table}.source AND i.item_id = {table}.item_id)"
                )
            self._db.execute("INSERT INTO texts_fts(texts_fts) VALUES ('rebuild')")
            for sql in search.TRIGGERS.values():
                self._db.execute(sql)
        self._months, self._shards, self._changed = set(), set(), False
        self.save_all_state()
        return dropped

    def refill_texts(self, texts: Iterable[tuple[str, str, str, str, str, str]]) -> None:
        """Make the search index hold exactly `texts` (path, title, text, date, source, url),
        the full-text index built in one pass at the end. The provenance is not touched."""
        with self.transaction():
            for name in search.TRIGGERS:
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            self._db.execute("DELETE FROM texts")
            self._db.execute("DELETE FROM text_keys")
            for path, title, text, date, source, url in texts:
                search.put_text(self._db, path, title, text, date=date, source=source, url=url)
            self._db.execute("INSERT INTO texts_fts(texts_fts) VALUES ('rebuild')")
            for sql in search.TRIGGERS.values():
                self._db.execute(sql)

    def transaction(self) -> _Transaction:
        """All or nothing: a transaction of its own, or a savepoint inside an open batch."""
        return _Transaction(self._db, self._saved)

    def begin_batch(self) -> None:
        """Hold what follows until `commit_batch` (a writer's group commit); no-op if open."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")

    def commit_batch(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._saved()

    def rollback_batch(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")


class _Transaction:
    def __init__(self, db: sqlite3.Connection, on_commit=None):
        self._db = db
        self._nested = False
        self._on_commit = on_commit  # after a commit of its own (not a savepoint's release)

    def __enter__(self) -> None:
        self._nested = self._db.in_transaction
        self._db.execute("SAVEPOINT op" if self._nested else "BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._nested:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
            if not exc_type and self._on_commit is not None:
                self._on_commit()
        elif exc_type:
            self._db.execute("ROLLBACK TO op")
            self._db.execute("RELEASE op")
        else:
            self._db.execute("RELEASE op")
