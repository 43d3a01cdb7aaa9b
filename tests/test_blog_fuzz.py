"""The fuzzer's bounded run in the suite (scripts/fuzz_blog.py runs it for hours): a
fixed-seed sample of generated hostile bodies and fields (tests/hostile_gen.py, every family),
crawled from RSS, Atom and JSON Feed in both body formats into a copy of examples/blog, built
with `npm run build`, and every page loaded in headless Chromium behind the beacon
(tests/hostile_site.py). Invariant: nothing fires. A find prints as cases to paste into
tests/fixtures/hostile/cases.yaml.

Needs Node.js and npm and Debian's `chromium`; outside CI a machine without them skips, in CI
(CI=true) a missing one is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import needs
from hostile_gen import FAMILIES, generate, report
from hostile_site import run_round

from replay import ReplayServer

pytestmark = [pytest.mark.slow, pytest.mark.node, pytest.mark.process, pytest.mark.browser]
SEED, SIZE = 27, 54  # six turns of every family


def test_fuzz_sample_fires_nothing(hexo_site: Path, server: ReplayServer, tmp_path: Path):
    needs("chromium", why="the browser check")
    cases = generate(SEED, SIZE)
    assert {c["family"].removeprefix("front matter ").split()[0] for c in cases} >= {
        f.split()[0] for f in FAMILIES if f not in ("excerpt pair", "front matter")
    }
    result = run_round(hexo_site, server, cases, tmp_path)
    server.reset()
    print(f"fuzz sample: {len(cases)} bodies, {result.pages} pages, {result.seconds}")
    assert result.failure == ""
    assert result.pages > len(cases)
    assert result.finds == [], "\n".join(report(cases, result.finds))
