"""The benchmark (bench/, never run by the suite) imports what the package still has: its
imports are mostly inside functions, where a renamed or moved name shows only ten minutes
into a benchmark run."""

from __future__ import annotations

import ast
import importlib

import pytest

from runner import ROOT

BENCH = sorted((ROOT / "bench").glob("*.py"))


def crawler_imports(path) -> list[tuple[str, str]]:
    """(module, name) of every `from crawler… import name` in the file, at any depth."""
    return [
        (node.module, alias.name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crawler")
        for alias in node.names
    ]


@pytest.mark.parametrize("path", BENCH, ids=lambda p: p.name)
def test_every_name_the_bench_imports_is_there(path):
    missing = [
        f"{module}.{name}"
        for module, name in crawler_imports(path)
        if not hasattr(importlib.import_module(module), name)
    ]
    assert not missing, f"{path.name} imports names the package no longer has: {missing}"
