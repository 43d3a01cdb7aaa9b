"""Crawl whole feed corpora as cron would, and compare with what feedparser sees.

    python scripts/corpus_check.py ../shared/corpora/feedparser-corpus ../shared/corpora/...

Each corpus folder is served on loopback (files of feedparser's corpus with their `Header:`
lines), one feeds.yaml source per feed file, crawled by `crawler crawl` in a subprocess into a
fresh archive. Prints per corpus: feeds, entries feedparser sees on the same bytes, entries
archived, crashes (tracebacks), invalid files (`archive verify`), peak RSS of the crawl.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

import feedparser
import yaml

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.M)
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


def feed_files(corpus: Path) -> list[Path]:
    files = []
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.suffix not in SUFFIXES or path.name.startswith("LICENSE"):
            continue
        if path.suffix == ".json" and b"jsonfeed.org" not in path.read_bytes()[:2000]:
            continue  # parser oracles (gofeed, rss-parser), not feeds
        files.append(path)
    return files


def headers_of(data: bytes) -> dict[str, str]:
    found = dict((k.strip(), v.strip()) for k, v in HEADER.findall(data.decode("utf-8", "replace")))
    return found or {
        "Content-Type": "application/json" if data.lstrip()[:1] == b"{" else "text/xml"
    }


def serve(root: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = root / unquote(self.path.lstrip("/"))
            if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            for name, value in headers_of(data).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def feedparser_count(data: bytes, url: str) -> int:
    if data.lstrip()[:1] == b"{":
        try:
            return len(json.loads(data).get("items") or [])
        except (ValueError, AttributeError):
            return 0
    headers = {k.lower(): v for k, v in headers_of(data).items()}
    try:
        parsed = feedparser.parse(
            io.BytesIO(data), response_headers={**headers, "content-location": url}
        )
    except Exception:
        return 0
    return len({e.get("id") or e.get("link") or repr(e.get("title")) for e in parsed.entries})


def run_measured(command: list[str], work: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run `command`; its output and its own peak RSS in KiB (os.wait4's rusage)."""
    out, err = work / "stdout.txt", work / "stderr.txt"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = subprocess.CompletedProcess(
        command,
        proc.returncode,
        out.read_text("utf-8", "replace"),
        err.read_text("utf-8", "replace"),
    )
    return result, usage.ru_maxrss


def check(corpus: Path, work: Path) -> dict:
    files = feed_files(corpus)
    server = serve(corpus)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    sources, seen = [], 0
    for n, path in enumerate(files):
        rel = path.relative_to(corpus).as_posix()
        url = base + quote(rel)
        seen += feedparser_count(path.read_bytes(), url)
        sources.append(
            {
                "name": f"{n:05d}",
                "site": corpus.name,
                "category": "corpus",
                "type": "feed",
                "url": url,
                "limit": 100_000,
            }
        )
    config = work / f"{corpus.name}.yaml"
    config.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), "utf-8")
    archive = work / corpus.name
    crawl, peak_kib = run_measured(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "-c",
            str(config),
            "--archive",
            str(archive),
            "--quiet",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "CONCURRENT_REQUESTS_PER_DOMAIN=16",
            "-s",
            "RETRY_TIMES=0",
        ],
        work,
    )
    server.shutdown()
    verify = subprocess.run(
        [sys.executable, "-m", "crawler", "archive", "verify", "--archive", str(archive)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    invalid = len(verify.stdout.splitlines()) - 1 if verify.returncode else 0
    archived = sum(1 for _ in archive.rglob("*.md"))
    names = {s["name"]: s["url"].removeprefix(base) for s in sources}
    failed = [
        f"{unquote(names.get(line.split(':', 1)[0], '?'))}: {line.split('FAILED: ', 1)[1][-90:]}"
        for line in crawl.stdout.splitlines()
        if "— FAILED: " in line
    ]
    return {
        "corpus": corpus.name,
        "feeds": len(files),
        "feedparser entries": seen,
        "archived": archived,
        "ratio": f"{archived / seen:.1%}" if seen else "-",
        "failed feeds": crawl.stdout.count("— FAILED: "),
        "exit": crawl.returncode,
        "crashes": crawl.stderr.count("Traceback"),
        "invalid files": invalid,
        "peak RSS MiB": round(peak_kib / 1024),
        "failures (first 8)": failed[:8],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--keep", type=Path, help="keep configs and archives in this folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="corpus-check-"))
    work.mkdir(parents=True, exist_ok=True)
    for corpus in args.corpora:
        print(json.dumps(check(corpus.resolve(), work), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
