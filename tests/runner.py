"""Running the real program as a subprocess, the way cron does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from replay import ReplayServer

ROOT = Path(__file__).parent.parent
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False"]


def run_cli(
    server: ReplayServer | None,
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m crawler ARGS…` (in `cwd`, with `env` added), through the replay server as
    proxy if given."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        **(server.proxy_env() if server else {}),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def crawl(server: ReplayServer, archive: Path, *args: str, config: Path = ROOT / "feeds.yaml"):
    """`crawler crawl` through the replay server as proxy."""
    return run_cli(server, "crawl", "-c", str(config), "--archive", str(archive), *FAST, *args)


def fetch(server: ReplayServer, archive: Path, *args: str, config: Path = ROOT / "feeds.yaml"):
    """`crawler fetch` through the replay server as proxy."""
    return run_cli(server, "fetch", "-c", str(config), "--archive", str(archive), *FAST, *args)
