"""The saved Sina pages as cases: one folder each in tests/cases/sina/, its name the key.

    page.html              the page as it was served (tests/cases/sina/PROVENANCE.md)
    case.json              written by hand: `url`, `charset` (as the server declared it),
                           `family` (the layout family that must claim the page), `fetched_at`
                           (the fetch time, the date of a page that has none), `source` (where
                           the page was found) and `observed` (what its selectors showed)
    expected.json          what extraction gives: title, date, media, keywords, path
    expected.md            the archive file it becomes (`body_format: html`)
    expected.markdown.md   the same with `body_format: markdown`

The expected files are the code's own output, reviewed: `python tests/regen.py` writes them
from the pages and shows the diff. tests/cases/reference-markdown/ holds the reference posts'
files in Markdown (their HTML files are the reference posts themselves), by archive path.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from crawler.config import parse_config
from crawler.extract.sina_article import read_page, sina_article
from crawler.extract.sina_page import BEIJING, SinaPage
from crawler.extract.sina_roll import parse_roll
from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter

CASES = Path(__file__).parent / "cases"
SINA_CASES = CASES / "sina"
REFERENCE_MARKDOWN = CASES / "reference-markdown"
FIELDS = ("title", "date", "media", "keywords", "path")
FILES = {"html": "expected.md", "markdown": "expected.markdown.md"}
SINA_SOURCE = {"name": "新浪财经－国內", "site": "新浪财经", "category": "金融", "type": "sina"}


@dataclass(frozen=True)
class SinaCase:
    key: str
    url: str
    family: str
    charset: str
    fetched_at: datetime

    @property
    def folder(self) -> Path:
        return SINA_CASES / self.key

    @property
    def content_type(self) -> str:
        return f"text/html; charset={self.charset}"

    @property
    def page(self) -> bytes:
        """The page's bytes as a server would send them (the cwced corpus's wrapper gone)."""
        raw = (self.folder / "page.html").read_bytes()
        if raw.startswith(b"<text id="):
            raw = raw.split(b"\n", 1)[1].rsplit(b"</text>", 1)[0]
        return raw

    def expected(self) -> dict:
        return json.loads((self.folder / "expected.json").read_text(encoding="utf-8"))

    def expected_file(self, body_format: str) -> bytes:
        return (self.folder / FILES[body_format]).read_bytes()

    @property
    def published_day(self) -> str:
        """The day (Beijing) the page was published: its date's, else its fetch day."""
        date = self.expected()["date"]
        moment = datetime.fromisoformat(date) if date else self.fetched_at
        return moment.astimezone(BEIJING).date().isoformat()


def load_case(folder: Path) -> SinaCase:
    meta = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    return SinaCase(
        folder.name,
        meta["url"],
        meta["family"],
        meta["charset"],
        datetime.fromisoformat(meta["fetched_at"]),
    )


@cache
def sina_cases() -> tuple[SinaCase, ...]:
    """Every case folder (a folder without its case.json fails here, loudly)."""
    return tuple(load_case(d) for d in sorted(SINA_CASES.iterdir()) if d.is_dir())


@cache
def sina_shelf(body_format: str = "html") -> Shelf:
    """The shelf a crawl of the Sina roll uses (feeds.yaml's keys, their defaults)."""
    (source,) = parse_config({"sources": [SINA_SOURCE]}, Path("feeds.yaml")).sources
    return replace(source.shelf, body_format=body_format)


@dataclass(frozen=True)
class Outcome:
    page: SinaPage
    fields: dict
    files: dict[str, bytes]  # body format → archive file


def archived(article: Article) -> tuple[dict, bytes]:
    """The article written by the archive writer in a fresh archive: its fields, its file."""
    with tempfile.TemporaryDirectory() as root:
        writer = ArchiveWriter(root)
        try:
            result = writer.write(article)
            record = writer.index.get(article.shelf.source, article.id)
        finally:
            writer.close()
        data = result.path.read_bytes()
    return record_fields(record), data


def record_fields(record) -> dict:
    """An archived item's FIELDS, as its index record holds them (no date when guessed)."""
    return {
        "title": record.title,
        "date": None if record.date_guessed else record.date,
        "media": record.author,
        "keywords": list(record.keywords),
        "path": record.path,
    }


@cache
def run_case(case: SinaCase) -> Outcome:
    """What the crawl's code makes of the case's page, in this process."""
    page = read_page(case.page, case.url, case.content_type)
    fields, files = {}, {}
    for body_format in FILES:
        article = sina_article(page, None, case.fetched_at)
        if article is None:
            return Outcome(page, {}, {})
        fields, files[body_format] = archived(article.filed(sina_shelf(body_format)))
    return Outcome(page, fields, files)


def without_guessed_date(data: bytes, record) -> bytes:
    """An archive file with its date line blanked when the date is the fetch time's (a crawl's
    is now, a case's its `fetched_at`)."""
    return re.sub(rb"\ndate: [^\n]*\n", b"\ndate: \n", data) if record.date_guessed else data


def reference_markdown(article) -> tuple[str, bytes]:
    """A reference post's archive path and its file with `body_format: markdown`, made from
    its recorded page and roll item as a crawl makes it (tests/sina_replay.py)."""
    from sina_replay import roll_body

    (roll,) = parse_roll(roll_body([article.roll]))
    page = read_page(article.page, article.url, article.content_type)
    fetched = datetime(2026, 1, 1, tzinfo=UTC)  # unused: the roll item dates the post
    made = sina_article(page, roll, fetched)
    fields, data = archived(made.filed(sina_shelf("markdown")))
    return fields["path"], data
