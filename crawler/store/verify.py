"""Checking an archive against docs/FORMAT.md and its provenance, and rebuilding the provenance."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import yaml

from . import warc
from .atomic import is_temp_file, read_archive_file, unreadable
from .fields import MARKUP_CHARACTERS, inert_title
from .hexo_syntax import hexo_syntax_edits
from .images import ImageError, image_extension, stored_files
from .index import HIDDEN_DIR, ProvenanceIndex, Record
from .judge import unsafe_markup
from .search import plain_text
from .state import TextState
from .template import MARKDOWN, TRAILER, ArchiveFile, parse
from .versions import version_path

log = logging.getLogger("crawler")
_RFC1123 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT"
)
_RFC1123_BEFORE_100 = re.compile(r"\w{3}, \d\d \w{3} 00\d\d \d\d:\d\d:\d\d GMT")
_KEYS = ("title", "categories", "headimg", "author", "comments", "date", "thumbnail")


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the archive root
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def archive_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every file below root, hidden folders left out."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            yield path.relative_to(root).as_posix(), path


def verify(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    digests: dict[str, str | None] = {}  # None: not read (its problem is said)
    for rel, path in archive_files(root):
        if is_temp_file(path.name):
            problems.append(Problem(rel, "temporary file left over by an interrupted write"))
        elif path.suffix == ".md":
            try:
                data = read_archive_file(path)
            except OSError as exc:  # planted (a link, a FIFO, a huge file) or unreadable
                digests[rel] = None
                problems.append(Problem(rel, unreadable(exc)))
                continue
            digests[rel] = hashlib.sha256(data).hexdigest()
            problems.extend(Problem(rel, message) for message in check_file(data))
    index = ProvenanceIndex.open_existing(root)
    if index is not None:
        try:
            problems.extend(_check_provenance(index, digests))
            problems.extend(_check_images(root, index))
            problems.extend(_check_state(root, index))
            problems.extend(_check_versions(root, index))
        finally:
            index.close()
    for path, why in warc.problems(root):
        problems.append(Problem(path.relative_to(root).as_posix(), why))
    return problems


def _check_versions(root: Path, index: ProvenanceIndex) -> list[Problem]:
    """Each earlier version's kept text must be what its sha256 says (a version whose text is
    not kept here, as in a clone of the archive in git, is no problem)."""
    if not index.edited():
        return []
    problems = []
    for source, item_id in sorted(index.edited()):
        record = index.get(source, item_id)
        for version in index.versions(source, item_id) if record else ():
            path = version_path(root, record.path, version.sha256)
            try:
                data = read_archive_file(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                problems.append(Problem(path.relative_to(root).as_posix(), unreadable(exc)))
                continue
            if hashlib.sha256(data).hexdigest() != version.sha256:
                problems.append(
                    Problem(path.relative_to(root).as_posix(), "not the version its name says")
                )
    return problems


def _check_state(root: Path, index: ProvenanceIndex) -> list[Problem]:
    """The text state against the index (its cache): they must say the same. Not while a
    writer is at work or after one died (`dirty`): the next writer rewrites the state."""
    state = TextState(root / HIDDEN_DIR)
    if not state.exists() or (root / HIDDEN_DIR / "dirty").exists():
        return []
    return [
        Problem(path.relative_to(root).as_posix(), "text state differs from the provenance index")
        for path in state.differing(index.db)
    ]


def _check_images(root: Path, index: ProvenanceIndex) -> list[Problem]:
    """The image store against its provenance: missing, damaged (sha256) and orphaned files."""
    problems = []
    recorded = {path: url for url, path, _ in index.image_records()}
    on_disk = set()
    for rel, path, sha in stored_files(root):
        on_disk.add(rel)
        if rel not in recorded:
            problems.append(Problem(rel, "image not in the provenance index (orphaned)"))
        try:
            data = read_archive_file(path)
        except OSError as exc:
            problems.append(Problem(rel, f"image {unreadable(exc)}"))
            continue
        if sha is None:
            problems.append(Problem(rel, "not an image store name (<sha256>.<ext>)"))
        elif hashlib.sha256(data).hexdigest() != sha:
            problems.append(Problem(rel, "image damaged: its sha256 differs from its name"))
        if unsafe := _not_raster(path, data):
            problems.append(Problem(rel, f"unsafe image: {unsafe}"))
    problems.extend(
        Problem(rel, f"image of {url} is missing")
        for rel, url in recorded.items()
        if rel not in on_disk
    )
    return problems


def _not_raster(path: Path, data: bytes) -> str:
    """Why a stored file must not be served from the blog ('' for a raster image whose name
    says what it is)."""
    try:
        ext = image_extension(data[:64])
    except ImageError:
        return "not a raster image by its bytes (an SVG or HTML file can run script)"
    return "" if path.suffix == ext else f"a {ext} image named {path.suffix or 'without suffix'}"


def check_file(data: bytes) -> list[str]:
    """What is wrong with one archive file, as messages; empty when it is right."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8 (byte {exc.start})"]
    if text.startswith("\ufeff"):
        return ["starts with a byte-order mark"]
    if "\r" in text:
        return ["has CR line endings"]
    parsed = parse(text)
    if parsed is None:
        return [_template_mismatch(text)]
    try:
        front = yaml.safe_load(parsed.front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 3})" if mark else ""
        return [f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}"]
    problems = _check_front(front)
    markdown = parsed.body_format == MARKDOWN
    problems.extend(
        f"unsafe body: {item}" for item in unsafe_markup(parsed.body, markdown=markdown)
    )
    if "{" in parsed.body or "}" in parsed.body:
        problems.append("unescaped { or } in body (Hexo reads them as template tags)")
    if not markdown and hexo_syntax_edits(parsed.body):
        problems.append(
            "Hexo syntax in body: an excerpt marker, a code fence at a line start or a `<` "
            "inside a tag (BODY edit 6)"
        )
    return problems


def _template_mismatch(text: str) -> str:
    if not text.startswith("\n---\ntitle: "):
        return "not in the archive template (it must start with a blank line, '---', 'title: ')"
    if not text.endswith(TRAILER):
        return "not in the archive template: the closing '</div>' lines are missing (truncated?)"
    return "not in the archive template: the front matter's lines differ from docs/FORMAT.md"


def _check_front(front: object) -> list[str]:
    if not isinstance(front, dict):
        return ["front matter is not a mapping"]
    problems = [f"front matter lacks key {key!r}" for key in _KEYS if key not in front]
    for key in ("title", "headimg", "author", "thumbnail", "date"):
        if key in front and not isinstance(front[key], str):
            problems.append(f"{key} does not load as a string (it is {type(front[key]).__name__})")
    categories = front.get("categories")
    if not (
        isinstance(categories, list)
        and len(categories) == 3
        and all(isinstance(c, str) for c in categories)
    ):
        problems.append("categories must be three strings")
    problems.extend(_markup_in_fields(front))
    tags = front.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        problems.append("tags must be a list of strings")
    if front.get("headimg") != front.get("thumbnail"):
        problems.append("headimg and thumbnail differ")
    date = front.get("date")
    if isinstance(date, str) and _RFC1123_BEFORE_100.fullmatch(date):
        problems.append(f"date {date!r} has a year before 100: readers take it for 19xx or 20xx")
    elif isinstance(date, str) and not _is_rfc1123(date):
        problems.append(f"date {date!r} is not RFC 1123 in GMT")
    return problems


def _markup_in_fields(front: dict) -> list[str]:
    """Names and titles a theme may write into a page unescaped (docs/FORMAT.md, TITLE,
    CATEGORY / AUTHOR) hold no markup."""
    problems = []
    title = front.get("title")
    if isinstance(title, str) and inert_title(title) != title:
        problems.append("title holds a '<' that opens markup (it is written '＜')")
    categories = front.get("categories")
    names = [front.get("author"), *(categories if isinstance(categories, list) else [])]
    if any(isinstance(n, str) and MARKUP_CHARACTERS.search(n) for n in names):
        problems.append("a category or the author holds markup characters (<>&\"'`)")
    return problems


def _is_rfc1123(date: str) -> bool:
    if not _RFC1123.fullmatch(date):
        return False
    try:
        moment = parsedate_to_datetime(date)
        return format_datetime(moment.astimezone(UTC), usegmt=True) == date  # weekday, day
    except (TypeError, ValueError, OverflowError):
        return False


def _check_provenance(index: ProvenanceIndex, digests: dict[str, str | None]) -> list[Problem]:
    problems = []
    recorded = set()
    for record in index.records():
        recorded.add(record.path)
        if record.path not in digests:
            problems.append(Problem(record.path, "listed in the provenance index but missing"))
        elif digests[record.path] not in (record.sha256, None):
            problems.append(Problem(record.path, "differs from its provenance (sha256)"))
    problems.extend(
        Problem(rel, "not in the provenance index (run 'crawler archive reindex')")
        for rel, digest in digests.items()
        if rel not in recorded and digest is not None
    )
    return problems


def rebuild_provenance(root: Path) -> tuple[int, int, int]:
    """Make the provenance index agree with the files on disk: (kept, adopted, dropped).

    Records of files that are gone are dropped; files without a record are adopted under
    their folder's source name, with the path standing in for the unknown item id.
    """
    index = ProvenanceIndex.open(root)
    kept = adopted = 0

    def records() -> Iterator[tuple[Record, str]]:  # one file at a time: memory stays flat
        nonlocal kept, adopted
        for rel, path in archive_files(root):
            if path.suffix != ".md" or is_temp_file(path.name):
                continue
            try:
                data = read_archive_file(path)
            except OSError as exc:  # planted (a link, a FIFO, a huge file) or unreadable
                log.warning("%s: %s: skipped", rel, unreadable(exc))
                continue
            sha = hashlib.sha256(data).hexdigest()
            parsed = parse(data.decode("utf-8", "replace"))
            text = plain_text(parsed.body) if parsed else ""
            if old := index.at_path(rel):
                kept += 1
                yield _with_sha(old, sha), text
            else:
                adopted += 1
                yield _adopt(rel, parsed, sha), text

    try:
        dropped = index.replace_all(records())
        return kept, adopted, dropped
    finally:
        index.close()


def rebuild_search(root: Path) -> None:
    """Fill the search index from the posts the provenance lists (a checkout brought the
    text state, not the cache): what `archive search` does when it first needs it."""
    from .export import read_post

    index = ProvenanceIndex.open(root)
    try:
        rows = index.db.execute("SELECT path, title, date, source, url FROM items").fetchall()

        def texts() -> Iterator[tuple[str, str, str, str, str, str]]:
            for path, title, date, source, url in rows:
                parsed = read_post(root / path)
                yield path, title, plain_text(parsed.body) if parsed else "", date, source, url

        index.refill_texts(texts())
    finally:
        index.close()


def _with_sha(record: Record, sha: str) -> Record:
    return record if record.sha256 == sha else Record(**{**record.__dict__, "sha256": sha})


def _adopt(rel: str, parsed: ArchiveFile | None, sha: str) -> Record:
    parts = rel.split("/")
    title, date = parts[-1][:-3], ""
    if parsed is not None:
        try:
            front = yaml.safe_load(parsed.front)
            title, date = str(front.get("title", title)), str(front.get("date", ""))
            if _RFC1123_BEFORE_100.fullmatch(date):  # parsed, `0050` would be 1950
                raise ValueError(date)
            date = parsedate_to_datetime(date).astimezone(UTC).isoformat()
        except (yaml.YAMLError, TypeError, ValueError, AttributeError, OverflowError):
            pass
    source = parts[-2] if len(parts) >= 2 else ""
    return Record(
        source=source,
        item_id=f"file:{rel}",
        url="",
        path=rel,
        title=title,
        date=date,
        date_guessed=False,
        author="",
        keywords=(),
        fetched_at="",
        sha256=sha,
        adopted=True,
    )
