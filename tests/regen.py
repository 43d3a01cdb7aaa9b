"""Write the cases' expected outputs from their saved inputs, and show what changed.

    .venv/bin/python tests/regen.py            # every case
    .venv/bin/python tests/regen.py KEY ...    # these Sina cases (folder names) only
    .venv/bin/python tests/regen.py --check    # write nothing; exit 1 if anything differs

Sina cases (tests/cases/sina/<KEY>/): expected.json, expected.md and expected.markdown.md
from page.html and case.json. Reference posts in Markdown (tests/cases/reference-markdown/):
from the reference posts, as tests/sina_replay.py serves them. Review the diff before you
commit it: it is what the tests will hold the code to.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sina_cases import (  # noqa: E402
    FILES,
    REFERENCE_MARKDOWN,
    SINA_CASES,
    reference_markdown,
    run_case,
    sina_cases,
)
from sina_replay import reference_articles  # noqa: E402


def expected_outputs(keys: list[str]) -> dict[Path, bytes]:
    """Every expected file the given cases (all when none given) should hold."""
    outputs = {}
    for case in sina_cases():
        if keys and case.key not in keys:
            continue
        outcome = run_case(case)
        if not outcome.fields:
            sys.exit(f"regen: {case.key}: no family gives an article from page.html")
        text = json.dumps(outcome.fields, ensure_ascii=False, indent=1) + "\n"
        outputs[case.folder / "expected.json"] = text.encode("utf-8")
        for body_format, name in FILES.items():
            outputs[case.folder / name] = outcome.files[body_format]
    if not keys:
        for article in reference_articles():
            path, data = reference_markdown(article)
            outputs[REFERENCE_MARKDOWN / path] = data
    return outputs


def show_diff(path: Path, old: bytes | None, new: bytes) -> None:
    name = path.relative_to(SINA_CASES.parents[2]).as_posix()
    before = [] if old is None else old.decode("utf-8").splitlines(keepends=True)
    after = new.decode("utf-8").splitlines(keepends=True)
    fromfile = "/dev/null" if old is None else f"a/{name}"
    sys.stdout.writelines(difflib.unified_diff(before, after, fromfile, f"b/{name}"))
    if after and not after[-1].endswith("\n"):
        sys.stdout.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("keys", nargs="*", metavar="KEY", help="Sina case folder names")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on a diff")
    args = parser.parse_args(argv)
    known = {case.key for case in sina_cases()}
    if unknown := sorted(set(args.keys) - known):
        parser.error(f"no such case in {SINA_CASES}: {', '.join(unknown)}")
    outputs = expected_outputs(args.keys)
    changes = []
    for path, new in outputs.items():
        old = path.read_bytes() if path.exists() else None
        if old != new:
            changes.append((path, old, new))
    if not args.check:  # all written before any is shown: a closed pager loses no file
        for path, _, new in changes:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(new)
    for path, old, new in changes:
        show_diff(path, old, new)
    changed = len(changes)
    verb = "differ" if args.check else "rewritten"
    print(f"regen: {changed} of {len(outputs)} expected files {verb}", file=sys.stderr)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `| head`: the files are written all the same
        sys.stderr.close()
        sys.exit(0)
