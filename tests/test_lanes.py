"""The lanes' guard (tests/lanes.py), run on a small suite of its own: a test with no lane
marker is `fast`, and a fast test that starts a child process fails, in its body or in a
fixture it is the first to need, naming the marker to add; a command through click's
CliRunner is in-process and passes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import subprocess

import pytest
from click.testing import CliRunner

from crawler.cli import cli


def test_starts_a_process():
    subprocess.run(["true"], check=True)


@pytest.fixture(scope="module")
def started():
    subprocess.run(["true"], check=True)


def test_needs_a_fixture_that_starts_one(started):
    pass


@pytest.mark.process
def test_marked_process():
    subprocess.run(["true"], check=True)


def test_a_command_in_process():
    assert CliRunner().invoke(cli, ["archive", "--help"]).exit_code == 0


def test_pure():
    assert sum(range(4)) == 6
"""


# The plugin is imported already (tests/conftest.py): no assertion rewriting to warn about.
LANES = ["-p", "lanes", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nmarkers =\n    fast\n    process\n    browser\n    node\n    slow\n"
    )
    pytester.makepyfile(test_suite=SUITE)
    return pytester


# The suite's one marked test starts a child process (`true`).
@pytest.mark.process
def test_a_fast_test_that_starts_a_process_fails_naming_the_marker(suite: pytest.Pytester):
    result = suite.runpytest_inprocess(*LANES)
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_needs_a_fixture_that_starts_one*",
            "*ChildProcessInFastLane: * starts a child process (subprocess.Popen): mark it"
            " @pytest.mark.process*",
            "*test_starts_a_process*",
            "*ChildProcessInFastLane: * starts a child process (subprocess.Popen): mark it"
            " @pytest.mark.process*",
        ]
    )


@pytest.mark.process
def test_the_fast_lane_is_every_test_without_a_lane_marker(suite: pytest.Pytester):
    fast = suite.runpytest_inprocess(*LANES, "-m", "fast")
    fast.assert_outcomes(passed=2, failed=1, errors=1, deselected=1)
    rest = suite.runpytest_inprocess(*LANES, "-m", "not fast")
    rest.assert_outcomes(passed=1, deselected=4)
