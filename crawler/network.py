"""Where a crawl may go: links found in content never lead to loopback or private hosts.

The archive is published: a feed entry that links (for `full_text`), an image, a Sina roll
item or a redirect that points at `http://127.0.0.1/admin` would otherwise have that page's
answer written into a public post. The URLs the user typed (feeds.yaml, `fetch` arguments)
are trusted; a source may opt in to private hosts with `allow_private: true`.

And what came back (`content_type`), or what went wrong on the way, in one line a user acts
on (`describe`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

TYPED = "typed_url"  # request meta: the user typed this URL (it and its own host are trusted)
ALLOW_PRIVATE = "allow_private"  # request meta: its source allows private hosts
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateAddress(IgnoreRequest):
    """A request from content to a loopback, private or link-local host: not made."""


def literal_private(host: str) -> str | None:
    """Why `host`, as written, is not a public host (None if it is a name, or public): every
    spelling a resolver takes (`localhost`, `127.1`, `2130706433`, `0x7f.1`, `[::1]`,
    `::ffff:127.0.0.1`)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "a loopback host"
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        try:  # the forms inet_aton (and so the system resolver) reads as an IPv4 address
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    return address_private(address)


def address_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_private(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if not address.is_global or address.is_multicast:
        return "a private address"
    return None


def _trusted(request: Request) -> bool:
    """Its source allows private hosts, or it is the URL the user typed (or a redirect of it
    to the same host)."""
    if request.meta.get(ALLOW_PRIVATE):
        return True
    typed = request.meta.get(TYPED)
    return bool(typed) and urlsplit(typed).netloc == urlsplit(request.url).netloc


class PrivateAddressGuard:
    """Downloader middleware: refuses requests from content to non-public hosts. Literal
    addresses always; names too when no proxy is used (resolved with the crawl's own caching
    resolver, whose answer the connection then uses)."""

    async def process_request(self, request: Request, spider=None) -> None:
        if _trusted(request):
            return None
        host = urlsplit(request.url).hostname or ""
        reason = literal_private(host)
        if reason is None and not request.meta.get("proxy"):
            from twisted.internet import reactor  # the crawl's, installed by then

            try:
                resolved = await maybe_deferred_to_future(reactor.resolve(host))
            except Exception:
                return None  # the download fails on its own, with the resolver's message
            reason = literal_private(resolved)
            reason = reason and f"{reason} ({resolved})"
        if reason:
            raise PrivateAddress(f"{host} is {reason}: not fetched (allow_private: true allows)")
        return None


_WRAPPED = re.compile(r"Failure [\w.]*?(\w+): ([^>\]]*)")

# What a download failure means to the user, by exception name (Scrapy's own or Twisted's).
_IN_WORDS = {
    "CannotResolveHostError": "cannot resolve the host {host} (offline, or no such host?)",
    "DNSLookupError": "cannot resolve the host {host} (offline, or no such host?)",
    "DownloadConnectionRefusedError": "{host} refused the connection",
    "ConnectionRefusedError": "{host} refused the connection",
    "DownloadTimeoutError": "{host} did not answer in time",
    "TimeoutError": "{host} did not answer in time",
    "TCPTimedOutError": "{host} did not answer in time",
    "ResponseNeverReceived": "{host} closed the connection without an answer",
    "ConnectionLost": "{host} closed the connection before the end of its answer",
    "ResponseDataLossError": "{host} closed the connection before the end of its answer",
    "TunnelError": "the proxy {proxy} could not open a tunnel to {host}",
    "PrivateAddress": "{message}",
}


def content_type(response) -> str:
    """A response's Content-Type header as text ("" when it has none)."""
    return response.headers.get("Content-Type", b"").decode("latin-1")


def describe(failure: Failure) -> str:
    """One line for what went wrong with a request, in words a user acts on: the host, what
    failed, and the proxy when the connection went through one."""
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    name, message = type(failure.value).__name__, failure.getErrorMessage()
    if wrapped := _WRAPPED.search(message):  # Twisted's failures inside a list
        name, message = wrapped.groups()
    message = " ".join(message.split())
    request = getattr(failure, "request", None)
    host = urlsplit(request.url).netloc if request is not None else "the host"
    proxy = (request.meta.get("proxy") or "") if request is not None else ""
    proxy_host = urlsplit(proxy).netloc or proxy
    if proxy and name in ("DownloadConnectionRefusedError", "ConnectionRefusedError"):
        return f"the proxy {proxy_host} refused the connection (http_proxy/https_proxy)"
    if name in _IN_WORDS:
        said = _IN_WORDS[name].format(host=host, proxy=proxy_host, message=message)
        return (
            f"{said} (through the proxy {proxy_host})" if proxy and name != "TunnelError" else said
        )
    return f"{name}: {message}".strip(": ")[:300]
