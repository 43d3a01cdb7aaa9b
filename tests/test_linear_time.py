"""A Sina page's extraction takes time linear in its size (issue 28): each hostile page is
extracted at two sizes, n and 4n, and the larger may take at most 8 times as long (linear: 4,
quadratic: 16). Sizes are small; a quadratic cause shows at any size, and this file runs in
seconds."""

from __future__ import annotations

import time

import pytest

from crawler.extract.sina_article import read_page, sina_article
from crawler.items import Shelf

URL = "https://finance.sina.com.cn/roll/2005-03-21/doc-iabcdefg1234567.shtml"
SHELF = Shelf("c", "s", "n")
TABLE = "<table><tr><th class=f24>标题</th></tr>"

# name: (the page at size n, n). Each once took time quadratic in n.
PAGES = {
    "title with many _": (lambda n: f"<title>{'标题_' * n}</title><div id=artibody>x</div>", 3000),
    "unclosed tag in #artibody, many values": (
        lambda n: f"<div id=artibody><p>x</p><p {'main-title ' * n}",
        400,
    ),
    "unclosed tags in #artibody, one per value": (
        lambda n: f"<div id=artibody><p>x</p>{'<h1 main-title ' * n}",
        400,
    ),
    "unclosed quote in #artibody": (
        lambda n: f'<div id=artibody><p>x</p><p a="{"main-title " * n}',
        1500,
    ),
    "unclosed meta": (
        lambda n: '<div id=artibody>x</div><meta name="keywords" ' + 'name="keywords" ' * n,
        1500,
    ),
    "nested td": (lambda n: TABLE + "<td class=l17>" * n + "x</table>", 300),
    "nested td, each opening a comment": (lambda n: TABLE + "<td class=l17><!--" * n, 1500),
}


def extract(html: str) -> None:
    """Page to article, as a crawl does it (tests/sina_cases.py: `run_case`)."""
    sina_article(read_page(html.encode(), URL, "text/html; charset=utf-8"), SHELF)


def cpu_seconds(html: str, runs: int) -> float:
    start = time.process_time()
    for _ in range(runs):
        extract(html)
    return time.process_time() - start


def best_of_3(html: str, runs: int, enough: float = 0.0) -> float:
    """The least of 3 timings (other processes share the machine), stopping at one that is
    `enough`."""
    best = float("inf")
    for _ in range(3):
        best = min(best, cpu_seconds(html, runs))
        if best <= enough:
            break
    return best


@pytest.mark.parametrize("name", PAGES)
def test_extraction_time_is_linear_in_the_page_size(name):
    page, n = PAGES[name]
    small, large = page(n), page(4 * n)
    extract(small)  # warm: patterns compiled, caches filled
    runs = max(1, round(0.02 / max(cpu_seconds(small, 1), 1e-4)))  # about 20 ms a timing
    once = best_of_3(small, runs)
    four_times = best_of_3(large, runs, enough=8 * once)
    assert four_times <= 8 * once, (
        f"{name}: {len(small)} → {len(large)} characters took "
        f"{once / runs * 1000:.1f} → {four_times / runs * 1000:.1f} ms (×{four_times / once:.1f})"
    )
