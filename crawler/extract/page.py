"""The article body of any page: Sina's own extractor for Sina pages, else trafilatura."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .html import decode_html
from .sina_page import sina_page

_WRAPPER = re.compile(r"^\s*<html>\s*<body>(.*)</body>\s*</html>\s*$", re.S)


def is_sina(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "sina.com.cn" or host.endswith((".sina.com.cn", ".sina.cn"))


def page_body(body: bytes, url: str, content_type: str | None = None) -> str | None:
    """The main content of a page as HTML, or None when none can be found."""
    html = decode_html(body, content_type)
    if is_sina(url):
        return sina_page(html, url).body
    return generic_body(html, url)


def generic_body(html: str, url: str) -> str | None:
    """trafilatura's main-content HTML (text, links, images), without its wrapper."""
    import trafilatura  # heavy: loaded only when a page has to be read this way

    try:
        extracted = trafilatura.extract(
            html,
            url=url,
            output_format="html",
            include_images=True,
            include_links=True,
            include_formatting=True,
            include_comments=False,
        )
    except Exception:  # a page trafilatura cannot read: the caller keeps what it has
        return None
    if not extracted:
        return None
    m = _WRAPPER.match(extracted)
    return (m.group(1) if m else extracted).strip()
