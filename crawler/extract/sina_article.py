"""A Sina article: the roll item's fields first, the page's where the roll item has none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..items import Article
from .page import decode_page
from .sina_media import sina_page
from .sina_page import SinaPage, doc_id, url_id
from .sina_roll import RollItem, roll_date


def read_page(body: bytes, url: str, content_type: str | None) -> SinaPage:
    """A fetched Sina page, as the family that claims it (or a video, slide or unknown page)."""
    return sina_page(decode_page(body, content_type), url)


@dataclass(frozen=True)
class ArticleRead:
    """What an article page came to: the doc id it says it is, its article (None: no body),
    and why it has none."""

    publish_id: str
    article: Article | None
    reason: str = ""


def read_article(body: bytes, url: str, media_type: str | None, roll: RollItem) -> ArticleRead:
    """A fetched article page of the roll item `roll`, read (in whichever process)."""
    page = read_page(body, url, media_type)
    article = sina_article(page, roll)
    return ArticleRead(page.publish_id, article, "" if article else no_article_reason(page))


def sina_article(
    page: SinaPage,
    roll: RollItem | None = None,
    fetched_at: datetime | None = None,
) -> Article | None:
    """The article of a page, or None when the page has no article body (not `recognized`)."""
    text = page.body
    if text is None:
        return None
    url = page.url
    date = (roll_date(roll.intime) if roll else None) or page.published
    article = Article(
        id=roll.id if roll else page_id(page),
        url=url,  # where the page was found: its links resolve against it
        title=(roll.title if roll else "") or page.title,
        body=text,
        date=date,
        date_guessed=date is None,
        author=(roll.media if roll else "") or page.media,
        keywords=(roll.keywords if roll else ()) or page.keywords,
        fetched_at=fetched_at or datetime.now(UTC),
    )
    return article


def page_id(page: SinaPage) -> str:
    """The item id of a page fetched by its URL alone: the id a roll lists it under (its
    URL's doc id, else the doc id the page says it is), else its URL's other id, else the
    URL (docs/SINA.md §0)."""
    return doc_id(page.url) or page.publish_id or url_id(page.url) or page.url


UNKNOWN_LAYOUT = "no layout family knows this page (has Sina changed its layout?)"


def no_article_reason(page: SinaPage) -> str:
    """Why a page gave no article: a layout no family knows (a slide or video page whose
    data is not where Sina puts it, too)."""
    if page.is_media:
        lacks = "a video_id" if page.family == "video" else "slide_data pictures"
        return f"a {page.family} page without {lacks} ({UNKNOWN_LAYOUT})"
    return UNKNOWN_LAYOUT
