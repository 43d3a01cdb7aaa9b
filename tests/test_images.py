"""`images: keep` over the loopback replay server: every image of an archived body stored by
content, no foreign Referer, nothing downloaded twice, the .md files untouched by default."""

from __future__ import annotations

import hashlib
import re

import pytest

from crawler.store import ProvenanceIndex
from crawler.store.body import markup_edits
from crawler.store.template import parse
from crawler.store.verify import verify

from feed_replay import feed_source, feeds_yaml, rss, rss_item
from replay import IMAGE_URL, ReplayServer, Reply, image_bytes, serve_images
from runner import crawl, run_cli
from sina_replay import md_files, real_articles, reference_articles, serve_sina, sina_config

pytestmark = pytest.mark.process

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def body_images(data: bytes) -> list[str]:
    return markup_edits(parse(data.decode("utf-8")).body, None)[1]


def image_requests(replay: ReplayServer) -> list[str]:
    return [url for url in replay.requests if IMAGE_URL.search(url)]


def test_sina_images_kept_by_content_without_foreign_referer(replay: ReplayServer, tmp_path):
    articles = reference_articles() + real_articles()
    serve_sina(replay, articles)
    serve_images(replay)
    plain = crawl(replay, tmp_path / "plain", config=sina_config(tmp_path / "p"))
    assert plain.returncode == 0, plain.stderr
    assert image_requests(replay) == []  # images off: not one picture fetched

    config = sina_config(tmp_path / "k", images="keep")
    kept = crawl(replay, tmp_path / "kept", config=config)
    assert kept.returncode == 0, kept.stderr
    assert "Traceback" not in kept.stderr
    archived = md_files(tmp_path / "kept")
    index = ProvenanceIndex.open(tmp_path / "kept")
    try:
        stored = index.stored_images()
        guessed = {r.path for r in index.records() if r.date_guessed}  # dated by fetch time
    finally:
        index.close()
    assert guessed  # one real page has no date: its DATE is the fetch time, masked below
    assert _masked(archived, guessed) == _masked(md_files(tmp_path / "plain"), guessed)
    shown = {url for data in archived.values() for url in body_images(data)}
    assert len(shown) > 20
    for url in shown:  # every image of every body, stored by its content
        path = tmp_path / "kept" / stored[url]
        data = path.read_bytes()
        assert data == image_bytes(url)
        assert path.name == hashlib.sha256(data).hexdigest() + ".png"
        assert stored[url] == f"images/{path.name[:2]}/{path.name}"

    pages = {a.url for a in articles}
    for url in image_requests(replay):
        for referer in replay.referers[url]:  # none, or the article's own URL on its own host
            assert referer is None or (referer in pages and _host(referer) == _host(url)), url
    assert verify(tmp_path / "kept") == []

    replay.requests.clear()
    again = crawl(replay, tmp_path / "kept", config=config)
    assert again.returncode == 0, again.stderr
    assert image_requests(replay) == []  # a re-crawl downloads nothing


def _masked(files: dict[str, bytes], guessed: set[str]) -> dict[str, bytes]:
    return {
        path: re.sub(rb"\ndate: [^\n]*", b"\ndate: -", data) if path in guessed else data
        for path, data in files.items()
    }


def _host(url: str) -> str:
    return url.split("/")[2]


def _one_item_feed(replay: ReplayServer, body: str) -> None:
    item = rss_item(
        "有图", "1", body, date="Mon, 27 Sep 2021 23:54:59 GMT", link="https://feeds.test/post/1"
    )
    xml = rss("t", [item])
    replay.add("https://feeds.test/a.xml", Reply(200, xml, RSS))


def test_failed_image_never_blocks_its_item_and_is_retried(replay: ReplayServer, tmp_path):
    _one_item_feed(replay, '<p>图：<img src="https://img.test/a.jpg"><img src="/static/b.png"></p>')
    serve_images(replay)
    replay.add("https://img.test/a.jpg", Reply(404, b"gone"), Reply(200, image_bytes("a")))
    archive = tmp_path / "archive"
    source = feed_source("甲", "https://feeds.test/a.xml", images="keep", rewrite_images=True)
    config = feeds_yaml(tmp_path, [source])

    first = crawl(replay, archive, config=config)
    assert first.returncode == 0, first.stderr
    assert "image https://img.test/a.jpg: HTTP 404 (will retry next run)" in first.stderr
    assert "Traceback" not in first.stderr
    (path,) = archive.rglob("*.md")
    text = path.read_text(encoding="utf-8")
    b_copy = "/_posts/images/" + _stored_name(image_bytes("https://feeds.test/static/b.png"))
    assert "headimg: 'https://img.test/a.jpg'" in text  # not stored yet: the original
    assert f'<img src="{b_copy}" referrerpolicy="no-referrer">' in text
    assert replay.referers["https://img.test/a.jpg"] == [None]  # foreign host: no Referer
    assert replay.referers["https://feeds.test/static/b.png"] == ["https://feeds.test/post/1"]
    stats = run_cli(None, "archive", "stats", "--archive", str(archive))
    assert "image store: 1 file, " in stats.stdout
    assert "https://img.test/a.jpg (1 failed run, last: HTTP 404)" in stats.stdout

    replay.requests.clear()
    second = crawl(replay, archive, config=config)
    assert second.returncode == 0, second.stderr
    assert image_requests(replay) == ["https://img.test/a.jpg"]  # only the one that failed
    text = path.read_text(encoding="utf-8")
    a_copy = "/_posts/images/" + _stored_name(image_bytes("a"))
    assert f"headimg: '{a_copy}'" in text and f"thumbnail: '{a_copy}'" in text
    assert f'<img src="{a_copy}" referrerpolicy="no-referrer"><img src="{b_copy}"' in text
    assert verify(archive) == []

    replay.requests.clear()
    assert crawl(replay, archive, config=config).returncode == 0
    assert image_requests(replay) == []


def _stored_name(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{sha[:2]}/{sha}.png"


def test_oversized_and_non_image_answers_are_not_kept(replay: ReplayServer, tmp_path):
    _one_item_feed(
        replay, '<img src="https://img.test/big.jpg"><img src="https://img.test/page.jpg">'
    )
    replay.add("https://img.test/big.jpg", Reply(200, b"\xff\xd8\xff" + b"x" * 5000))
    replay.add(
        "https://img.test/page.jpg",
        Reply(200, b"<html>login</html>", {"Content-Type": "text/html"}),
    )
    archive = tmp_path / "archive"
    config = feeds_yaml(tmp_path, [feed_source("甲", "https://feeds.test/a.xml", images="keep")])
    result = crawl(replay, archive, "-s", "ARCHIVE_IMAGES_MAXSIZE=1000", config=config)
    assert result.returncode == 0, result.stderr
    assert "甲: 1 new" in result.stdout
    assert "image https://img.test/page.jpg: not an image (text/html)" in result.stderr
    assert "image https://img.test/big.jpg: " in result.stderr
    assert not (archive / "images").exists()
    index = ProvenanceIndex.open(archive)
    try:
        assert {url for url, _, _ in index.failed_images()} == {
            "https://img.test/big.jpg",
            "https://img.test/page.jpg",
        }
    finally:
        index.close()


def test_verify_finds_missing_damaged_and_orphaned_images(replay: ReplayServer, tmp_path):
    _one_item_feed(replay, '<img src="https://img.test/1.png"><img src="https://img.test/2.png">')
    serve_images(replay)
    archive = tmp_path / "archive"
    config = feeds_yaml(tmp_path, [feed_source("甲", "https://feeds.test/a.xml", images="keep")])
    assert crawl(replay, archive, config=config).returncode == 0
    one, two = (
        archive / "images" / _stored_name(image_bytes(f"https://img.test/{i}.png")) for i in (1, 2)
    )
    one.write_bytes(b"\x89PNG damaged")
    two.unlink()
    orphan = archive / "images" / _stored_name(b"orphan")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    planted = archive / "images" / "ab" / ("ab" * 32 + ".svg")
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>")
    problems = sorted(str(p) for p in verify(archive))
    rel = lambda p: p.relative_to(archive).as_posix()  # noqa: E731
    not_raster = "not a raster image by its bytes (an SVG or HTML file can run script)"
    assert problems == sorted(
        [
            f"{rel(one)}: image damaged: its sha256 differs from its name",
            f"{rel(one)}: unsafe image: {not_raster}",
            f"{rel(two)}: image of https://img.test/2.png is missing",
            f"{rel(orphan)}: image not in the provenance index (orphaned)",
            f"{rel(orphan)}: unsafe image: {not_raster}",
            f"{rel(planted)}: image damaged: its sha256 differs from its name",
            f"{rel(planted)}: image not in the provenance index (orphaned)",
            f"{rel(planted)}: unsafe image: {not_raster}",
        ]
    )
    result = run_cli(None, "archive", "verify", "--archive", str(archive))
    assert result.returncode == 1


def test_an_index_from_before_images_still_verifies_and_reports(tmp_path):
    archive = tmp_path / "archive"
    index = ProvenanceIndex.open(archive)
    index.db.execute("DROP TABLE item_images")
    index.db.execute("DROP TABLE images")
    index.close()
    assert run_cli(None, "archive", "verify", "--archive", str(archive)).returncode == 0
    stats = run_cli(None, "archive", "stats", "--archive", str(archive))
    assert stats.returncode == 0, stats.stderr
    assert "image store: 0 files, 0 B" in stats.stdout


def test_a_markdown_body_is_relinked_when_its_image_is_stored_later(replay: ReplayServer, tmp_path):
    _one_item_feed(replay, '<p>图：<img src="https://img.test/a.jpg" alt="甲"></p>')
    replay.add("https://img.test/a.jpg", Reply(503), Reply(200, image_bytes("a")))
    archive = tmp_path / "archive"
    source = feed_source(
        "甲",
        "https://feeds.test/a.xml",
        images="keep",
        rewrite_images=True,
        body_format="markdown",
    )
    config = feeds_yaml(tmp_path, [source])
    first = crawl(replay, archive, "-s", "RETRY_TIMES=0", config=config)
    assert first.returncode == 0, first.stderr
    (path,) = archive.rglob("*.md")
    assert "图：![甲](https://img.test/a.jpg)" in path.read_text(encoding="utf-8")
    second = crawl(replay, archive, config=config)
    assert second.returncode == 0, second.stderr
    copy = "/_posts/images/" + _stored_name(image_bytes("a"))
    text = path.read_text(encoding="utf-8")
    assert f"图：![甲]({copy})" in text and f"headimg: '{copy}'" in text
    assert verify(archive) == []
