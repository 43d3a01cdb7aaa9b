"""Full-text search: SQLite FTS5 with the trigram tokenizer, so any Chinese substring of
three characters or more is found through the index; shorter ones by a scan."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from typing import NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS texts (path TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
-- What a hit needs, in narrow rows: reading 20,000 hits from `texts` drags their bodies along.
CREATE TABLE IF NOT EXISTS text_keys (
    rowid INTEGER PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT NOT NULL, url TEXT NOT NULL
);
-- `search --limit` with only short words walks the items newest first.
CREATE INDEX IF NOT EXISTS text_keys_by_date ON text_keys (date, path);
CREATE VIRTUAL TABLE IF NOT EXISTS texts_fts USING fts5(
    title, body, content='texts', content_rowid='rowid', tokenize='trigram'
);
DROP TRIGGER IF EXISTS texts_ad;  -- older indexes had it without the text_keys line
"""
# The full-text index follows `texts` row by row; `archive reindex` drops them, fills
# `texts`, and rebuilds the full-text index in one pass (much faster than row by row).
TRIGGERS = {
    "texts_ai": """CREATE TRIGGER IF NOT EXISTS texts_ai AFTER INSERT ON texts BEGIN
    INSERT INTO texts_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END""",
    "texts_ad": """CREATE TRIGGER IF NOT EXISTS texts_ad AFTER DELETE ON texts BEGIN
    INSERT INTO texts_fts(texts_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
    DELETE FROM text_keys WHERE rowid = old.rowid;
END""",
    "texts_au": """CREATE TRIGGER IF NOT EXISTS texts_au AFTER UPDATE ON texts BEGIN
    INSERT INTO texts_fts(texts_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO texts_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END""",
}
SCHEMA += "".join(f"{sql};\n" for sql in TRIGGERS.values())


class Listing(NamedTuple):
    """One line of `archive list` or `archive search` (a tuple: 20,000 of them are cheap)."""

    date: str
    source: str
    title: str
    path: str
    url: str
    id: str = ""  # the item id (what `archive show` takes); filled where it is asked for


# Every alternative ends at the end of input when nothing closes it: one pass, never a rescan
# from each `<` of an unclosed run (`<a href='x<a href='x…`).
_INVISIBLE = re.compile(
    r"<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\1\s*>|$)|<[^>]*(?:>|$)", re.S | re.I
)


def plain_text(body_html: str) -> str:
    """What a reader sees of a body, for searching: tags, comments, scripts and styles gone."""
    return " ".join(html.unescape(_INVISIBLE.sub(" ", body_html)).split())


def put_text(
    db: sqlite3.Connection, path: str, title: str, text: str, *, date: str, source: str, url: str
) -> None:
    db.execute(
        "INSERT INTO texts(path, title, body) VALUES (?,?,?) ON CONFLICT(path) DO UPDATE "
        "SET title=excluded.title, body=excluded.body",
        (path, title, text),
    )
    db.execute(
        "INSERT OR REPLACE INTO text_keys SELECT rowid, path, title, ?, ?, ? FROM texts "
        "WHERE path = ?",
        (date, source, url, path),
    )


def backfill_keys(db: sqlite3.Connection) -> None:
    """Fill text_keys for an index written before it existed."""
    if db.execute("SELECT 1 FROM text_keys LIMIT 1").fetchone() is None:
        db.execute(
            "INSERT INTO text_keys SELECT t.rowid, t.path, t.title, i.date, i.source, i.url "
            "FROM texts t JOIN items i ON i.path = t.path"
        )


def search(
    db: sqlite3.Connection,
    words: str | Sequence[str],
    source: str | None = None,
    limit: int | None = None,
) -> list[Listing]:
    """The items whose title or body contains every one of `words` (anywhere, ASCII without
    regard to case), those with all of them in the title first, each part newest first
    (equal dates by path, descending: the same order on every run); the first `limit` only.

    Words of three characters or more go through the trigram index (case-insensitive), shorter
    ones are a scan. Without a limit every hit is read and sorted here, not by SQLite (its
    sorter drags every row's columns along, a third more for a query matching the whole
    archive); with one SQLite keeps the first `limit` of each part, walking the items newest
    first when there is no indexed word (a frequent short word stops after a few rows)."""
    words = [words] if isinstance(words, str) else [w for w in words if w]
    indexed = [w for w in words if len(w) >= 3]
    scanned = [w for w in words if len(w) < 3]
    columns = "k.date, k.source, k.title, k.path, k.url, ''"  # no id: text_keys has none
    conditions, params = [], []
    if indexed:  # CROSS JOIN: the full-text index first, never probed once per item
        tables = "texts_fts f CROSS JOIN text_keys k ON k.rowid = f.rowid"
        conditions.append("texts_fts MATCH ?")
        params.append(_match(indexed))
        if scanned:
            tables += " JOIN texts t ON t.rowid = k.rowid"
    else:  # the items newest first (text_keys_by_date), each one's text looked at in turn
        tables = "text_keys k CROSS JOIN texts t ON t.rowid = k.rowid"
    for word in scanned:
        conditions.append(f"({_contains('t.title', word)} OR {_contains('t.body', word)})")
        params += [word, word]
    if source:
        conditions.append("k.source = ?")
        params.append(source)
    sql = f"SELECT {columns} FROM {tables} WHERE {' AND '.join(conditions)}"
    if limit is not None:
        return _first(db, words, indexed, scanned, source, limit, (sql, params))
    hits = _rows(db, sql, params)
    hits.sort(key=_NEWEST, reverse=True)
    folded = [_ascii_lower(w) for w in words]
    in_title, elsewhere = [], []
    for hit in hits:
        title = _ascii_lower(hit.title)
        (in_title if all(w in title for w in folded) else elsewhere).append(hit)
    return in_title + elsewhere


_NEWEST_FIRST = " ORDER BY k.date DESC, k.path DESC LIMIT ?"


def _first(db, words, indexed, scanned, source, limit, everything) -> list[Listing]:
    """The first `limit` hits, the title hits first: SQLite keeps them itself.

    With only indexed words the full-text index gives the candidates (few or many, they are
    what matches). With a short word among them, every candidate's text would be scanned:
    the items are walked newest first instead, until `limit` are found (a frequent word stops
    at once; the indexed words are one lookup per item: `+` keeps SQLite from driving the
    walk by them). Titles alone are read in table order (NOT INDEXED): the walk by date
    would look each title up, a tenth of a second when few titles hold the words."""
    in_title = " AND ".join(_contains("k.title", w) for w in words)
    if not scanned:
        sql, params = everything
        first = _rows(db, f"{sql} AND {in_title}{_NEWEST_FIRST}", [*params, *words, limit])
        if len(first) >= limit:
            return first
        rest = f"{sql} AND NOT ({in_title}){_NEWEST_FIRST}"
        return first + _rows(db, rest, [*params, *words, limit - len(first)])
    keyed, params = [], []
    if indexed:
        keyed.append("+k.rowid IN (SELECT rowid FROM texts_fts WHERE texts_fts MATCH ?)")
        params.append(_match(indexed))
    if source:
        keyed.append("k.source = ?")
        params.append(source)
    columns = "k.date, k.source, k.title, k.path, k.url, ''"
    title_sql = (
        f"SELECT {columns} FROM text_keys k NOT INDEXED WHERE {' AND '.join([*keyed, in_title])}"
    )
    first = _rows(db, title_sql + _NEWEST_FIRST, [*params, *words, limit])
    if len(first) >= limit:
        return first
    in_text = [f"({_contains('t.title', w)} OR {_contains('t.body', w)})" for w in scanned]
    rest_sql = (
        f"SELECT {columns} FROM text_keys k CROSS JOIN texts t ON t.rowid = k.rowid "
        f"WHERE {' AND '.join([*keyed, *in_text, f'NOT ({in_title})'])}"
    )
    rest_params = [*params, *(w for w in scanned for _ in (1, 2)), *words, limit - len(first)]
    return first + _rows(db, rest_sql + _NEWEST_FIRST, rest_params)


def _match(indexed: list[str]) -> str:
    """An FTS5 query for all of `indexed`, each a phrase."""
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in indexed)


def _contains(column: str, word: str) -> str:
    """SQL for `column` holding `word` (a parameter), ASCII in any case: SQLite's lower()
    folds ASCII only, as the trigram index does; a word without ASCII letters needs no
    folding, and skips a copy of every text it looks at."""
    if any(c.isascii() and c.isalpha() for c in word):
        return f"instr(lower({column}), lower(?)) > 0"
    return f"instr({column}, ?) > 0"


def _rows(db: sqlite3.Connection, sql: str, params: list) -> list[Listing]:
    return list(map(Listing._make, db.execute(sql, params)))


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NEWEST = itemgetter(0, 3)  # the date, then the path: the same order on every run


def index_state(db: sqlite3.Connection) -> str | None:
    """Why the search index cannot be trusted (missing, stale), or None when it is whole."""
    try:
        texts = db.execute("SELECT count(*) FROM texts").fetchone()[0]
        db.execute("SELECT 1 FROM text_keys LIMIT 1")
    except sqlite3.OperationalError:
        return "the archive has no search index"
    items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    keys = db.execute("SELECT count(*) FROM text_keys").fetchone()[0]
    if not texts == keys == items:
        return f"the search index is stale ({texts} texts for {items} items)"
    return None
