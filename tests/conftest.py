from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference import REFERENCE  # noqa: E402
from replay import ReplayServer  # noqa: E402


@pytest.fixture(scope="session")
def server():
    """The loopback replay server, one per test session."""
    server = ReplayServer().start()
    yield server
    server.shutdown()


@pytest.fixture
def replay(server: ReplayServer) -> ReplayServer:
    """The replay server with nothing recorded yet."""
    server.reset()
    return server


@pytest.fixture
def seed_body() -> str:
    text = (REFERENCE / "seed.md").read_text(encoding="utf-8")
    return text.split("\n<div>   \n", 1)[1].removesuffix("  \n</div>\n" + " " * 12)
