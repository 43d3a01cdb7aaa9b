from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference import REFERENCE  # noqa: E402
from replay import ReplayServer  # noqa: E402

HEXO = Path(__file__).parent / "hexo"


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


@pytest.fixture(scope="session")
def hexo_site(tmp_path_factory) -> Path:
    """A Hexo 7 site (tests/hexo), its packages installed from the npm registry once per
    session. Outside CI a machine without npm skips the tests that need it."""
    if not shutil.which("npm") or not shutil.which("node"):
        if os.environ.get("CI"):
            pytest.fail("npm and node are needed for the Hexo test in CI")
        pytest.skip("npm/node not installed")
    site = tmp_path_factory.mktemp("hexo-site")
    for name in ("package.json", "_config.yml", "load.js"):  # load.js resolves `hexo` here
        shutil.copy(HEXO / name, site / name)
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return site
