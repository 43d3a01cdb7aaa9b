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


GIT_ENV = {
    "GIT_AUTHOR_NAME": "crawler",
    "GIT_AUTHOR_EMAIL": "crawler@example.invalid",
    "GIT_COMMITTER_NAME": "crawler",
    "GIT_COMMITTER_EMAIL": "crawler@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    """`git ARGS…` in `repo` (file names as written, no user configuration): its output."""
    done = subprocess.run(
        ["git", "-c", "core.quotepath=false", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=True,
    )
    return done.stdout
