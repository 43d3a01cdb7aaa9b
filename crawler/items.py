"""The items that travel from extraction to the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Shelf:
    """Where a source's items go and how they are written (from its feeds.yaml entry)."""

    category: str
    site: str
    name: str
    author: str = "site"  # "site" writes SITE as AUTHOR, "extracted" the article's own
    clean: bool = False  # strip known boilerplate before the body edits

    @property
    def source(self) -> str:
        """The source's identity: its `name` in feeds.yaml."""
        return self.name


@dataclass(frozen=True)
class Article:
    """One archived item, as extraction found it (the body is the source's own HTML)."""

    id: str
    url: str
    title: str
    body: str
    shelf: Shelf
    date: datetime | None = None
    date_guessed: bool = False
    author: str = ""  # extracted author or media name
    keywords: tuple[str, ...] = ()
    image: str = ""  # fallback picture (enclosure, thumbnail) when the body has none
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class Pending:
    """Articles about to be requested: kept until archived, so that a crawl killed before
    they arrive requests them again next run (payload: what it takes to ask again)."""

    source: str
    entries: tuple[tuple[str, str, dict], ...]  # (item id, url, payload)
