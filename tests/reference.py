"""Reading the reference posts back into the fields they were made from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import yaml

from crawler.store.body import one_block

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "reference-posts"
OPENING = "\n<div>   \n"
TRAILER = "  \n</div>\n" + " " * 12
RFC1123 = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


@dataclass(frozen=True)
class ReferencePost:
    case: str  # test id
    path: str  # where the archive keeps it, relative to the root
    text: str

    @property
    def front(self) -> dict:
        return yaml.safe_load(self.text.split("\n---\n")[1])

    @property
    def current_template(self) -> bool:
        lines = self.text.split("\n")
        return lines[4] == " - " + str(self.front["categories"][0]) and bool(
            RFC1123.fullmatch(str(self.front["date"]))
        )

    @property
    def date(self) -> datetime:
        date = self.front["date"]
        return date if isinstance(date, datetime) else parsedate_to_datetime(date)

    @property
    def published(self) -> str:
        """The post as we write it: the reference bytes with docs/FORMAT.md's raw-HTML-block
        rule applied to its body (the reference archive's whitespace-only lines made Markdown
        code blocks of its posts); front matter and path are the reference's own."""
        start = self.text.index("\n---\n", 1) + len("\n---\n") + len(OPENING)
        return self.text[:start] + one_block(self.body) + self.text[start + len(self.body) :]

    @property
    def body(self) -> str:
        start = self.text.index("\n---\n", 1) + len("\n---\n")
        assert self.text[start:].startswith(OPENING)
        body = self.text[start + len(OPENING) :]
        return body[: -len(TRAILER)] if body.endswith(TRAILER) else body


def reference_posts() -> list[ReferencePost]:
    posts = [
        ReferencePost(
            str(p.relative_to(REFERENCE / "posts")),
            str(p.relative_to(REFERENCE / "posts")),
            p.read_text(encoding="utf-8"),
        )
        for p in sorted((REFERENCE / "posts").rglob("*.md"))
    ]
    fragments = REFERENCE / "fragments"
    for name, path in json.loads((fragments / "paths.json").read_text(encoding="utf-8")).items():
        posts.append(
            ReferencePost(Path(name).name, path, (fragments / name).read_text(encoding="utf-8"))
        )
    return posts


def excerpts() -> list[dict]:
    lines = (REFERENCE / "excerpts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
