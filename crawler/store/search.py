"""Full-text search: SQLite FTS5 with the trigram tokenizer, so any Chinese substring of
three characters or more is found through the index; shorter ones by a scan."""

from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS texts (path TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS texts_fts USING fts5(
    title, body, content='texts', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS texts_ai AFTER INSERT ON texts BEGIN
    INSERT INTO texts_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER IF NOT EXISTS texts_ad AFTER DELETE ON texts BEGIN
    INSERT INTO texts_fts(texts_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER IF NOT EXISTS texts_au AFTER UPDATE ON texts BEGIN
    INSERT INTO texts_fts(texts_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO texts_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
"""

_INVISIBLE = re.compile(r"<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\1\s*>|$)|<[^>]*>", re.S | re.I)


def plain_text(body_html: str) -> str:
    """What a reader sees of a body, for searching: tags, comments, scripts and styles gone."""
    return " ".join(html.unescape(_INVISIBLE.sub(" ", body_html)).split())


def put_text(db: sqlite3.Connection, path: str, title: str, text: str) -> None:
    db.execute(
        "INSERT INTO texts(path, title, body) VALUES (?,?,?) ON CONFLICT(path) DO UPDATE "
        "SET title=excluded.title, body=excluded.body",
        (path, title, text),
    )


@dataclass(frozen=True)
class Hit:
    path: str
    in_title: bool


def search(db: sqlite3.Connection, query: str, source: str | None = None) -> list[Hit]:
    """Paths of the items whose title or body contains `query`, title hits first, then newest."""
    where = "i.source = ?" if source else "1"
    params: list = [query]
    if len(query) >= 3:
        phrase = '"' + query.replace('"', '""') + '"'
        sql = (
            "SELECT t.path, instr(t.title, ?) > 0 FROM texts_fts f "
            "JOIN texts t ON t.rowid = f.rowid "
            f"JOIN items i ON i.path = t.path WHERE texts_fts MATCH ? AND {where} "
            "ORDER BY 2 DESC, i.date DESC"
        )
        params.append(phrase)
    else:
        sql = (
            "SELECT t.path, instr(t.title, ?) > 0 FROM texts t JOIN items i ON i.path = t.path "
            f"WHERE (instr(t.title, ?) > 0 OR instr(t.body, ?) > 0) AND {where} "
            "ORDER BY 2 DESC, i.date DESC"
        )
        params += [query, query]
    if source:
        params.append(source)
    return [Hit(path, bool(in_title)) for path, in_title in db.execute(sql, params)]


def index_state(db: sqlite3.Connection) -> str | None:
    """Why the search index cannot be trusted (missing, stale), or None when it is whole."""
    try:
        texts = db.execute("SELECT count(*) FROM texts").fetchone()[0]
    except sqlite3.OperationalError:
        return "the archive has no search index"
    items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    if texts != items:
        return f"the search index is stale ({texts} texts for {items} items)"
    return None
