"""Raw captures as WARC (`capture: warc`): every article page fetched kept as request and
response records that warcio reads back with their digests, the response's bytes exactly as
served (before decompression), a crash mid-append cut off by the next append, and `archive
verify` checking them."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.config import ConfigError, load_config
from crawler.items import Capture
from crawler.store import ArchiveWriter
from crawler.store.verify import verify
from crawler.store.warc import warc_path

from feed_replay import feeds_yaml
from replay import ReplayServer, Reply
from runner import crawl
from sina_replay import SINA_NAME, md_files, serve_pages, synthetic_articles

BODY = gzip.compress("<html><body><p>正文</p></body></html>".encode())


def capture(n: int = 1, body: bytes = BODY) -> Capture:
    return Capture(
        source=SINA_NAME,
        url=f"https://finance.sina.com.cn/china/doc-i{n}.shtml",
        fetched_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        method="GET",
        request_headers=(("User-Agent", "crawler"), ("Accept-Encoding", "gzip")),
        protocol="HTTP/1.1",
        status=200,
        response_headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip")),
        body=body,
    )


def read_records(path: Path) -> list[tuple[str, str, str, bytes]]:
    with path.open("rb") as f:
        return [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                r.rec_headers.get_header("WARC-Date"),
                r.raw_stream.read(),
            )
            for r in ArchiveIterator(f, check_digests="raise")
        ]


def test_an_exchange_is_a_request_and_a_response_record_with_the_bytes_as_served(tmp_path):
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(1))
        writer.keep_capture(capture(2))
    path = warc_path(tmp_path.resolve(), SINA_NAME, capture())
    assert path.name == "2026-01.warc.gz" and path.parent.parent.name == "warc"
    records = read_records(path)
    assert [(kind, url[-8:]) for kind, url, _, _ in records] == [
        ("response", "i1.shtml"),
        ("request", "i1.shtml"),
        ("response", "i2.shtml"),
        ("request", "i2.shtml"),
    ]
    assert {date for _, _, date, _ in records} == {"2026-01-02T03:04:05Z"}
    assert records[0][3] == BODY  # gzip bytes, as served
    assert verify(tmp_path) == []
    assert "/warc/" in (tmp_path / ".crawler" / ".gitignore").read_text()


def test_a_partial_record_left_by_a_crash_is_reported_then_cut_by_the_next_append(tmp_path):
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(1))
    path = warc_path(tmp_path.resolve(), SINA_NAME, capture())
    whole = path.read_bytes()
    path.write_bytes(whole + whole[:-8][-200:])  # a member cut short (no gzip trailer)
    assert [p.message for p in verify(tmp_path)] == [
        f"a partial record at byte {len(whole)} of {len(whole) + 200}"
    ]
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(2))
    assert len(read_records(path)) == 4 and verify(tmp_path) == []


def test_whole_records_past_the_recorded_size_are_kept(tmp_path):
    """Killed between the append's sync and the index's commit: the record is whole, kept."""
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(1))
        writer.index.set_warc_size(
            warc_path(writer.root, SINA_NAME, capture()).relative_to(writer.root).as_posix(), 0
        )
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(2))
    path = warc_path(tmp_path.resolve(), SINA_NAME, capture())
    assert [url[-8:] for kind, url, _, _ in read_records(path) if kind == "response"] == [
        "i1.shtml",
        "i2.shtml",
    ]


def test_a_damaged_record_is_a_verify_problem(tmp_path):
    with ArchiveWriter(tmp_path) as writer:
        writer.keep_capture(capture(1, body=b"x" * 1000))
    path = warc_path(tmp_path.resolve(), SINA_NAME, capture())
    data = gzip.decompress(path.read_bytes()).replace(b"x" * 10, b"y" * 10, 1)
    path.write_bytes(gzip.compress(data))
    (problem,) = verify(tmp_path)
    assert problem.path.endswith("2026-01.warc.gz") and "not WARC records" in problem.message


def test_capture_takes_warc_or_off(tmp_path):
    base = {"name": "n", "site": "s", "category": "c", "type": "sina"}
    assert load_config(feeds_yaml(tmp_path, [{**base, "capture": "warc"}])).sources[0].capture
    config = feeds_yaml(tmp_path, [{**base, "capture": "all"}])
    with pytest.raises(ConfigError, match="key 'capture': must be 'warc' or 'off'"):
        load_config(config)


@pytest.mark.process
def test_a_crawl_keeps_each_article_page_as_served_and_nothing_else(
    replay: ReplayServer, tmp_path: Path
):
    articles = synthetic_articles(3)
    serve_pages(replay, articles)
    gzipped, moved = articles[0], articles[1]
    served = gzip.compress(gzipped.page)
    replay.add(
        gzipped.url,
        Reply(
            200,
            served,
            {"Content-Type": gzipped.content_type, "Content-Encoding": "gzip"},
        ),
    )
    landing = moved.url.replace("doc-i", "doc-moved-i")
    replay.add(moved.url, Reply(301, b"", {"Location": landing}))
    replay.add(landing, Reply(200, moved.page, {"Content-Type": moved.content_type}))
    source = {"name": SINA_NAME, "site": "新浪财经", "category": "金融", "type": "sina"}
    (tmp_path / "config").mkdir()
    config = feeds_yaml(tmp_path / "config", [{**source, "capture": "warc"}])
    root = tmp_path / "archive"
    result = crawl(replay, root, config=config)
    assert result.returncode == 0, result.stderr
    assert len(md_files(root)) == 3
    (path,) = (root / ".crawler" / "warc").rglob("*.warc.gz")
    records = read_records(path)
    responses = {url: body for kind, url, _, body in records if kind == "response"}
    assert set(responses) == {a.url for a in articles} | {landing}  # no roll page
    assert responses[gzipped.url] == served  # the bytes as served, not decompressed
    assert responses[moved.url] == b"" and responses[landing] == moved.page
    assert sum(kind == "request" for kind, *_ in records) == 4
    assert verify(root) == []
