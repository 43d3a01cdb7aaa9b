"""File names a checkout on Windows or macOS keeps (docs/FORMAT.md, Paths): no device name in
any spelling Windows has, and no two names that differ only by case or Unicode normalization."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter
from crawler.store.paths import name_key, stem_for
from crawler.store.verify import verify

SHELF = Shelf("金融", "新浪财经", "新浪财经－国內")
FOLDER = "金融/新浪财经/新浪财经－国內"
DEVICES = [
    *("CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"),
    *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³"),
]


def article(item_id: str, title: str, shelf: Shelf = SHELF) -> Article:
    return Article(
        id=item_id,
        url=f"https://finance.sina.com.cn/{item_id}.shtml",
        title=title,
        body=f"<p>{item_id}</p>",
        shelf=shelf,
        date=datetime(2024, 3, 1, tzinfo=UTC),
    )


def suffix(item_id: str) -> str:
    return "_" + hashlib.sha1(item_id.encode()).hexdigest()[:8]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spelling", [str, str.lower, str.title, lambda d: d + "  "])
def test_no_windows_device_name_in_any_spelling(device: str, spelling):
    title = spelling(device)
    assert stem_for(title) == title.rstrip(" ") + "_"
    assert stem_for(title + ".txt") == title + "txt"  # the dot goes: no device


@pytest.mark.parametrize("title", ["COM10", "LPT⁴", "CONIN", "CON_", "COM", "Console"])
def test_names_that_are_no_device_stay(title: str):
    assert stem_for(title) == title


def test_a_device_named_source_folder_and_post(tmp_path: Path):
    shelf = Shelf("COM¹", "lpt0", "conout$")
    with ArchiveWriter(tmp_path) as writer:
        path = writer.write(article("a", "CONIN$", shelf)).path
    assert path.relative_to(tmp_path).as_posix() == "COM¹_/lpt0_/conout$_/CONIN$_.md"
    assert verify(tmp_path) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Abc", "abc"),
        ("STRASSE", "straße"),
        (unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")),
        (unicodedata.normalize("NFD", "CAFÉ"), unicodedata.normalize("NFC", "café")),
    ],
)
def test_names_one_file_on_macos_or_windows_take_the_collision_name(
    tmp_path: Path, first: str, second: str
):
    with ArchiveWriter(tmp_path) as writer:
        one = writer.write(article("one", first)).path
        two = writer.write(article("two", second)).path
        again = writer.write(article("one", first)).path
    assert one.name == f"{stem_for(first)}.md"
    assert two.name == f"{stem_for(second)}{suffix('two')}.md"
    assert again == one
    assert name_key(one.name) != name_key(two.name)
    assert verify(tmp_path) == []


def test_the_rule_holds_across_writers_and_for_files_nobody_owns(tmp_path: Path):
    with ArchiveWriter(tmp_path) as writer:
        writer.write(article("one", "Abc"))
    (tmp_path / FOLDER / "MINE.md").write_text("a person's file", encoding="utf-8")
    with ArchiveWriter(tmp_path) as writer:
        two = writer.write(article("two", "ABC")).path
        three = writer.write(article("three", "mine")).path
    assert two.name == f"ABC{suffix('two')}.md"
    assert three.name == f"mine{suffix('three')}.md"
    assert (tmp_path / FOLDER / "MINE.md").read_text(encoding="utf-8") == "a person's file"


def test_folders_that_differ_only_by_case(tmp_path: Path):
    lower, upper = Shelf("金融", "site", "feed"), Shelf("金融", "Site", "Feed")
    with ArchiveWriter(tmp_path) as writer:
        one = writer.write(article("one", "Same", lower)).path
        two = writer.write(article("two", "Same", upper)).path
    assert one.relative_to(tmp_path).as_posix() == "金融/site/feed/Same.md"
    assert two.relative_to(tmp_path).as_posix() == f"金融/Site/Feed/Same{suffix('two')}.md"


def test_names_without_a_collision_keep_their_spelling(tmp_path: Path):
    nfd = unicodedata.normalize("NFD", "Café")
    with ArchiveWriter(tmp_path) as writer:
        paths = [writer.write(article(t, t)).path.name for t in ("Abc", "Abd", nfd)]
    assert paths == ["Abc.md", "Abd.md", f"{nfd}.md"]  # no case or normalization changed
