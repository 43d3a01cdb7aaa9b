"""Raw captures (a source's `capture: warc`): each article page's request and response as they
went over the wire, before Scrapy decodes the body, for the archive to keep as WARC records
(store/warc.py). A downloader middleware next to the downloader takes them; the spider hands
them on as `Capture` items."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy import Request
from scrapy.http import Response

from .items import Capture

CAPTURE = "crawler_capture"  # request meta: keep this exchange (the source captures)
CAPTURED = "crawler_captured"  # request meta: the exchanges kept so far (redirects included)


class RawCapture:
    """Closest to the downloader (settings.DOWNLOADER_MIDDLEWARES): the response as received,
    before decompression and redirects. A redirect's next request shares the list, so every
    hop is kept."""

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if request.meta.get(CAPTURE):
            request.meta.setdefault(CAPTURED, []).append(_exchange(request, response))
        return response


def _exchange(request: Request, response: Response) -> dict:
    return {
        "url": response.url,
        "fetched_at": datetime.now(UTC),
        "method": request.method,
        "request_headers": _headers(request.headers),
        "protocol": getattr(response, "protocol", None) or "HTTP/1.1",
        "status": response.status,
        "response_headers": _headers(response.headers),
        "body": response.body,
    }


def _headers(headers) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    )


def captures(source: str, meta: dict) -> list[Capture]:
    """The exchanges a request's meta holds, as items of `source` (taken once)."""
    return [Capture(source=source, **exchange) for exchange in meta.pop(CAPTURED, [])]
