"""ArchiveWriter: one article in, one file out — atomically, once, with its provenance."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from ..errors import one_line
from ..items import (
    Article,
    Capture,
    Checked,
    ImageOutcome,
    ImageRetry,
    Pending,
    Sample,
    Settled,
    Shelf,
)
from .atomic import (
    RefusedFile,
    fsync_all,
    fsync_dir,
    is_temp_file,
    make_dirs,
    read_archive_file,
    write_atomic,
    write_temp,
)
from .images import IMAGES_DIR
from .index import HIDDEN_DIR, ProvenanceIndex, Record, record_from_row, record_row
from .index_checks import Takedown
from .index_versions import Version
from .paths import collision_stems, name_key, stem_for
from .samples import keep_sample
from .search import plain_text
from .state import STATE_DIR
from .template import Post, parse, post_for, relink_file, render, with_notice
from .verify import archive_files
from .versions import keep_version
from .warc import append as warc_append
from .warc import records as warc_records
from .warc import warc_path

log = logging.getLogger("crawler")
_JOURNAL_MAX_BYTES = 1 << 30  # a batch's files and texts; anything bigger was not ours


class ArchiveError(Exception):
    """The archive cannot take this write; the message names the path."""


class ItemError(Exception):
    """This item cannot be archived (its date, body, name or place); the others can."""


def unrenderable(article: Article, exc: Exception) -> ItemError:
    """The ItemError for an article whose content made rendering it fail."""
    return ItemError(f"{article.url}: cannot be rendered: {one_line(exc)}")


# What a write can fail with when the archive cannot take it (full, read-only, refused).
WRITE_ERRORS = (OSError, sqlite3.Error, ArchiveError)


@dataclass(frozen=True)
class WriteResult:
    path: Path
    status: str  # "new", "updated" or "unchanged"
    source: str = ""


@dataclass(frozen=True)
class _Staged:
    """A file written beside its place, waiting for its batch to be made durable."""

    fd: int
    tmp: Path
    path: Path
    record: Record
    text: str
    images: tuple
    earlier: Version | None = None  # the version the file replaces, kept before


class ArchiveWriter:
    """Writes articles below `root` as docs/FORMAT.md says; knows nothing of Scrapy.

    With `batch` > 1, writes are made durable in groups (one fsync pass and one index commit
    for up to `batch` articles; `flush` makes them durable sooner): `on_durable` hears of
    each write once it is. A batch of several files is journaled before its files are renamed
    into place, so a writer killed between the renames and the commit is finished by the next
    one."""

    def __init__(
        self,
        root: Path | str,
        index: ProvenanceIndex | None = None,
        *,
        batch: int = 1,
        on_durable: Callable[[WriteResult], None] | None = None,
    ):
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise ArchiveError(f"{root}: archive path exists and is not a folder")
        make_dirs(root.absolute())
        self.root = root.resolve()
        self.index = index or ProvenanceIndex.open(self.root)
        self.index.deferred = True  # the text state is written at close (ProvenanceIndex)
        self.batch = batch
        self.on_durable = on_durable
        self._staged: dict[Path, _Staged] = {}
        self._held: list[WriteResult] = []  # written, not durable yet
        self._batch_started = 0.0
        self._checked: set[Path] = set()  # folders known to lie inside the root
        self._keys: dict[str, set[str]] | None = None  # name_key → the index's paths
        self._names: dict[str, dict[str, set[str]]] = {}  # folder → name_key → file names
        self._was_dirty = self._dirty_mark.exists()  # the last writer never closed
        self._finish_journaled_batch()
        if self._was_dirty:  # it may have died between a commit and the text state's save
            self.index.save_all_state()
        self._dirty_mark.touch()

    def close(self) -> None:
        """Make what is held and the new file names durable, then let the index go (a writer
        that fails here stays marked dirty: the next one cleans up after it)."""
        try:
            self.flush()
            self.index.save_state()
        finally:
            self._discard_staged()
            self.index.close()
        if not self._journal.exists():
            self._dirty_mark.unlink(missing_ok=True)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, article: Article) -> WriteResult:
        """Write one article (durable on return when `batch` is 1, else at the next flush).
        An ItemError leaves the archive and the batch as they were."""
        fetched = article.fetched_at or datetime.now(UTC)
        source = article.shelf.source
        try:
            record, data, text, known = self._prepare(article, fetched)
        except (ItemError, *WRITE_ERRORS):
            raise
        except Exception as exc:  # this item's content (a bug it finds): the others go on
            raise unrenderable(article, exc) from exc
        path = self._inside_root(record.path)
        if path in self._staged:  # the same file twice in one batch: the first goes first
            self.flush()
        before = _read(path)
        unchanged = before == data
        earlier = None
        if known is not None and before is not None and not unchanged:
            earlier = self._keep_version(known, before)
        self.index.begin_batch()
        if article.images:
            self.index.note_images(source, article.id, article.images, _iso(fetched))
        if unchanged:
            status = "unchanged"
            if known is not None:  # the same version: first fetched then, seen again now
                record = replace(record, fetched_at=known.fetched_at)
                self.index.note_seen(source, article.id, _iso(fetched))
        else:
            make_dirs(path.parent, inside=self.root)
            fd, tmp = write_temp(path, data)
            self._staged[path] = _Staged(fd, tmp, path, record, text, article.images, earlier)
            status = "updated" if known else "new"
        try:
            self.index.put(record, text=text, earlier=earlier)
        except BaseException:
            if entry := self._staged.pop(path, None):
                os.close(entry.fd)
                entry.tmp.unlink(missing_ok=True)
            raise
        self._note_path(record.path)
        result = WriteResult(path, status, source)
        if not self._held:
            self._batch_started = time.monotonic()
        self._held.append(result)
        if len(self._held) >= self.batch:
            self.flush()
        return result

    def _keep_version(self, known: Record, before: bytes) -> Version:
        """The post about to be written anew kept as an earlier version (its text below
        `.crawler/versions/`, durable before the post changes)."""
        sha = hashlib.sha256(before).hexdigest()
        try:
            keep_version(self.root, known.path, sha, before)
        except OSError as exc:  # a planted link: the old text is never lost for the new
            raise ItemError(f"{known.path}: cannot keep its earlier version: {exc}") from exc
        return Version(known.fetched_at, sha, known.title)

    def _prepare(
        self, article: Article, fetched: datetime
    ) -> tuple[Record, bytes, str, Record | None]:
        """The item's record, file bytes and plain text, and its record if archived already:
        everything that can fail because of what the item holds, before anything changes."""
        local = self._local_images(article.shelf, article.images)
        known = self.index.get(article.shelf.source, article.id)
        date, guessed = article.date, article.date is None or article.date_guessed
        if date is None:
            date, guessed = fetched, True
        if known is not None and (guessed or not known.date_guessed):
            # One item, one date: a roll's and a page's may differ by minutes, and whichever
            # command (crawl, fetch, --refresh) comes later never moves the post in time; a
            # guessed date (the first fetch time) stays until the source gives a real one.
            date, guessed = datetime.fromisoformat(known.date), known.date_guessed
        post = post_for(article, date, local)
        data = render(post).encode("utf-8")
        rel = known.path if known else self._free_path(post, article.shelf.source, article.id, data)
        record = Record(
            source=article.shelf.source,
            item_id=article.id,
            url=article.url,
            path=rel,
            title=post.title,
            date=_iso(post.date),
            date_guessed=guessed,
            author=article.author,
            keywords=tuple(article.keywords),
            fetched_at=_iso(fetched),
            sha256=hashlib.sha256(data).hexdigest(),
            sanitized=post.sanitized,
        )
        return record, data, plain_text(post.body), known

    def flush(self, older_than: float = 0.0) -> None:
        """Make the held writes durable (only if the oldest is `older_than` seconds old):
        staged files synced together, journaled when several, renamed into place, index
        committed."""
        if not self._held:  # every staged file is a held write
            self.index.commit_batch()
            return
        if time.monotonic() - self._batch_started < older_than:
            return
        staged = list(self._staged.values())
        try:
            fsync_all([entry.fd for entry in staged])
            if len(staged) > 1:
                write_atomic(self._journal, journal_bytes(staged, self.root))
        except BaseException:
            self._discard_staged()
            self.index.rollback_batch()
            self._held.clear()
            raise
        for entry in staged:
            os.close(entry.fd)
        self._staged.clear()
        try:
            for entry in staged:
                os.replace(entry.tmp, entry.path)
            # The new names outlive a power cut before the index says they are there.
            for folder in {entry.path.parent for entry in staged}:
                fsync_dir(folder)
        except BaseException:  # a journal has the next writer finish the batch
            self.index.rollback_batch()
            self._held.clear()
            if len(staged) == 1:  # no journal: as if never written
                staged[0].tmp.unlink(missing_ok=True)
            raise
        self.index.commit_batch()
        if len(staged) > 1:
            self._journal.unlink()
        held, self._held = self._held, []
        if self.on_durable is not None:
            for result in held:
                self.on_durable(result)

    def _finish_journaled_batch(self) -> None:
        """A writer killed between renaming a batch's files and committing its index left the
        journal: put what is left of the batch in place and commit it now. A journal that is
        not one this writer could have written (paths outside the archive, not a temporary
        file beside its post) is set aside untouched, with a warning."""
        try:
            entries = self._journal_entries(read_archive_file(self._journal, _JOURNAL_MAX_BYTES))
        except FileNotFoundError:
            return
        except (RefusedFile, ValueError, TypeError, KeyError, IndexError) as exc:
            refused = self._journal.with_name(self._journal.name + ".refused")
            os.replace(self._journal, refused)
            why = exc.reason if isinstance(exc, RefusedFile) else exc
            log.warning(
                "%s: not a journal of ours (%s): set aside as %s", self._journal, why, refused
            )
            return
        renamed: set[Path] = set()
        with self.index.transaction():
            for tmp, path, record, text, images, earlier in entries:
                if tmp.is_file() and not tmp.is_symlink():
                    os.replace(tmp, path)
                    renamed.add(path.parent)
                if images:
                    self.index.note_images(record.source, record.item_id, images, record.fetched_at)
                self.index.put(record, text=text, earlier=earlier)
            for folder in renamed:  # before the index commits
                fsync_dir(folder)
        self._journal.unlink()

    def _journal_entries(self, data: bytes) -> list[tuple]:
        """The batch journal's entries, each checked: a ValueError for anything amiss."""
        entries = []
        for entry in json.loads(data):
            rel, tmp_rel = entry["path"], entry["tmp"]
            record = record_from_row(entry["record"])
            if not isinstance(rel, str) or not isinstance(tmp_rel, str) or record.path != rel:
                raise ValueError("an entry's paths do not agree")
            path, tmp = self.root / rel, self.root / tmp_rel
            parts = PurePosixPath(rel).parts
            if (
                PurePosixPath(rel).is_absolute()
                or ".." in parts
                or not rel.endswith(".md")
                or parts[0] == HIDDEN_DIR
                or tmp.parent != path.parent
                or not is_temp_file(tmp.name)
                or not path.parent.resolve().is_relative_to(self.root)
                or path.is_symlink()
            ):
                raise ValueError(f"path {rel!r} is not a post of this archive")
            images = [ImageOutcome(*map(str, image)) for image in entry["images"]]
            earlier = entry.get("earlier")  # absent in a journal of a version before
            if earlier is not None:
                earlier = Version(*(str(field) for field in earlier))
            entries.append((tmp, path, record, str(entry["text"]), images, earlier))
        return entries

    def _discard_staged(self) -> None:
        for entry in self._staged.values():
            os.close(entry.fd)
            entry.tmp.unlink(missing_ok=True)
        self._staged.clear()

    def keep_capture(self, capture: Capture) -> None:
        """Append an article page's exchange to its month's WARC file (store/warc.py)."""
        path = warc_path(self.root, capture.source, capture)
        rel = path.relative_to(self.root).as_posix()
        try:
            size = warc_append(self.root, path, warc_records(capture), self.index.warc_size(rel))
        except OSError as exc:
            if exc.errno not in (None, errno.ELOOP):  # full, read-only: the archive's failure
                raise
            raise ItemError(f"{rel}: cannot keep the capture: {exc}") from exc  # a planted link
        self.index.set_warc_size(rel, size)

    def note_check(self, check: Checked) -> None:
        """A recheck's answer: when it was asked and its validators (the cache's), and a
        takedown found (in the text state) or undone (the article is there again)."""
        at = _iso(check.checked_at)
        source, item_id = check.source, check.item_id
        answered = check.present or check.gone is not None
        # The recheck order to the microsecond: two rechecks within a second keep it.
        order = check.checked_at.astimezone(UTC).isoformat()
        self.index.note_check(
            source, item_id, order, check.etag, check.last_modified, answered=answered
        )
        if check.gone is not None:
            news = self.index.note_takedown(source, item_id, Takedown(at, check.gone))
            if news and check.notice:
                self._add_notice(source, item_id, check.checked_at)
        elif check.present:
            self.index.note_takedown(source, item_id, None)

    def _add_notice(self, source: str, item_id: str, when: datetime) -> None:
        """The reader's notice of a takedown first in the post (no version: the change is
        ours, not the source's)."""
        self.flush()
        record = self.index.get(source, item_id)
        path = self._inside_root(record.path)
        data = _read(path)
        if data is None:
            return
        text = data.decode("utf-8", "replace")
        noticed = with_notice(text, when)
        if noticed != text:
            new = noticed.encode("utf-8")
            write_atomic(path, new)
            self.index.put(
                replace(record, sha256=hashlib.sha256(new).hexdigest()),
                text=plain_text(parse(noticed).body),
            )

    def note(self, item: Pending | Settled) -> None:
        """Requests about to be made (Pending, durable on return: with what is held), or made
        good (Settled): what a next run must ask for again if this one stops first."""
        if isinstance(item, Pending):
            self.index.note_pending(item.source, item.entries)
            self.flush()
        else:
            self.index.drop_retries(item.source, item.item_ids)

    def keep_sample(self, sample: Sample) -> Path | None:
        """Keep a page of an unknown layout (store/samples.py): where, or None when it cannot
        be kept (said in a warning: a sample never fails an item or the crawl)."""
        try:
            return keep_sample(self.root, sample)
        except WRITE_ERRORS as exc:
            log.warning("%s: %s: cannot keep the sample: %s", sample.source, sample.url, exc)
            return None

    def relink(self, retry: ImageRetry) -> WriteResult | None:
        """Record the outcome of an item's images asked for again; with `rewrite_images`,
        point its file to those now stored. None when it has no file to change."""
        self.flush()
        source = retry.shelf.source
        self.index.note_images(source, retry.item_id, retry.images, _iso(datetime.now(UTC)))
        local = self._local_images(retry.shelf, [i for i in retry.images if i.path])
        record = self.index.get(source, retry.item_id)
        if not local or record is None:
            return None
        path = self._inside_root(record.path)
        data = _read(path)
        if data is None:
            return None
        text = data.decode("utf-8", "replace")
        relinked = relink_file(text, local)
        if relinked == text:
            return WriteResult(path, "unchanged")
        new = relinked.encode("utf-8")
        write_atomic(path, new)
        self.index.put(
            replace(record, sha256=hashlib.sha256(new).hexdigest()),
            text=plain_text(parse(relinked).body),
        )
        return WriteResult(path, "updated")

    def _local_images(self, shelf: Shelf, images: list[ImageOutcome] | tuple) -> dict[str, str]:
        """URL → where Hexo serves its stored copy, for a source that rewrites images: stored
        now (the item's own outcomes), or by an earlier item."""
        if not shelf.rewrites_images or not images:
            return {}
        stored = self.index.stored_images(image.url for image in images)
        stored.update((image.url, image.path) for image in images if image.path)
        prefix = f"{IMAGES_DIR}/"
        return {url: shelf.image_url + path.removeprefix(prefix) for url, path in stored.items()}

    def _free_path(self, post: Post, source: str, item_id: str, data: bytes) -> str:
        """The item's STEM path, else its collision names in turn: never another item's file,
        never a file or folder nobody's record owns (a person's, or planted)."""
        folder = "/".join(stem_for(name) for name in (post.category, post.site, post.name))
        post_folder = folder.rsplit("/", 1)[-1]  # what reindex calls an adopted file's source
        stem = stem_for(post.title)
        self._inside_root(f"{folder}/{stem}.md")  # the folder leads nowhere else
        for candidate in collision_stems(stem, item_id):
            rel = f"{folder}/{candidate}.md"
            owner = self.index.at_path(rel)
            if owner is not None and owner.adopted and _claims(owner, post, (source, post_folder)):
                return rel  # a file reindexed from disk, claimed by its real item
            if self._spelt_otherwise(rel):
                continue  # one file with it on macOS and Windows: a collision too
            if owner is None:
                # A file with no record is ours only if it already holds these bytes (a crash
                # between rename and commit); anything else there is kept untouched.
                try:
                    on_disk = _read(self.root / rel)
                except ItemError:
                    continue
                if on_disk is None or on_disk == data:
                    return rel
        raise AssertionError("collision_stems never runs out")  # pragma: no cover

    def _spelt_otherwise(self, rel: str) -> bool:
        """Whether a path of the index or a file in its folder is `rel` but for case or Unicode
        normalization (name_key): a checkout on macOS or Windows would keep one of the two."""
        if self._keys is None:  # built once, when a new item first needs a name
            self._keys = {}
            for (path,) in self.index.db.execute("SELECT path FROM items"):
                self._keys.setdefault(name_key(path), set()).add(path)
        if self._keys.get(name_key(rel), {rel}) - {rel}:
            return True
        folder, name = rel.rsplit("/", 1)
        return bool(self._folder_keys(folder).get(name_key(name), {name}) - {name})

    def _folder_keys(self, folder: str) -> dict[str, set[str]]:
        """name_key → the names of the folder's files (read once per writer)."""
        if folder not in self._names:
            try:
                names = os.listdir(self.root / folder)
            except (FileNotFoundError, NotADirectoryError):
                names = []
            self._names[folder] = keys = {}
            for name in names:
                keys.setdefault(name_key(name), set()).add(name)
        return self._names[folder]

    def _note_path(self, rel: str) -> None:
        """A path now taken, for `_spelt_otherwise`."""
        if self._keys is not None:
            self._keys.setdefault(name_key(rel), set()).add(rel)
        folder, name = rel.rsplit("/", 1)
        if folder in self._names:
            self._names[folder].setdefault(name_key(name), set()).add(name)

    def _inside_root(self, rel: str) -> Path:
        path = self.root / rel
        folder = path.parent
        if folder not in self._checked:  # symbolic links are looked for once per folder
            if not folder.resolve().is_relative_to(self.root):
                raise ItemError(f"{path}: leads outside the archive (symbolic link?)")
            if folder.exists():
                self._checked.add(folder)
        if path.is_symlink():
            raise ItemError(f"{path}: leads outside the archive (symbolic link?)")
        return path

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete what an interrupted write left; call with the archive's lock held.

        Only a writer that did not close leaves temporary files: the walk over the whole
        archive happens only after one (the `dirty` mark in the hidden folder says so)."""
        removed: list[Path] = []
        # The hidden folder's own temp files (journal, text state): a writer killed while
        # writing one may not have marked itself dirty yet. Small folders, swept every time.
        hidden = self.root / HIDDEN_DIR
        for path in [*hidden.glob(".*"), *(hidden / STATE_DIR).rglob(".*")]:
            if is_temp_file(path.name):
                path.unlink(missing_ok=True)
                removed.append(path)
        if not self._was_dirty:
            return removed
        for _, path in archive_files(self.root):
            if is_temp_file(path.name):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    @property
    def _dirty_mark(self) -> Path:
        return self.root / HIDDEN_DIR / "dirty"

    @property
    def _journal(self) -> Path:
        return self.root / HIDDEN_DIR / "batch.json"


def journal_bytes(staged: list[_Staged], root: Path) -> bytes:
    """What finishes a batch whose files were renamed but whose index was not committed."""
    return json.dumps(
        [
            {
                "tmp": entry.tmp.relative_to(root).as_posix(),
                "path": entry.record.path,
                "record": record_row(entry.record),
                "text": entry.text,
                "images": [list(astuple(image)) for image in entry.images],
                "earlier": list(entry.earlier) if entry.earlier else None,
            }
            for entry in staged
        ],
        ensure_ascii=False,
    ).encode("utf-8")


def _read(path: Path) -> bytes | None:
    """The file's bytes; None if there is none. Anything there that is not a plain file of
    bounded size (a folder, a pipe, a link) is an ItemError: never read, written or replaced."""
    try:
        return read_archive_file(path)
    except FileNotFoundError:
        return None
    except RefusedFile as exc:
        raise ItemError(f"{exc}, left alone") from None


def _claims(adopted: Record, post: Post, sources: tuple[str, ...]) -> bool:
    """Whether a file reindex adopted is this post's: same source, title and date."""
    return (
        adopted.source in sources
        and adopted.title == post.title
        and adopted.date == _iso(post.date)
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
