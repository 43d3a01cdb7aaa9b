"""The archive's lasting state as text: what must survive a fresh checkout, in files that diff.

Below `.crawler/state/`, one JSON object per line, keys in a fixed order, lines sorted:

    items/<source>/<YYYY-MM>.jsonl   a header naming the source, its folder and the fields,
                                     then each item's fields as an array, by date then path,
                                     each said as short as it can be said exactly (`_FIELDS`)
    images/<xx>.jsonl                each image's provenance, sharded by URL hash
    retries.jsonl                    items to ask for again, and those given up
    feeds.jsonl                      each feed's validators (ETag, Last-Modified)

Only the files whose lines change are rewritten (atomically), so a crawl that archives nothing
changes no byte, and one article changes its post and a line or two here. A retry's line says
what to ask for and whether it was given up, never how often it failed (that count is the
cache's): an article that keeps failing changes its line twice, when it first fails and when it
is given up. The SQLite index is a
cache of this state plus the search index: missing, or older than this state (a checkout
changed it), it is rebuilt from it; an archive from before the text state gets it written
from its index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .atomic import RefusedFile, make_dirs, read_archive_file, write_atomic
from .paths import name_key, stem_for

log = logging.getLogger("crawler")
STATE_DIR = "state"
STATE_FORMAT = "2"  # how the month files are written (`_FIELDS`; "1": `_V1_FIELDS`)
IGNORED = """\
# The crawler's cache and working files: rebuilt from state/ and the posts when missing.
/archive.sqlite3*
/lock
/dirty
/batch.json*
/samples/
/.*.crawler-tmp
# Earlier versions of the posts: git keeps the post's own history (the lines say each one).
/versions/
# Raw captures (capture: warc): large, and never published.
/warc/
"""
# An item's line, `_FIELDS` in order (README "The archive in git"): what its post does not
# say, each value as short as it is said exactly, whatever the value (the shorter form is
# taken only when it reads back as the same), the last ones left off at their default.
_FIELDS = (
    "id",  # the item id; 0: the URL itself; n: the URL's n characters before its last "."
    "url",
    "title",
    "date",  # Unix seconds for an ISO date in UTC to the second; any other, as it is
    "author",
    "keywords",
    "fetched",  # seconds after the date (when that is a number); else ISO as it is
    "sha",  # the post's sha256 in base64url, unpadded; "=" and the text for any other value
    "images",  # the URLs of the images the item shows
    "flags",  # some of "guessed" (the date), "adopted", "sanitized"
    "name",  # "": the STEM of the title in the folder (`_plain_name`); a name there; a path
    "versions",  # the earlier versions: [fetched (as `date`), sha (as `sha`), title] each
    "gone",  # taken down by the source: [when a recheck found it (as `date`), why]
)
_DEFAULTS = {"images": [], "flags": [], "name": "", "versions": [], "gone": []}  # left off
_FLAGS = ("guessed", "adopted", "sanitized")
# The lines written before (read, and written again in the form above at the next save).
_V1_FIELDS = (
    "item_id",
    "url",
    "path",
    "title",
    "date",
    "date_guessed",
    "author",
    "keywords",
    "fetched_at",
    "sha256",
    "flags",  # [] or some of "adopted", "sanitized"
    "images",
)


def _line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def month_of(date: str) -> str:
    return date[:7] if len(date) >= 7 and date[4] == "-" else "undated"


_HASHED = re.compile(r".*_[0-9a-f]{8}", re.DOTALL)


def source_folder(source: str) -> str:
    """A source's folder name: its name made safe, with a hash when that changed it or when
    the name looks hashed itself (`x__149e36e6` is not the folder of `x?`)."""
    stem = stem_for(source)
    if stem == source and not _HASHED.fullmatch(source):
        return stem
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass"))  # any str: a lone surrogate
    return f"{stem}_{digest.hexdigest()[:8]}"


def source_folders(sources: Iterable[str]) -> dict[str, str]:
    """Each source's folder, no two alike (`name_key`: not on macOS either): `source_folder`,
    and where two still meet (feeds.yaml refuses such names, but the names here are a state
    file's, anyone's), `_2`, `_3`, … in order."""
    folders: dict[str, str] = {}
    taken: set[str] = set()
    for source in sorted(set(sources)):
        folder = first = source_folder(source)
        number = 1
        while name_key(folder) in taken:
            number += 1
            folder = f"{first}_{number}"
        folders[source] = folder
        taken.add(name_key(folder))
    return folders


def _folder(folders: dict[str, str], source: str) -> str:
    """The source's folder of `source_folders`, or its own for one committed since."""
    return folders.get(source) or source_folder(source)


_MONTH = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])")


_COLUMNS = (
    "item_id, url, path, title, date, date_guessed, author, keywords, fetched_at, sha256, "
    "adopted, sanitized"
)


def _by_month(db: sqlite3.Connection, folders: dict[str, str]) -> dict[tuple[str, str], list]:
    """Every item's row, by (source folder, month), each list by date then path."""
    grouped: dict[tuple[str, str], list] = {}
    rows = db.execute(f"SELECT source, {_COLUMNS} FROM items ORDER BY source, date, path")
    for source, *row in rows:
        folder = _folder(folders, source)
        grouped.setdefault((folder, month_of(row[4])), []).append(tuple(row))
    return grouped


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def shard_of(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:2]


class TextState:
    """The text state of one archive, read from and written from its SQLite index."""

    def __init__(self, hidden: Path):
        self.hidden = hidden
        self.folder = hidden / STATE_DIR

    # --- writing -----------------------------------------------------------------------

    def save(
        self,
        db: sqlite3.Connection,
        months: Iterable[tuple[str, str]] | None,
        shards: Iterable[str] | None,
    ) -> None:
        """Write the given (source, month) item files and image shards (None: all of them)
        and the small files, each only if its bytes change."""
        make_dirs(self.folder, inside=self.hidden.parent)
        ignore = self.hidden / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, IGNORED.encode())
        for path, data in self._files(db, months, shards):
            if _bytes_of(path) != data:
                self._write(path, data)

    def differing(self, db: sqlite3.Connection) -> list[Path]:
        """The state files that do not hold what the index says (for `archive verify`); a
        month file may say it as the versions before did (`_V1_FIELDS`: the next save
        writes it anew)."""
        found = [path for path, data in self._files(db, None, None) if _bytes_of(path) != data]
        if found:
            before = dict(self._files(db, None, (), v1=True))
            found = [
                path for path in found if path not in before or _bytes_of(path) != before[path]
            ]
        return found

    def _files(self, db, months, shards, *, v1: bool = False) -> Iterable[tuple[Path, bytes]]:
        """Each state file to write and what it must hold (b"": no such file); `v1`: the
        month files as the versions before wrote them."""
        folders = source_folders(s for (s,) in db.execute("SELECT DISTINCT source FROM items"))
        sources = {folder: source for source, folder in folders.items()}
        if months is None:
            wanted = {
                (_folder(folders, source), month_of(date))
                for source, date in db.execute(
                    "SELECT DISTINCT source, substr(date, 1, 7) FROM items"
                )
            }
            existing = {(p.parent.name, p.stem) for p in (self.folder / "items").glob("*/*.jsonl")}
            wanted |= existing  # those that are gone get emptied (removed)
        else:
            wanted = {(_folder(folders, s), month) for s, month in months}
        # The whole state: every item in one pass (a query a month reads the items table
        # a month at a time through the date index, 15 ms each: seconds for ten years).
        every = _by_month(db, folders) if months is None else None
        for folder, month in sorted(wanted):
            if every is not None:
                source = sources.get(folder)
                rows = every.get((folder, month), [])
                lines = self._render(db, source, rows, v1=v1) if source is not None and rows else []
            else:
                lines = self._item_lines(db, sources.get(folder), month)
            yield self.folder / "items" / folder / f"{month}.jsonl", _joined(lines)
        wanted_shards = None if shards is None else set(shards)
        if wanted_shards is None or wanted_shards:
            by_shard = self._image_lines(db)
            if wanted_shards is None:
                wanted_shards = set(by_shard) | {
                    p.stem for p in (self.folder / "images").glob("*.jsonl")
                }
            for shard in sorted(wanted_shards):
                yield self.folder / "images" / f"{shard}.jsonl", _joined(by_shard.get(shard, []))
        retries = db.execute(
            "SELECT source, item_id, url, payload, given_up, last_error FROM retries "
            "ORDER BY source, item_id"
        )
        yield (
            self.folder / "retries.jsonl",
            _joined(
                _line(
                    {
                        "source": s,
                        "item_id": i,
                        "url": u,
                        "payload": json.loads(p),
                        "given_up": bool(g),
                        "reason": e if g else "",  # the last error, kept once given up
                    }
                )
                for s, i, u, p, g, e in retries
            ),
        )
        feeds = db.execute("SELECT source, url, etag, last_modified FROM feeds ORDER BY source")
        yield (
            self.folder / "feeds.jsonl",
            _joined(
                _line({"source": s, "url": u, "etag": e, "last_modified": m})
                for s, u, e, m in feeds
            ),
        )

    def _item_lines(self, db: sqlite3.Connection, source: str | None, month: str) -> list[str]:
        if source is None:
            return []
        columns = _COLUMNS
        if month == "undated":
            rows = db.execute(
                f"SELECT {columns} FROM items WHERE source = ? ORDER BY date, path", (source,)
            )
        elif not _MONTH.fullmatch(month):  # a file that is not ours: it goes
            return []
        else:  # a range on the date index, not a LIKE that reads every item
            rows = db.execute(
                f"SELECT {columns} FROM items WHERE date >= ? AND date < ? AND source = ? "
                "ORDER BY date, path",
                (month, _next_month(month), source),
            )
        rows = [r for r in rows if month != "undated" or month_of(r[4]) == "undated"]
        return self._render(db, source, rows) if rows else []

    def _render(
        self, db: sqlite3.Connection, source: str, rows: list, *, v1: bool = False
    ) -> list[str]:
        """A month file's lines: its header, then each item's fields (rows by date, path);
        `v1`: as the versions before wrote them (what `differing` also takes)."""
        images: dict[str, list[str]] = {}
        if db.execute("SELECT 1 FROM item_images LIMIT 1").fetchone():  # one query a month
            ids = {r[0] for r in rows}
            for item_id, image in db.execute(
                "SELECT item_id, url FROM item_images WHERE source = ? ORDER BY item_id, url",
                (source,),
            ):
                if item_id in ids:
                    images.setdefault(item_id, []).append(image)
        versions: dict[str, list[tuple[str, str, str]]] = {}
        if not v1 and db.execute("SELECT 1 FROM versions LIMIT 1").fetchone():
            ids = {r[0] for r in rows}
            for item_id, *version in db.execute(
                "SELECT item_id, fetched_at, sha256, title FROM versions WHERE source = ? "
                "ORDER BY item_id, fetched_at",
                (source,),
            ):
                if item_id in ids:
                    versions.setdefault(item_id, []).append(tuple(version))
        gone: dict[str, tuple[str, str]] = {}
        if not v1 and db.execute("SELECT 1 FROM takedowns LIMIT 1").fetchone():
            ids = {r[0] for r in rows}
            for item_id, *takedown in db.execute(
                "SELECT item_id, seen_at, reason FROM takedowns WHERE source = ?", (source,)
            ):
                if item_id in ids:
                    gone[item_id] = tuple(takedown)
        folders = Counter(r[2].rpartition("/")[0] for r in rows)
        folder = folders.most_common(1)[0][0]
        fields = _V1_FIELDS if v1 else _FIELDS
        lines = [_line({"source": source, "folder": folder, "fields": list(fields)})]
        for row in rows:
            if v1:
                lines.append(_line(_v1_line(row, folder, images.get(row[0], []))))
            else:
                found = images.get(row[0], []), versions.get(row[0], []), gone.get(row[0])
                lines.append(_line(_item_line(row, folder, *found)))
        return lines

    def _image_lines(self, db: sqlite3.Connection) -> dict[str, list[str]]:
        """Every image's line, by shard (one pass over the images table)."""
        shards: dict[str, list[str]] = {}
        rows = db.execute(
            "SELECT url, path, sha256, attempts, last_error, fetched_at FROM images ORDER BY url"
        )
        for u, p, s, a, e, f in rows:
            line = {
                "url": u,
                "path": p,
                "sha256": s,
                "attempts": a,
                "last_error": e,
                "fetched_at": f,
            }
            shards.setdefault(shard_of(u), []).append(_line(line))
        return shards

    def _write(self, path: Path, data: bytes) -> None:
        """Atomically: `data`, or no file at all when it is empty."""
        if not data:
            path.unlink(missing_ok=True)
            return
        make_dirs(path.parent, inside=self.hidden.parent)
        write_atomic(path, data)

    # --- reading -----------------------------------------------------------------------

    def exists(self) -> bool:
        return self.folder.is_dir()

    def signature(self) -> str:
        """What changes whenever a state file does (its name, size and time)."""
        if not self.folder.is_dir():
            return ""
        entries = []
        for path in sorted(self.folder.rglob("*.jsonl")):
            info = path.stat()
            entries.append(f"{path.relative_to(self.folder)}\0{info.st_size}\0{info.st_mtime_ns}")
        return hashlib.sha256("\n".join(entries).encode()).hexdigest()

    def load(self, db: sqlite3.Connection) -> bool:
        """Fill the index's lasting tables from the text state (inside the caller's
        transaction); the search index is left empty, to be rebuilt when first needed. The
        state is found in the archive: a line that is not what this module writes is
        skipped, with a warning naming its file. Whether every month file is written as
        this version writes it (else the next save writes them all: `ProvenanceIndex`)."""
        # How often each retry failed is the cache's alone: kept across a reload.
        counted = {
            (source, item_id): (attempts, error)
            for source, item_id, attempts, error in db.execute(
                "SELECT source, item_id, attempts, last_error FROM retries"
            )
        }
        tables = ("items", "retries", "feeds", "images", "item_images", "versions", "takedowns")
        tables += ("texts",)
        for table in (*tables, "text_keys"):
            db.execute(f"DELETE FROM {table}")
        current = True
        for path in sorted((self.folder / "items").glob("*/*.jsonl")):
            lines = _objects(path)
            header = lines[0] if lines and isinstance(lines[0], dict) else {}
            current &= header.get("fields") == list(_FIELDS)
            _each(path, lines[1:], lambda row, _, h=header: _put_item(db, h, row))
        for path in sorted((self.folder / "images").glob("*.jsonl")):
            _each(path, _objects(path), lambda image, tally: _put_image(db, image, tally))
        path = self.folder / "retries.jsonl"
        _each(path, _objects(path), lambda retry, tally: _put_retry(db, counted, retry, tally))
        _each(
            self.folder / "feeds.jsonl",
            _objects(self.folder / "feeds.jsonl"),
            lambda feed, _: db.execute(
                "INSERT OR REPLACE INTO feeds VALUES (?,?,?,?)",
                tuple(_text(feed[k]) for k in ("source", "url", "etag", "last_modified")),
            ),
        )
        return current


def _item_line(
    row: tuple, folder: str, images: list[str], versions: list[tuple], gone: tuple | None
) -> list:
    """An item's fields (a row of `_COLUMNS`), each in its short form where that reads back
    as the same value (`_item`), the defaults at the end left off."""
    item_id, url, path, title, date, guessed, author, keywords, fetched, sha = row[:10]
    seconds = _seconds(date)
    since = _seconds(fetched) if seconds is not None else None
    flags = [name for name, on in zip(_FLAGS, (guessed, row[10], row[11]), strict=True) if on]
    fields = [
        _shortest(item_id, (0, len(item_id), item_id), lambda v: _id_of(v, url)),
        url,
        title,
        date if seconds is None else seconds,
        author,
        json.loads(keywords),
        fetched if since is None else since - seconds,
        _sha_field(sha),
        images,
        flags,
        _shortest(path, ("", path.rpartition("/")[2], path), lambda v: _path_of(v, folder, title)),
        [[_when(when), _sha_field(digest), name] for when, digest, name in versions],
        [_when(gone[0]), gone[1]] if gone else [],
    ]
    while (
        len(fields) > len(_FIELDS) - len(_DEFAULTS)
        and fields[-1] == _DEFAULTS[_FIELDS[len(fields) - 1]]
    ):
        fields.pop()
    return fields


def _shortest(value: str, forms: tuple, read) -> object:
    """The first of `forms` that `read` takes back to `value`, else `value` in a list (a
    form every field reads as the text it holds)."""
    for form in forms:
        try:
            if read(form) == value:
                return form
        except _NOT_OURS:
            pass
    return [value]


def _v1_line(row: tuple, folder: str, images: list[str]) -> list:
    """An item's fields as the versions before wrote them (`_V1_FIELDS`)."""
    item_id, url, path, title, date, guessed, author, keywords, fetched, sha = row[:10]
    if path.rpartition("/")[0] == folder:  # the usual case: the name alone
        path = path.rpartition("/")[2]
    flags = [name for name, on in (("adopted", row[10]), ("sanitized", row[11])) if on]
    fields = [item_id, url, path, title, date, bool(guessed), author]
    return fields + [json.loads(keywords), fetched, sha, flags, images]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _seconds(iso: str) -> int | None:
    """The Unix seconds of an ISO date as the writer writes them (UTC, to the second)."""
    if not _ISO_UTC.fullmatch(iso):
        return None
    try:
        seconds = (datetime.fromisoformat(iso) - _EPOCH) // timedelta(seconds=1)
    except ValueError:  # 2024-02-30
        return None
    return seconds if _iso(seconds) == iso else None


def _when(iso: str) -> int | str:
    """A time as `date` is written: Unix seconds where they say it exactly, else as it is."""
    seconds = _seconds(iso)
    return iso if seconds is None else seconds


def _time_of(value: object) -> str:
    """A time from its field, as `_when` wrote it: Unix seconds, or the ISO text itself."""
    return value if isinstance(value, str) else _iso(value)


def _iso(seconds: object) -> str:
    return (_EPOCH + timedelta(seconds=_count(seconds))).isoformat()


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r:.40}")
    return value


def _id_of(value: object, url: str) -> str:
    """An item id from its field: 0 the URL, n the URL's n characters before its last `.`
    (Sina's `doc-i<ID>.shtml`), [text] or text itself."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0:
            return url
        before = url.rpartition(".")[0]
        if not 0 < value <= len(before):
            raise ValueError(f"not an id of {url!r:.40}: {value}")
        return before[-value:]
    return _literal(value)


def _literal(value: object) -> str:
    """A text field's text: itself, or in a list of one (what `_shortest` writes when no
    short form says it)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _text(value)


def _path_of(value: object, folder: str, title: str) -> str:
    """An item's path from its `name`: "" the title's plain name in the folder, a name in
    the folder, a path (it holds a `/`), or [path]."""
    if isinstance(value, list):
        return _literal(value)
    name = _text(value) or _plain_name(title)
    return name if "/" in name or not folder else f"{folder}/{name}"


_NAME_REPLACED = re.compile(r"[:/\\?*“”<>|\[\]]")
_NAME_REMOVED = re.compile(r"[\n#.]")


def _plain_name(title: str) -> str:
    """The file name a plain title has (the reference STEM rule: docs/FORMAT.md "Paths"),
    fixed here as the state's own: a name this does not give is written out, so a change of
    `paths.stem_for` never moves a post that is archived already."""
    stem = _NAME_REMOVED.sub("", _NAME_REPLACED.sub("_", title)).lstrip(" ._").rstrip(" .")
    if not stem:
        raise ValueError("no plain name")
    return f"{stem}.md"


def _sha_field(sha: str) -> str:
    if _SHA256.fullmatch(sha):
        return base64.urlsafe_b64encode(bytes.fromhex(sha)).decode().rstrip("=")
    return f"={sha}"


def _sha_of(value: object) -> str:
    text = _text(value)
    if text.startswith("="):
        return text[1:]
    if len(text) != 43:
        raise ValueError(f"not a sha256: {text!r:.50}")
    return base64.urlsafe_b64decode(text + "=").hex()


def _item(header: dict, row: object) -> tuple[tuple, list[str], list[tuple], tuple | None]:
    """An item's row (`_COLUMNS`, with its source), its images, its earlier versions and its
    takedown, from a line of a month file with this header (the fields as written now, or
    before: `_V1_FIELDS`)."""
    source, folder = _text(header["source"]), _text(header["folder"])
    fields, row = _list(header["fields"]), _list(row)
    row = row + [_DEFAULTS[name] for name in fields[len(row) :]]  # left off at the end
    item = dict(zip(fields, row, strict=True))
    if "item_id" in item:  # before
        item_id, title, date = _text(item["item_id"]), _text(item["title"]), _text(item["date"])
        path = _text(item["path"])
        if "/" not in path and folder:  # a name in the file's folder
            path = f"{folder}/{path}"
        fetched, sha = _text(item["fetched_at"]), _text(item["sha256"])
        flags = _list(item["flags"])
        guessed = bool(item["date_guessed"])
    else:
        url, title, when = _text(item["url"]), _text(item["title"]), item["date"]
        item_id = _id_of(item["id"], url)
        date = _text(when) if isinstance(when, str) else _iso(when)
        since = item["fetched"]
        fetched = _text(since) if isinstance(since, str) else _iso(_count(when) + _count(since))
        sha = _sha_of(item["sha"])
        path = _path_of(item["name"], folder, title)
        flags = _list(item["flags"])
        guessed = "guessed" in flags
    keywords = json.dumps([_text(k) for k in _list(item["keywords"])], ensure_ascii=False)
    columns = (source, item_id, _text(item["url"]), path, title, date, int(guessed))
    columns += (_text(item["author"]), keywords, fetched, sha)
    columns += (int("adopted" in flags), int("sanitized" in flags))
    versions = [_version(v) for v in _list(item.get("versions", []))]
    gone = _list(item.get("gone", []))
    takedown = None
    if gone:
        when, reason = gone
        takedown = _time_of(when), _text(reason)
    return columns, [_text(url) for url in _list(item["images"])], versions, takedown


def _version(value: object) -> tuple[str, str, str]:
    """An earlier version's (fetched_at, sha256, title) from its field."""
    when, digest, title = _list(value)
    return _time_of(when), _sha_of(digest), _text(title)


def _put_item(db: sqlite3.Connection, header: dict, row: list) -> None:
    columns, images, versions, takedown = _item(header, row)
    db.execute(
        "INSERT OR REPLACE INTO items (source, item_id, url, path, title, date, "
        "date_guessed, author, keywords, fetched_at, sha256, adopted, sanitized) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        columns,
    )
    for url in images:
        db.execute(
            "INSERT OR IGNORE INTO item_images VALUES (?,?,?)", (columns[0], columns[1], url)
        )
    for version in versions:
        db.execute("INSERT OR REPLACE INTO versions VALUES (?,?,?,?,?)", (*columns[:2], *version))
    if takedown is not None:
        db.execute("INSERT OR REPLACE INTO takedowns VALUES (?,?,?,?)", (*columns[:2], *takedown))


def _put_image(db: sqlite3.Connection, image: dict, tally: _Tally) -> None:
    db.execute(
        "INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?)",
        (
            _text(image["url"]),
            _text(image["path"]),
            _text(image["sha256"]),
            tally.count(image["attempts"]),
            _text(image["last_error"]),
            _text(image["fetched_at"]),
        ),
    )


def _put_retry(db: sqlite3.Connection, counted: dict, retry: dict, tally: _Tally) -> None:
    """A retry's line: this module's (`given_up`, `reason`), or an older one's (`attempts`,
    `last_error`: how often it failed was text then)."""
    key = (_text(retry["source"]), _text(retry["item_id"]))
    payload = retry["payload"]
    if not isinstance(payload, dict):
        raise TypeError(f"not an object: {payload!r:.40}")
    given_up = retry.get("given_up", False)
    if not isinstance(given_up, bool):
        raise TypeError(f"not true or false: {given_up!r:.40}")
    attempts, error = counted.get(key, (0, ""))
    if "attempts" in retry:
        attempts, error = tally.count(retry["attempts"]), _text(retry.get("last_error", ""))
    if given_up:
        error = _text(retry.get("reason", ""))
    db.execute(
        "INSERT OR REPLACE INTO retries (source, item_id, url, payload, attempts, last_error, "
        "given_up) VALUES (?,?,?,?,?,?,?)",
        (
            *key,
            _text(retry["url"]),
            json.dumps(payload, ensure_ascii=False),
            attempts,
            error,
            int(given_up),
        ),
    )


MAX_COUNT = 1_000_000  # a count in a state file above this is clamped to it


class _Tally:
    """What one state file's lines needed: values clamped into range."""

    def __init__(self) -> None:
        self.clamped = 0

    def count(self, value: object) -> int:
        """A count (attempts): an integer, clamped to 0…MAX_COUNT; any other value (`1e999`
        is a float, `true` a boolean) is no count, and its line is skipped."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"not a count: {value!r:.40}")
        if 0 <= value <= MAX_COUNT:
            return value
        self.clamped += 1
        return MAX_COUNT if value > 0 else 0


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r:.40}")
    return value


def _list(value: object) -> list:
    if not isinstance(value, list):
        raise TypeError(f"not a list: {value!r:.40}")
    return value


# What a line that is not ours makes `put` raise: a missing key, a wrong type, a value SQLite
# cannot hold (an integer over 64 bits), a nesting too deep to write back.
_NOT_OURS = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    OverflowError,
    RecursionError,
)


def _each(path: Path, records: list, put) -> None:
    """`put(record, tally)` each record; those it cannot take (not ours) are counted and
    said once, as are the values it clamped."""
    skipped, tally = 0, _Tally()
    for record in records:
        try:
            put(record, tally)
        except _NOT_OURS:
            skipped += 1
    if skipped:
        log.warning("%s: %d line(s) not of the crawler's text state, skipped", path, skipped)
    if tally.clamped:
        log.warning("%s: %d value(s) out of range, clamped", path, tally.clamped)


def _joined(lines: Iterable[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _bytes_of(path: Path) -> bytes | None:
    """A state file's bytes; b"" when there is none, None when what is there is no plain file
    of ours (a link, a FIFO, too large: it is replaced when the state is saved)."""
    try:
        return read_archive_file(path)
    except FileNotFoundError:
        return b""
    except RefusedFile:
        return None


def _objects(path: Path) -> list:
    """The parsed lines of a state file (only a plain file of bounded size is read); a line
    that is not JSON is None (skipped by `_each`)."""
    try:
        text = read_archive_file(path).decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    except OSError as exc:  # RefusedFile among them
        log.warning("%s: %s", path, getattr(exc, "reason", exc))
        return []
    objects = []
    for line in text.split("\n"):  # not splitlines: U+0085 and U+2028 are text here
        if line.strip():
            try:
                objects.append(json.loads(line))
            except (ValueError, RecursionError):
                objects.append(None)
    return objects
