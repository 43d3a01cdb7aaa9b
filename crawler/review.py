"""Reviewing the archive for people and scripts: formats over the store's catalog."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import yaml

from .store.atomic import read_archive_file, unreadable
from .store.catalog import Listing, Stats
from .store.export import readable
from .store.index import Record
from .store.index_checks import Takedown
from .store.index_versions import Version
from .store.samples import SAMPLES_DIR
from .store.template import ArchiveFile, parse
from .store.versions import file_text, text_diff, version_text


def listing_line(item: Listing, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "date": item.date,
                "source": item.source,
                "title": item.title,
                "path": item.path,
                "url": item.url,
                "id": item.id,
            },
            ensure_ascii=False,
        )
    return f"{item.date[:16].replace('T', ' ')}  {item.source}  {item.title}  {item.path}"


def show(
    record: Record, root: Path, versions: list[Version], takedown: Takedown | None = None
) -> str:
    try:
        parsed, missing = parse(read_archive_file(root / record.path).decode("utf-8")), ""
    except (OSError, UnicodeDecodeError) as exc:  # gone, planted (a link, a FIFO), not UTF-8
        parsed = None
        missing = unreadable(exc) if isinstance(exc, OSError) else "not UTF-8"
    lines = [
        f"path:       {record.path}",
        f"url:        {record.url}",
        f"source:     {record.source}",
        f"id:         {record.item_id}",
    ]
    front = _front(parsed) if parsed is not None else None
    if front is not None:
        lines[:0] = [
            f"title:      {front.get('title')}",
            f"date:       {front.get('date')}",
            f"categories: {' / '.join(map(str, front.get('categories') or []))}",
            f"author:     {front.get('author')}",
            f"image:      {front.get('headimg')}",
        ]
    lines += [
        f"media:      {record.author or '-'}",
        f"keywords:   {', '.join(record.keywords) or '-'}",
        f"fetched:    {record.fetched_at or '-'}"
        + ("  (date guessed)" if record.date_guessed else ""),
        f"sha256:     {record.sha256}",
    ]
    if versions:
        lines.append(
            f"edited:     {_count(len(versions), 'earlier version')}, the last fetched "
            f"{versions[-1].fetched_at} (archive history {record.item_id})"
        )
    if takedown is not None:
        lines.append(f"taken down: seen {takedown.seen_at} ({takedown.reason}); the post is kept")
    lines += ["", _body_text(parsed, missing)]
    return "\n".join(lines)


def history(record: Record, root: Path, versions: list[Version], *, diff: bool) -> str:
    """An item's versions, oldest first, the current one last; with `diff`, the changes of
    the text from each to the next (title and body, as `show` prints them)."""
    current = Version(record.fetched_at, record.sha256, record.title)
    entries = [*versions, current]
    lines = [f"{record.path} ({record.source}, id {record.item_id})"]
    for number, version in enumerate(entries, start=1):
        which = "current" if version is current else f"version {number}"
        lines.append(
            f"  {version.fetched_at or '-'}  {version.sha256[:12]}  {which}  {version.title}"
        )
    if diff:
        texts = [version_text(root, record.path, v.sha256) for v in versions]
        texts.append(file_text(root / record.path))
        for (old, old_text), (new, new_text) in pairwise(zip(entries, texts, strict=True)):
            names = (f"{v.fetched_at or '-'} {v.sha256[:12]}" for v in (old, new))
            if old_text is None or new_text is None:
                gone = old if old_text is None else new
                lines.append(f"(the text of {gone.sha256[:12]} is not kept here)")
                continue
            lines.append(text_diff(_as_read(old_text), _as_read(new_text), *names).rstrip("\n"))
    return "\n".join(lines)


def _as_read(text: str) -> str:
    """A post's title and body as a reader reads them (what `history --diff` compares)."""
    parsed = parse(text)
    if parsed is None:
        return text
    front = _front(parsed) or {}
    return f"# {front.get('title', '')}\n\n{readable(parsed)}\n"


def _body_text(parsed: ArchiveFile | None, missing: str) -> str:
    if missing:
        return f"(the file cannot be read: {missing})"
    return readable(parsed) if parsed else "(the file is not in the archive format)"


def _front(parsed: ArchiveFile) -> dict | None:
    """The front matter as a mapping; None when it is not one (a file damaged or planted)."""
    try:
        front = yaml.safe_load(parsed.front)
    except yaml.YAMLError:
        return None
    return front if isinstance(front, dict) else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def size_text(size: int) -> str:
    """Bytes as a reader wants them: `812 B`, `45.3 KiB`, `12.8 MiB`, `1.2 GiB`."""
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def stats_lines(stats: Stats, *, days: int = 14) -> list[str]:
    lines = ["items per source:"]
    for source, count in sorted(stats.per_source.items()):
        lines.append(
            f"  {source}: {_count(count, 'item')}, {size_text(stats.bytes_per_source[source])}"
        )
    total = sum(stats.bytes_per_source.values())
    lines.append(f"  total: {_count(sum(stats.per_source.values()), 'item')}, {size_text(total)}")
    lines.append(f"items per day (last {days} days with items):")
    for day, count in sorted(stats.per_day.items())[-days:]:
        lines.append(f"  {day}: {count}")
    lines.append("last crawl per source:")
    for source, (finished, new, updated, unchanged, failed, error, unknown) in sorted(
        stats.last_crawls.items()
    ):
        result = f"FAILED: {error}" if error else "ok"
        unrecognized = f", {unknown} unrecognized" if unknown else ""
        lines.append(
            f"  {source}: {finished} — {new} new, {updated} updated, "
            f"{unchanged} unchanged, {failed} failed{unrecognized} — {result}"
        )
    lines.append(
        f"items edited at the source (earlier versions kept): {sum(stats.edited.values())}"
    )
    for source, count in sorted(stats.edited.items()):
        lines.append(f"  {source}: {_count(count, 'item')}")
    lines.append(f"items taken down by the source (posts kept): {sum(stats.taken_down.values())}")
    for source, count in sorted(stats.taken_down.items()):
        lines.append(f"  {source}: {_count(count, 'item')}")
    lines.append(f"items waiting for a retry: {len(stats.retries)}")
    for source, _item_id, url, attempts, error in stats.retries:
        lines.append(f"  {source}: {url} ({_count(attempts, 'failed run')}, last: {error})")
    lines.append(f"pages of an unknown layout kept as samples: {sum(stats.samples.values())}")
    for folder, count in stats.samples.items():
        lines.append(f"  {folder}: {_count(count, 'page')} in .crawler/{SAMPLES_DIR}/{folder}/")
    files, size = stats.images
    lines.append(f"image store: {_count(files, 'file')}, {size_text(size)}")
    lines.append(f"images not stored yet: {len(stats.image_failures)}")
    for url, attempts, error in stats.image_failures:
        lines.append(f"  {url} ({_count(attempts, 'failed run')}, last: {error})")
    return lines
