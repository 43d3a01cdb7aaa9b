from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference import REFERENCE  # noqa: E402


@pytest.fixture
def seed_body() -> str:
    text = (REFERENCE / "seed.md").read_text(encoding="utf-8")
    return text.split("\n<div>   \n", 1)[1].removesuffix("  \n</div>\n" + " " * 12)
