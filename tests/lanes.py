"""The test lanes (a pytest plugin; tests/conftest.py takes its two hooks).

A test that starts a child process is marked `process`, one that drives headless Chromium
`browser`, one that needs Node.js/npm (Hexo) `node`, one that runs for tens of seconds `slow`.
Every other test is marked `fast` here: `pytest -m fast` is the in-process lane, and a guard
fails a `fast` test the moment it starts a child process, naming the marker to add.
"""

from __future__ import annotations

import _posixsubprocess
import multiprocessing.process
import os
import subprocess

import pytest

LANES = ("process", "browser", "node", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(lane) for lane in LANES):
            item.add_marker(pytest.mark.fast)


class ChildProcessInFastLane(AssertionError):
    pass


def refuse(what: str):
    def refused(*args, **kwargs):
        raise ChildProcessInFastLane(
            f"this test is in the fast (in-process) lane but starts a child process "
            f"({what}): mark it @pytest.mark.process (or `pytestmark = pytest.mark.process` "
            f"for a module; `browser` for Chromium, `node` for Node.js/Hexo)"
        )

    return refused


# Every way a child process is started in Python: subprocess (and asyncio, os.popen) and
# multiprocessing's spawn/forkserver end in _posixsubprocess.fork_exec; the rest fork or
# spawn through os.
_STARTS = [
    (subprocess.Popen, "__init__", "subprocess.Popen"),
    (_posixsubprocess, "fork_exec", "_posixsubprocess.fork_exec"),
    (multiprocessing.process.BaseProcess, "start", "multiprocessing start"),
    *(
        (os, name, f"os.{name}")
        for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system")
        if hasattr(os, name)
    ),
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """While a `fast` test runs, its setup and teardown too (a module's or session's fixture
    it is the first to need included), starting a child process fails it. Click's CliRunner
    runs a command in this process and is not refused."""
    if not item.get_closest_marker("fast"):
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, what in _STARTS:
            patch.setattr(owner, name, refuse(what))
        return (yield)
