"""The items that travel from extraction to the store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

# A field of an item that stays in this process: it never travels through Redis (cluster.py),
# where nothing of it could be trusted.
LOCAL = {"local": True}


@dataclass(frozen=True)
class Shelf:
    """Where a source's items go and how they are written (from its feeds.yaml entry)."""

    category: str
    site: str
    name: str
    author: str = "site"  # "site" writes SITE as AUTHOR, "extracted" the article's own
    clean: bool = False  # strip known boilerplate before the body edits
    body_format: str = "html"  # "html": the page's own markup; "markdown": markdownify's
    images: bool = False  # keep a copy of every image in the archive's image store
    image_url: str = ""  # where Hexo serves the image store: bodies point there; "" = don't
    tags: bool = False  # `tags: keywords`: the item's keywords as the post's Hexo tags

    @property
    def rewrites_images(self) -> bool:
        return bool(self.image_url)

    @property
    def source(self) -> str:
        """The source's identity: its `name` in feeds.yaml."""
        return self.name


@dataclass(frozen=True)
class Article:
    """One archived item, as extraction found it (the body is the source's own HTML), filed on
    its source's shelf by the navigator that found it (`filed`): extraction knows no shelf."""

    id: str
    url: str
    title: str
    body: str
    shelf: Shelf | None = None
    date: datetime | None = None
    date_guessed: bool = False
    author: str = ""  # extracted author or media name
    keywords: tuple[str, ...] = ()
    image: str = ""  # fallback picture (enclosure, thumbnail) when the body has none
    fetched_at: datetime | None = None
    images: tuple[ImageOutcome, ...] = ()  # filled by the image pipeline (`images: keep`)
    # The body as the store made it ready (store.template.Prepared), by a pipeline that
    # needed it before the archive (the image keeper): the writer uses it, not a second pass.
    prepared: Any = field(default=None, compare=False, repr=False, metadata=LOCAL)

    @property
    def source(self) -> str:
        return self.shelf.source if self.shelf else ""

    def filed(self, shelf: Shelf) -> Article:
        """The article on `shelf`: where it goes and how it is written."""
        return replace(self, shelf=shelf)

    def __post_init__(self) -> None:
        # A date the archive cannot write (before 100 or after 9999 in UTC, no zone) is no
        # date: the fetch time stands in, noted as guessed (docs/FORMAT.md), whoever made it.
        if self.date is not None and not writable(self.date):
            object.__setattr__(self, "date", None)
            object.__setattr__(self, "date_guessed", True)
        if self.fetched_at is not None and not writable(self.fetched_at):
            object.__setattr__(self, "fetched_at", None)


# RFC 1123's readers take a year 0001–0099 for a two-digit one: JavaScript's Date (and so Hexo)
# and Python's email.utils read `0024` as 2024 and `0050` as 1950. Years 100–9999 read back.
FIRST_LASTING_YEAR = 100


def writable(moment: datetime) -> bool:
    """Whether the archive's date line of `moment` reads back as the same moment: it has a
    zone and lies within the years 100–9999 in UTC."""
    if moment.utcoffset() is None:
        return False
    try:
        return moment.astimezone(UTC).year >= FIRST_LASTING_YEAR
    except (OverflowError, ValueError):
        return False


@dataclass(frozen=True)
class ImageOutcome:
    """One image of an item: stored (its path in the image store and digest), or not (why)."""

    url: str
    path: str = ""
    sha256: str = ""
    error: str = ""


@dataclass(frozen=True)
class ImageRetry:
    """An archived item's images that could not be stored before: asked for again."""

    shelf: Shelf
    item_id: str
    page_url: str  # the article's URL (the Referer some image hosts want)
    urls: tuple[str, ...]
    images: tuple[ImageOutcome, ...] = ()  # filled by the image pipeline

    @property
    def source(self) -> str:
        return self.shelf.source


@dataclass(frozen=True)
class Pending:
    """Articles about to be requested: kept until archived, so that a crawl killed before
    they arrive requests them again next run (payload: what it takes to ask again)."""

    source: str
    entries: tuple[tuple[str, str, dict], ...]  # (item id, url, payload)


@dataclass(frozen=True)
class Settled:
    """Entries of an earlier Pending that need no retry any more (a roll page now read)."""

    source: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """An article page no layout family knows, as it was received: kept in the archive's
    hidden folder for whoever adds the next family."""

    source: str
    item_id: str
    url: str
    content_type: str
    page: bytes
    fetched_at: datetime


@dataclass(frozen=True)
class Checked:
    """An archived article asked for again (`crawler recheck`): when, the validators its page
    answered with, and what the answer said: taken down (`gone`: why), there (`present`: the
    article, or a 304), or nothing either way (a failed request)."""

    source: str
    item_id: str
    checked_at: datetime
    etag: str = ""
    last_modified: str = ""
    gone: str | None = None
    present: bool = False
    notice: bool = False  # a takedown adds the reader's notice to the post (takedown_notice)


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange of an article page as it went over the wire (a source's `capture:
    warc`): the request as sent, the response as received (its body before any decoding)."""

    source: str
    url: str
    fetched_at: datetime
    method: str
    request_headers: tuple[tuple[str, str], ...]
    protocol: str  # "HTTP/1.1"
    status: int
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
