"""Running the real program as a subprocess, the way cron does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from replay import ReplayServer

ROOT = Path(__file__).parent.parent
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False"]


def crawl(server: ReplayServer, archive: Path, *args: str, config: Path = ROOT / "feeds.yaml"):
    """`crawler crawl` through the replay server as proxy."""
    env = {**os.environ, **server.proxy_env(), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "-c",
            str(config),
            "--archive",
            str(archive),
            *FAST,
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
