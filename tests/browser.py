"""The published blog in a real browser: Debian's headless `chromium` with a throwaway
profile, every request it makes sent to a proxy of the test's (loopback is never proxied, so
a site served here is reached directly), and a quiet static server for the generated site."""

from __future__ import annotations

import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium(
    url: str, *args: str, proxy: str, profile: Path, budget_ms: int = 3000
) -> subprocess.CompletedProcess[str]:
    """Chromium loads `url` (scripts on, `budget_ms` of virtual time) and does what `args`
    say (`--dump-dom`, `--screenshot=…`)."""
    return subprocess.run(
        [
            *CHROMIUM,
            f"--user-data-dir={profile}",
            f"--proxy-server={proxy}",
            f"--virtual-time-budget={budget_ms}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def serve_folder(folder: Path) -> ThreadingHTTPServer:
    """A static server of `folder` on loopback, running until shut down."""
    site = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(folder)))
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site
