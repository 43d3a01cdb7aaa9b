"""Whether an article page asked for again is gone: what a recheck reads off the answer.

Taken down is an HTTP 404 or 410; a redirect that lands on a site's home page or on an error
page (Sina's own error pages are `/404.html` on www, house and other channels, `/404/` on
auto); or a page that answers 200 with no article and says so in its title or a heading
(`页面不存在`, `页面没有找到`, `文章已删除`…). No capture of a deleted Sina article could be
found to save: the forms are built from Sina's error pages and what public scrapers check
(docs/SINA.md), and tested on pages made to them."""

from __future__ import annotations

import re

from .. import urls
from ..markup import Tag, text_content, tokenize

GONE_STATUSES = (404, 410)
_HOME_PATHS = {"", "/", "/index.shtml", "/index.html", "/index.d.html", "/index.htm"}
_ERROR_PATH = re.compile(r"/(?:404|error|notfound)(?:[./_-][^/]*)?/?$", re.I)
_GONE_WORDS = re.compile(
    r"页面(?:不存在|没有找到|未找到|找不到)|(?:文章|内容|稿件|新闻|页面)(?:已被?|被)(?:删除|撤下|下线)"
    r"|^\s*404\b|\b404 Not Found\b",
    re.I,
)
_HEADINGS = {"title", "h1", "h2"}


def gone_status(status: int) -> str | None:
    return f"HTTP {status}" if status in GONE_STATUSES else None


def gone_redirect(asked: str, landed: str) -> str | None:
    """A redirect from the article's URL to a home or error page: why it is gone."""
    if landed == asked:
        return None
    parts = urls.split(landed)
    if parts is None:
        return None
    if parts.path in _HOME_PATHS and not parts.query:
        return f"redirected to the home page {landed}"
    if _ERROR_PATH.search(parts.path):
        return f"redirected to the error page {landed}"
    return None


def gone_page(html: str) -> str | None:
    """A page with no article that says it is gone, in its title or a heading (one pass)."""
    html = html[:200_000]
    opened: Tag | None = None
    for tok in tokenize(html):
        if not isinstance(tok, Tag) or tok.name not in _HEADINGS:
            continue
        if not tok.closing:
            opened = tok
        elif opened is not None and opened.name == tok.name:
            words = text_content(html[opened.end : tok.start])
            if _GONE_WORDS.search(words):
                return f"the page says {words[:80]!r}"
            opened = None
    return None
