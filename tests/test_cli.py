"""The command line: every command has --help; bad arguments are one line and exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler.cli import cli, main
from crawler.store.lock import ArchiveLock, ArchiveLocked

ROOT = Path(__file__).parent.parent


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(commands(cli)), ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize(
    "args", [["crawl", "--limit", "0"], ["crawl", "--bogus"], ["nope"], ["crawl", "-s", "NOVALUE"]]
)
def test_bad_arguments_are_one_line_and_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("crawler: error: ") and err.count("\n") == 1


def test_archive_path_that_is_a_file(tmp_path: Path, capsys):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit) as exit_:
        main(["crawl", "-c", str(ROOT / "feeds.yaml"), "--archive", str(tmp_path / "f")])
    assert exit_.value.code == 2 and "is not a folder" in capsys.readouterr().err


def test_python_dash_m_is_the_same_program():
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0 and "crawl" in result.stdout and "archive" in result.stdout


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from crawler.store.lock import ArchiveLock; ArchiveLock(Path(sys.argv[1])).acquire();"
            "print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ArchiveLocked, match=f"pid {holder.pid}"):
        ArchiveLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    deadline = time.monotonic() + 5
    lock = ArchiveLock(tmp_path)
    while True:
        try:
            lock.acquire()
            break
        except ArchiveLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    lock.release()
