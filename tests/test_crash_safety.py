"""SIGKILL at random moments: afterwards only complete files, no temp files, verify passes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import cli

pytestmark = pytest.mark.process

HELPER = Path(__file__).parent / "helpers" / "write_many.py"
COUNT = 1500


def writer(root: Path, batch: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, str(HELPER), str(root), str(COUNT), str(batch)]
    return subprocess.Popen(command, env=env)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".crawler" not in p.parts
    }


def text_state(root: Path) -> dict[str, list]:
    """The items' text state, fetch times left out (each run fetches at its own time)."""
    state = {}
    for path in sorted((root / ".crawler" / "state" / "items").rglob("*.jsonl")):
        header, *rows = (json.loads(line) for line in path.read_text("utf-8").splitlines())
        at = header["fields"].index("fetched")
        state[path.relative_to(root).as_posix()] = [header, *(r[:at] + r[at + 1 :] for r in rows)]
    assert state
    return state


@pytest.mark.parametrize("batch", [1, 16])  # one write at a time, and group commits
def test_killed_writes_leave_a_consistent_archive(tmp_path: Path, batch: int):
    clean = tmp_path / "clean"
    assert writer(clean, batch).wait(timeout=120) == 0
    crashed = tmp_path / "crashed"
    rng = random.Random(20261127)
    interrupted = 0
    for _ in range(4):
        proc = writer(crashed, batch)
        time.sleep(rng.uniform(0.4, 2.0))
        proc.send_signal(signal.SIGKILL)
        interrupted += proc.wait(timeout=30) == -signal.SIGKILL
        files = snapshot(crashed)
        for path, data in files.items():  # whatever is there is whole
            if path.endswith(".md"):
                assert data.endswith(b"</div>\n" + b" " * 12), path
    assert interrupted, "no kill landed before the writer finished: the test proved nothing"
    assert writer(crashed, batch).wait(timeout=120) == 0
    assert snapshot(crashed) == snapshot(clean)
    assert text_state(crashed) == text_state(clean)  # the kills lost no line of it
    assert not [p for p in crashed.rglob("*crawler-tmp")]
    result = CliRunner().invoke(cli, ["archive", "verify", "--archive", str(crashed)])
    assert result.exit_code == 0, result.output
