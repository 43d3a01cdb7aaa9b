"""The fuzzer at the consumer, for as long as you give it: rounds of generated hostile bodies
and fields (a new seed each round), crawled from RSS, Atom and JSON Feed in both body formats
into a copy of examples/blog, built with `npm run build`, every page loaded in headless
Chromium behind a loopback beacon. Prints per round the bodies tried and each find as cases
to paste into tests/fixtures/hostile/cases.yaml, and a summary line at the end.

    .venv/bin/python scripts/fuzz_blog.py --seconds 3600 [--seed S] [--batch K]

It reuses the test suite's pieces (tests/ is put on sys.path): the generator
(tests/hostile_gen.py), the replay server (tests/replay.py), the Hexo site set-up, feeds,
beacon and judge (tests/hostile_site.py). Everything stays on loopback: the crawler reaches
the feeds through the replay server as its proxy, Chromium reaches the attacker's host only
through the beacon. Bounded: no round starts after the budget, a page gets at most
--page-timeout seconds, and the work folder is removed at the end. Needs npm, node, chromium.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile_gen import generate, report  # noqa: E402
from hostile_site import make_site, run_round  # noqa: E402

from replay import ReplayServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, required=True, help="time budget")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--batch", type=int, default=60, help="bodies per round")
    parser.add_argument("--page-timeout", type=float, default=30)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.seconds
    work = Path(tempfile.mkdtemp(prefix="fuzz-blog-"))
    replay = ReplayServer().start()
    tried = rounds = finds = 0
    try:
        site = make_site(work)
        seed = args.seed
        while rounds == 0 or time.monotonic() < deadline:  # one round whatever the budget
            cases = generate(seed, args.batch)
            folder = work / f"round-{seed}"
            folder.mkdir()
            result = run_round(site, replay, cases, folder, timeout=args.page_timeout)
            rounds, tried = rounds + 1, tried + len(cases)
            fired = {f["id"] for f in result.finds}
            finds += len(fired)
            spent = ", ".join(f"{k} {v:.0f}s" for k, v in result.seconds.items())
            print(
                f"round {rounds} seed {seed}: {len(cases)} bodies, {result.pages} pages, "
                f"{len(fired)} finds ({spent})",
                flush=True,
            )
            if result.failure:
                print(f"  round failed: {result.failure}", flush=True)
            for line in report(cases, result.finds):
                print(line, flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            seed += 1
    finally:
        replay.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz: {tried} bodies in {rounds} rounds, {finds} finds")
    return 1 if finds else 0


if __name__ == "__main__":
    sys.exit(main())
