"""A loopback replay server: recorded responses keyed by URL, reached as an HTTP(S) proxy.

The crawler runs with `http_proxy`/`https_proxy` pointing here, so real URLs are used
unchanged; HTTPS arrives through CONNECT and is answered with a throwaway certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A transport fault instead of a clean answer: drop (close mid-body), reset (RST),
    # badlen (Content-Length too long), clshort (too short), slow (headers late), hang (no
    # body), trickle (a byte at a time), garbage (not HTTP).
    fault: str | None = None


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, deque[Reply]] = {}
        self.resolver = None  # url -> Reply | None, for mirrors too big to record up front
        self.latency = 0.0  # seconds before each answer (a crawl slow enough to kill midway)
        self.requests: list[str] = []
        self.referers: dict[str, list[str | None]] = {}  # url → the Referer of each request
        self.lock = threading.Lock()
        self._tls: dict[str, ssl.SSLContext] = {}

    def tls_for(self, host: str) -> ssl.SSLContext:
        """A throwaway certificate naming `host` (no certificate warnings in the crawl log)."""
        with self.lock:
            if host not in self._tls:
                self._tls[host] = _tls_context(host)
            return self._tls[host]

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up on a fault is expected: no traceback in the test output."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, url: str, *replies: Reply) -> None:
        """Serve `replies` for `url` in turn; the last one is served from then on."""
        with self.lock:
            self.routes[url] = deque(replies)

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()
            self.requests.clear()
            self.referers.clear()
            self.resolver = None
            self.latency = 0.0

    def reply_for(self, url: str, referer: str | None = None) -> Reply:
        with self.lock:
            self.requests.append(url)
            self.referers.setdefault(url, []).append(referer)
            replies = self.routes.get(url)
        if not replies:
            reply = self.resolver(url) if self.resolver else None
            return reply or Reply(404, b"not recorded", {"Content-Type": "text/plain"})
        with self.lock:
            return replies.popleft() if len(replies) > 1 else replies[0]

    def start(self) -> ReplayServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def proxy_env(self) -> dict[str, str]:
        return {"http_proxy": self.url, "https_proxy": self.url, "no_proxy": ""}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    origin: str | None = None  # set for requests inside a CONNECT tunnel

    def log_message(self, format, *args) -> None:  # keep test output clean
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        self.send_response(200, "Connection Established")
        self.end_headers()
        try:
            tls = self.server.tls_for(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        origin = f"https://{host}" if port == "443" else f"https://{host}:{port}"
        tunnel = type("Tunnel", (_Handler,), {"origin": origin})
        tunnel(tls, self.client_address, self.server)
        self.close_connection = True

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        if self.path.startswith(("http://", "https://")):
            url = self.path
        elif self.origin:
            url = self.origin + self.path
        else:
            url = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
        reply = self.server.reply_for(url, self.headers.get("Referer"))
        if self.server.latency:
            time.sleep(self.server.latency)
        if reply.fault:
            self._fault(reply, head)
            return
        if reply.status == 200 and _not_modified(reply, self.headers):
            reply = Reply(304, b"", {k: v for k, v in reply.headers.items() if k == "ETag"})
        self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    def _fault(self, reply: Reply, head: bool) -> None:
        self.close_connection = True
        body, fault = reply.body or b"x" * 4096, reply.fault
        if fault == "garbage":
            self.wfile.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n" + body[:64])
            return
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if fault == "slow":
            time.sleep(FAULT_SECONDS)
        length = {"badlen": len(body) * 2, "clshort": 3}.get(fault, len(body))
        self.send_response(reply.status)
        for name, value in {**reply.headers, "Content-Length": str(length)}.items():
            self.send_header(name, value)
        self.end_headers()
        if fault == "hang":
            time.sleep(FAULT_SECONDS)
        elif fault == "trickle":
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(0.5)
                if i > 2 * FAULT_SECONDS:
                    break
        elif fault == "drop":
            self.wfile.write(body[: len(body) // 2])
        else:  # badlen, clshort, slow: the body as it is
            self.wfile.write(body)


FAULT_SECONDS = 8  # longer than the DOWNLOAD_TIMEOUT the fault tests set


def _not_modified(reply: Reply, request_headers) -> bool:
    """HTTP conditional GET, for replies recorded with an ETag or a Last-Modified."""
    etag, modified = reply.headers.get("ETag"), reply.headers.get("Last-Modified")
    if etag and request_headers.get("If-None-Match") == etag:
        return True
    return bool(modified and request_headers.get("If-Modified-Since") == modified)


def _tls_context(host: str) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="replay-tls-"))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


IMAGE_URL = re.compile(r"\.(?:jpe?g|png|gif|webp)(?:\?|$)", re.I)


def image_bytes(url: str) -> bytes:
    """A distinct PNG-headed picture per URL."""
    return b"\x89PNG\r\n\x1a\n" + hashlib.sha256(url.encode()).digest() * 8


def serve_images(replay: ReplayServer) -> None:
    """Answer every image URL not recorded otherwise with its own picture."""

    def resolve(url: str) -> Reply | None:
        if IMAGE_URL.search(url):
            return Reply(200, image_bytes(url), {"Content-Type": "image/png"})
        return None

    replay.resolver = resolve
