"""The command line: every command has --help; bad arguments are one line and exit 2."""

from __future__ import annotations

import os
import re
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


@pytest.mark.parametrize("path", [(), *commands(cli)], ids=lambda path: " ".join(path) or "-")
def test_every_command_has_help_that_reads_well_in_80_columns(path):
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0 and result.output.startswith("Usage: ")
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), result.output
    # No summary cut mid-word, no strptime patterns, no documents the repository lacks.
    assert not any("..." in line for line in lines[1:]), result.output
    assert "%Y" not in result.output and ".md" not in result.output


def test_the_interface_contract_and_the_commands_agree():
    """docs/INTERFACE.md names only commands the CLI has, and every command is documented
    there or in the README (a sqlite-utils test_docs.py of our own)."""
    interface = (ROOT / "docs" / "INTERFACE.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    have = {" ".join(path) for path in commands(cli)} - {"archive"}
    named = set(re.findall(r"`crawler ((?:archive )?[a-z]+)", interface))
    assert named and named <= have
    assert [c for c in sorted(have) if f"crawler {c}" not in interface + readme] == []


@pytest.mark.parametrize("args", [[], ["archive"]])
def test_a_bare_group_prints_its_help(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    assert exit_.value.code == 0 and out.startswith("Usage: crawler") and err == ""


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


@pytest.mark.parametrize(
    "args",
    [
        ["crawl", "-c", str(ROOT / "feeds.yaml")],
        ["fetch", "https://finance.sina.com.cn/x.shtml"],
        ["archive", "list"],
        ["archive", "verify"],
    ],
)
def test_an_archive_below_a_file_is_one_line_and_exit_2(tmp_path: Path, capsys, args):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--archive", str(tmp_path / "f" / "sub")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert f"{tmp_path / 'f' / 'sub'}: archive path lies below {tmp_path / 'f'}, a file" in err


@pytest.mark.process
def test_outside_the_project_the_errors_say_what_to_give(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "crawler"]
    crawl = subprocess.run([*run, "crawl"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert crawl.returncode == 2
    assert crawl.stderr == (
        "crawler: error: feeds.yaml: no such file (run where it is, or give it with -c FEEDS)\n"
    )
    listing = subprocess.run(
        [*run, "archive", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert listing.returncode == 1
    assert listing.stderr == (
        f"crawler: error: {tmp_path / 'archive'}: no such archive folder "
        "(give it with --archive, or -c FEEDS)\n"
    )


@pytest.mark.process
def test_python_dash_m_is_the_same_program():
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0 and "crawl" in result.stdout and "archive" in result.stdout


@pytest.mark.process
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
