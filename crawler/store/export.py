"""The archive as a dataset: one record per item, streamed from the index and the files.

A record's fields are `FIELDS`, in that order: the index gives the provenance, the file on
disk gives the categories and the body (the files are the archive; the index only points).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import yaml

from .atomic import read_archive_file, unreadable
from .index import ProvenanceIndex, record_from_row
from .search import plain_text
from .template import MARKDOWN, ArchiveFile, parse

log = logging.getLogger("crawler")
FIELDS = (
    "id",
    "source",
    "category",
    "site",
    "name",
    "url",
    "title",
    "date",
    "date_guessed",
    "author",
    "keywords",
    "path",
    "fetched_at",
    "sha256",
    "images",
    "status",
    "taken_down_at",
    "versions",
    "body",
)
BODY_FORMS = ("text", "html", "markdown")
FORMATS = ("jsonl", "csv")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Where a reader sees a new line: block elements and <br>.
_BLOCK = re.compile(
    r"<(?:br|/?(?:p|div|h[1-6]|li|ul|ol|tr|table|blockquote|section|article|figure|"
    r"figcaption|pre|hr))\b[^>]*>",
    re.I,
)


@dataclass(frozen=True)
class Selection:
    """Which items, in which order (dates are ISO 8601 UTC; a bare day takes all of it)."""

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    oldest_first: bool = False


def records(
    index: ProvenanceIndex, root: Path, selection: Selection, body: str = "text"
) -> Iterator[dict[str, Any]]:
    """Every selected item as a record, newest first (or oldest first), one at a time."""
    where, params = [], []
    if selection.sources:
        where.append(f"source IN ({','.join('?' * len(selection.sources))})")
        params += selection.sources
    if selection.since:
        where.append("date >= ?")
        params.append(selection.since)
    if selection.until:
        where.append("substr(date, 1, ?) <= ?")  # a bare day includes all of it
        params += [len(selection.until), selection.until]
    order = "ASC" if selection.oldest_first else "DESC"
    query = (
        f"SELECT {index.columns} FROM items"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY date {order}, path {order}"
    )
    for row in index.db.execute(query, params):
        record = record_from_row(row)
        parsed = read_post(root / record.path)
        category, site, name = _categories(parsed, record.path)
        versions = index.versions(record.source, record.item_id)
        gone = index.takedown(record.source, record.item_id)
        yield {
            "id": record.item_id,
            "source": record.source,
            "category": category,
            "site": site,
            "name": name,
            "url": record.url,
            "title": record.title,
            "date": record.date,
            "date_guessed": record.date_guessed,
            "author": record.author,
            "keywords": list(record.keywords),
            "path": record.path,
            "fetched_at": record.fetched_at,
            "sha256": record.sha256,
            "images": [{"url": u, "path": p} for u, p in index.item_images(record)],
            "status": "taken down" if gone else "edited" if versions else "archived",
            "taken_down_at": gone.seen_at if gone else "",
            "versions": [v._asdict() for v in versions],
            "body": body_as(parsed, body) if parsed is not None else None,
        }


_HIDDEN = re.compile(r"<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\1\s*>|$)", re.S | re.I)


def body_as(parsed: ArchiveFile, form: str) -> str:
    """The file's body as `text` (paragraphs on their own lines, a blank line between them),
    `html` (as archived: Markdown for a Markdown source) or `markdown`."""
    if form == "html":
        return parsed.body
    if form == "markdown":
        return readable(parsed)
    if parsed.body_format == MARKDOWN:
        return parsed.body.strip()
    paragraphs = (plain_text(part) for part in _BLOCK.split(parsed.body))
    return "\n\n".join(p for p in paragraphs if p)


def readable_body(body_html: str) -> str:
    """The body as Markdown text: comments, styles and scripts dropped."""
    from markdownify import markdownify  # BeautifulSoup: loaded only when asked for

    text = markdownify(
        _HIDDEN.sub("", body_html).replace("&#123;", "{").replace("&#125;", "}"),
        heading_style="ATX",
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def readable(parsed: ArchiveFile) -> str:
    """The body of an archived file as Markdown text."""
    if parsed.body_format == MARKDOWN:
        return parsed.body.replace("&#123;", "{").replace("&#125;", "}").strip()
    return readable_body(parsed.body)


def read_post(path: Path) -> ArchiveFile | None:
    """An archived post, parsed; None if it is missing, not a plain file of bounded size
    (never read through a link: said in a warning), or not in the archive's format."""
    try:
        data = read_archive_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s: %s: skipped", path, unreadable(exc))
        return None
    try:
        return parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _categories(parsed: ArchiveFile | None, path: str) -> tuple[str, str, str]:
    """CATEGORY, SITE and NAME from the front matter; else the path's folders."""
    m = _CATEGORY_LINES.search(parsed.front) if parsed is not None else None
    names = _names(m.group()) if m else None
    if names is not None:
        return names
    category, site, name, *_ = [*path.split("/")[:-1], "", "", ""]
    return category, site, name


_CATEGORY_LINES = re.compile(r"^categories: \n - [^\n]*\n - [^\n]*\n - [^\n]*\n", re.M)


@lru_cache(maxsize=4096)
def _names(lines: str) -> tuple[str, str, str] | None:
    """The three names of a `categories:` block (YAML read once per source: they repeat)."""
    try:
        names = yaml.load(lines, Loader=_LOADER).get("categories")
    except (yaml.YAMLError, AttributeError):
        return None
    if not isinstance(names, list) or len(names) != 3:
        return None
    return str(names[0]), str(names[1]), str(names[2])


def write_jsonl(out: IO[str], rows: Iterator[dict[str, Any]]) -> Iterator[None]:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        yield


def write_csv(out: IO[str], rows: Iterator[dict[str, Any]]) -> Iterator[None]:
    """RFC 4180: a header row, CRLF line ends, fields quoted when they must be; lists and
    objects as JSON text, booleans as true/false, no body as an empty field."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_cell(row[field]) for field in FIELDS])
        yield


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}
