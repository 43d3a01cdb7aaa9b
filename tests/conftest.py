from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lanes import pytest_collection_modifyitems, pytest_runtest_protocol  # noqa: E402, F401
from reference import REFERENCE  # noqa: E402
from replay import ReplayServer  # noqa: E402

# The test lanes (tests/lanes.py): a test with none of the markers process, browser, node
# or slow is marked fast, and a fast test that starts a child process fails.

BLOG = Path(__file__).parent.parent / "examples" / "blog"
# What a user's copy of the site holds that the set-up does not: packages, the archive,
# what Hexo generates.
BLOG_LOCAL = ("node_modules", "source", "public", "db.json", ".deploy_git")


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
    """A copy of the blog set-up users get (examples/blog), its packages installed with
    `npm ci` from its lockfile once per session. Outside CI a machine without npm skips the
    tests that need it."""
    needs("npm", "node", why="the Hexo tests")
    site = tmp_path_factory.mktemp("hexo-site") / "blog"
    shutil.copytree(BLOG, site, ignore=_local_to_a_copy)
    run_in_site(site, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    return site


def _local_to_a_copy(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if Path(folder) == BLOG and name in BLOG_LOCAL]


def needs(*tools: str, why: str) -> None:
    """Skip without these programs; in CI (CI=true) their absence is a failure."""
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} needed for {why} in CI")
        pytest.skip(f"{', '.join(missing)} not installed")


def run_in_site(site: Path, *command: str) -> None:
    """A Node.js command in the Hexo site, which must succeed."""
    result = subprocess.run(command, cwd=site, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
