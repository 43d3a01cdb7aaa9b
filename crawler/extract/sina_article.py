"""A Sina article: the roll item's fields first, the page's where the roll item has none."""

from __future__ import annotations

from datetime import UTC, datetime

from ..items import Article
from .page import decode_page
from .sina_page import SinaPage, doc_id, sina_page
from .sina_roll import RollItem, roll_date


def read_page(body: bytes, url: str, content_type: str | None) -> SinaPage:
    """A fetched Sina page, as the family that claims it (or a video, slide or unknown page)."""
    return sina_page(decode_page(body, content_type), url)


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
        id=roll.id if roll else (doc_id(url) or url),
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


UNKNOWN_LAYOUT = "no layout family knows this page (has Sina changed its layout?)"


def no_article_reason(page: SinaPage) -> str:
    """Why a page gave no article: a video or slide page, or a layout no family knows."""
    if page.is_media:
        return f"a {'video' if page.family == 'video' else 'slide'} page, no article text"
    return UNKNOWN_LAYOUT
