"""Raw captures as WARC (a source's `capture: warc`): each article page's request and response
records, appended to `.crawler/warc/<source folder>/<YYYY-MM>.warc.gz` (one gzip member per
record, as pywb and ReplayWeb.page read them), with the fetch time as WARC-Date. Written with
warcio, the Webrecorder library.

An append is synced before the index records the file's new size (`warc_files`, the cache's);
a writer killed mid-append leaves a partial record at the end, which the next append cuts off
(the whole records after the recorded size are kept: read with warcio from there). The git
recipe leaves these files out (`.crawler/.gitignore`)."""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from ..items import Capture
from .atomic import fsync_dir, make_dirs
from .index import HIDDEN_DIR
from .paths import stem_for

WARC_DIR = "warc"
_DROPPED = {"transfer-encoding"}  # the body is kept de-chunked: the header would lie


def warc_path(root: Path, source: str, capture: Capture) -> Path:
    month = capture.fetched_at.strftime("%Y-%m")
    return root / HIDDEN_DIR / WARC_DIR / stem_for(source) / f"{month}.warc.gz"


def records(capture: Capture) -> bytes:
    """The exchange as two gzipped WARC records: the request, then the response."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    date = capture.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = capture.url.split("/", 3)
    target = "/" + (parts[3] if len(parts) > 3 else "")
    request = writer.create_warc_record(
        capture.url,
        "request",
        payload=io.BytesIO(b""),
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(
            f"{capture.method} {target} {capture.protocol}",
            list(capture.request_headers),
            is_http_request=True,
        ),
    )
    response = writer.create_warc_record(
        capture.url,
        "response",
        payload=io.BytesIO(capture.body),
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(
            str(capture.status),
            [(k, v) for k, v in capture.response_headers if k.lower() not in _DROPPED],
            protocol=capture.protocol,
        ),
    )
    writer.write_request_response_pair(request, response)
    return out.getvalue()


def append(root: Path, path: Path, data: bytes, committed: int | None) -> int:
    """Append `data` (whole WARC records) to `path`, synced; the file's size after. What lies
    past `committed` (the size the index last recorded; None: unknown) is kept only as far as
    it reads as whole records: a partial one, left by a writer killed mid-append, is cut off."""
    make_dirs(path.parent, inside=root)
    if not path.parent.resolve().is_relative_to(root):
        raise OSError(f"{path.parent}: leads outside the archive (symbolic link?)")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        size = os.fstat(fd).st_size
        if committed is None or size != committed:
            whole = _whole_end(path, committed or 0)
            if whole != size:
                os.ftruncate(fd, whole)
            size = whole
        os.lseek(fd, size, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if size == 0:
        fsync_dir(path.parent)  # a new file: its name outlives a power cut
    return size + len(data)


def _whole_end(path: Path, start: int) -> int:
    """Where the whole gzip members (one record each) from `start` end: a member cut short,
    even by its 8-byte trailer alone (which warcio reads past), ends the whole ones."""
    end = position = start
    member = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with path.open("rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            while chunk:
                try:
                    member.decompress(chunk, 1 << 16)
                except zlib.error:
                    return end  # not gzip from here on: cut there
                if member.unconsumed_tail:  # bounded output: feed the rest of the chunk
                    consumed = len(chunk) - len(member.unconsumed_tail)
                    position, chunk = position + consumed, member.unconsumed_tail
                    continue
                if member.eof:
                    rest = member.unused_data
                    position += len(chunk) - len(rest)
                    end, chunk = position, rest
                    member = zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    position, chunk = position + len(chunk), b""
    return end


def problems(root: Path) -> Iterator[tuple[Path, str]]:
    """Each WARC file that does not read through to its end with warcio, and why."""
    folder = root / HIDDEN_DIR / WARC_DIR
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.rglob("*.warc.gz")):
        if path.is_symlink() or not path.is_file():
            yield path, "not a plain file"
            continue
        size = path.stat().st_size
        if (whole := _whole_end(path, 0)) != size:
            yield path, f"a partial record at byte {whole} of {size}"
            continue
        try:
            with path.open("rb") as f:
                for record in ArchiveIterator(f, check_digests="raise"):
                    record.content_stream().read()
        except Exception as exc:
            yield path, f"not WARC records: {exc}"
