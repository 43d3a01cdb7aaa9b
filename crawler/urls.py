"""The one parse of a URL we did not type (a feed's, a page's, a roll item's, a body's): it
never raises. The standard library's `urlsplit` and `urljoin` raise ValueError on a bad IPv6
host (`http://[::1`), a host that NFKC normalization gives a delimiter (`a℀b`) and, through
`.port`, on a port out of range; an item holding one must fail alone, not its feed.

Every layer asks here: `split` (the parts, or None), `host`, `netloc`, `join` and `absolute`.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit


def split(url: str) -> SplitResult | None:
    """The parts of `url`, or None when its host or port cannot be what it says."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # out of range or not a number: raises
    except ValueError:
        return None
    return parts


def host(url: str) -> str:
    """The host name of `url` in lower case; "" when it has none or does not parse."""
    parts = split(url)
    return (parts.hostname or "") if parts else ""


def netloc(url: str) -> str:
    """The `host:port` part of `url` as written; "" when it has none or does not parse."""
    parts = split(url)
    return parts.netloc if parts else ""


def is_web(url: str) -> bool:
    """`url` is an absolute http(s) URL with a host, that parses."""
    parts = split(url)
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)


def join(base: str, url: str) -> str | None:
    """`url` read against `base`; None when either does not parse."""
    if split(base or "") is None or split(url) is None:
        return None
    try:
        joined = urljoin(base or "", url.strip())
    except ValueError:
        return None
    return joined if split(joined) is not None else None


def absolute(base: str, url: str) -> str | None:
    """`url` read against `base` when it is an http(s) URL with a host that parses, else None:
    what a feed item's link, image or enclosure may be."""
    joined = join(base, url)
    return joined if joined and is_web(joined) else None
