"""Sina's 7×24 live feed: its pages, newest first, each new flash archived from the list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

import scrapy

from ..extract.sina_live import LIVE_PAGE, Flash, flash_article, live_url, parse_live
from .base import log
from .sina import ROLL_PAGE, Listed, SinaRoll


class SinaLive(SinaRoll):
    """A roll whose items are whole in its list: the walk (pages up to `pages`, ending at one
    all archived, resumed after a crawl killed mid-walk) is the roll's; a flash needs no
    request of its own."""

    def start(self) -> Iterable[scrapy.Request]:
        yield self.roll_request(1)  # what an earlier run left is on the pages it walks again

    def list_page(self, page: int) -> tuple[str, str]:
        return live_url(self.run.source.zhibo_id, page), LIVE_PAGE

    def listed(self, body: bytes) -> list[Listed]:
        fetched = datetime.now(UTC)
        return [
            (flash.id, partial(self.flash_output, flash, fetched), flash.updated)
            for flash in parse_live(body)
        ]

    def flash_output(self, flash: Flash, fetched: datetime):
        return flash_article(flash, fetched).filed(self.run.source.shelf)

    def resuming(self) -> bool:
        """Only a roll page left owed: a flash the archive refused is not asked for alone
        (it is had again only while the feed's pages list it)."""
        return any(ROLL_PAGE in payload for payload in self.run.retry_payloads)

    def walked_all(self, pages: int) -> None:
        if not self.run.archived:
            return  # a first crawl: what came before it is no gap
        log.warning(
            "%s: all %d pages read held new flashes: older ones may have left the feed "
            "unarchived (crawl more often, or raise 'pages')",
            self.run.name,
            pages,
        )
