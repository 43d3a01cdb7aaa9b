"""One fuzz target of tests/fuzz_targets.py for as long as you give it, coverage-guided by
atheris (libFuzzer for Python), with the target's dictionary (tests/cases/fuzz/<TARGET>.dict):

    .venv/bin/pip install -e '.[fuzz]'      # atheris
    .venv/bin/python scripts/fuzz_atheris.py TARGET --seconds 300 [--corpus DIR]
    .venv/bin/python scripts/fuzz_atheris.py TARGET --seconds 300 --engine hypothesis

It keeps going past a find: each input that raises (or breaks the invariant) in a way not
seen before, by exception type and the crawler function that raised it (or the invariant's
name), is written to tests/cases/fuzz/<TARGET>/found-<what>-<sha1>.<ext>, one line said, and
the run goes on; the saved finds of the target count as seen. A hang or an out-of-memory is
left there by libFuzzer itself (timeout-…, oom-…). Exit status 1 when anything new was found,
0 when not, 2 when the engine cannot run. `--engine hypothesis` draws from the suite's
strategies (tests/test_fuzz_layers.py) instead, in rounds of new seeds, with no coverage
guidance: the fallback where atheris does not install.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
EXTENSIONS = {"markup": "html", "body": "html", "hexo_syntax": "html", "page": "html"}
EXTENSIONS |= {"roll": "json", "state": "jsonl", "config": "yaml"}


class Finds:
    """The new ways a target fails, each kept once as a case file."""

    def __init__(self, target: str, run) -> None:
        self.target, self.run = target, run
        self.folder = TESTS / "cases" / "fuzz" / target
        self.seen: set[str] = set()
        self.new: list[Path] = []
        self.executions = 0
        self.started = time.monotonic()
        for case in sorted(self.folder.glob("*")) if self.folder.is_dir() else ():
            if case.is_file() and (why := self.signature_of(case.read_bytes())):
                self.seen.add(why)

    def signature_of(self, data: bytes) -> str | None:
        """None when the target passes on `data`, else what went wrong, in a few words."""
        try:
            self.run(data)
        except Exception as exc:  # every exception is a find: that is the point
            return signature(exc)
        return None

    def one_input(self, data: bytes) -> None:
        self.executions += 1
        why = self.signature_of(data)
        if why is None or why in self.seen:
            return
        self.seen.add(why)
        slug = re.sub(r"[^a-z0-9]+", "-", why.lower()).strip("-")[:60]
        digest = hashlib.sha1(data).hexdigest()[:8]
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"found-{slug}-{digest}.{EXTENSIONS.get(self.target, 'txt')}"
        path.write_bytes(data)
        self.new.append(path)
        print(f"FIND {self.target}: {why} ({len(data)} bytes) -> {path}", flush=True)

    def summary(self) -> None:
        seconds = time.monotonic() - self.started
        print(
            f"{self.target}: {self.executions} executions in {seconds:.0f} s, "
            f"{len(self.new)} new find(s)",
            flush=True,
        )


def signature(exc: BaseException) -> str:
    """`Broken <invariant>`, or the exception's type and the innermost crawler function."""
    if type(exc).__name__ == "Broken":
        return f"Broken {str(exc).split(':', 1)[0]}"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/crawler/" in f.filename] or frames[-1:]
    where = f" in {Path(ours[-1].filename).stem}.{ours[-1].name}" if ours else ""
    return f"{type(exc).__name__}{where}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="a name in tests/fuzz_targets.py TARGETS")
    parser.add_argument("--seconds", type=float, required=True, help="time budget")
    parser.add_argument("--corpus", type=Path, help="libFuzzer's corpus folder (kept)")
    parser.add_argument("--engine", choices=("atheris", "hypothesis"), default="atheris")
    args = parser.parse_args(argv)
    if args.engine == "hypothesis":
        return hypothesis_run(args.target, args.seconds)
    try:
        import atheris
    except ImportError:
        print(
            "fuzz_atheris.py: atheris is not installed (pip install -e '.[fuzz]'), "
            "or run with --engine hypothesis",
            file=sys.stderr,
        )
        return 2
    with atheris.instrument_imports(include=["crawler", "feedparser", "fuzz_targets"]):
        from fuzz_targets import TARGETS, dictionary
    if args.target not in TARGETS:
        parser.error(f"unknown target {args.target!r} (one of {', '.join(sorted(TARGETS))})")
    finds = Finds(args.target, TARGETS[args.target])
    finds.folder.mkdir(parents=True, exist_ok=True)  # libFuzzer writes hangs there
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for case in finds.folder.glob("*"):  # the saved finds seed the corpus
        if case.is_file():
            shutil.copy(case, corpus / case.name)
    deadline = time.monotonic() + args.seconds

    def one_input(data: bytes) -> None:
        if time.monotonic() > deadline:  # libFuzzer's own exit would say nothing of finds
            finds.summary()
            if not args.corpus:
                shutil.rmtree(corpus, ignore_errors=True)
            sys.stdout.flush()
            os._exit(1 if finds.new else 0)
        finds.one_input(data)

    flags = [
        f"-max_total_time={int(args.seconds) + 60}",  # a backstop: one_input stops the run
        f"-dict={dictionary(args.target)}",
        f"-artifact_prefix={finds.folder}/",
        "-timeout=20",
        "-rss_limit_mb=3072",
        "-max_len=8192",
    ]
    atheris.Setup([sys.argv[0], *flags, str(corpus)], one_input)
    atheris.Fuzz()
    return 1 if finds.new else 0


def hypothesis_run(target: str, seconds: float) -> int:
    """The suite's strategy for the target, in rounds of 200 examples with new seeds."""
    from fuzz_targets import TARGETS
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from test_fuzz_layers import STRATEGIES

    finds = Finds(target, TARGETS[target])
    deadline = time.monotonic() + seconds
    round_seed = int(time.time())
    while time.monotonic() < deadline:
        round_seed += 1

        @seed(round_seed)
        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(STRATEGIES[target])
        def run(data: bytes) -> None:
            if time.monotonic() < deadline:
                finds.one_input(data)

        run()
    finds.summary()
    return 1 if finds.new else 0


if __name__ == "__main__":
    sys.exit(main())
