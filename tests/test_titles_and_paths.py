"""Titles and names: quoting that always loads back, and file names that stay in the archive."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import frontmatter
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter
from crawler.store.fields import (
    inert_title,
    normalize_title,
    plain_or_quoted,
    quote_title,
    rfc1123,
)
from crawler.store.paths import stem_for

HOSTILE = [
    "'",
    '"',
    "\\",
    ": ",
    "#",
    "---",
    "\n---\n",
    "-",
    "*",
    "&",
    "!",
    "%",
    "@",
    "`",
    "yes",
    "no",
    "null",
    "2021-01-01",
    "0x10",
    "\x00",
    "\x1b",
    "\u2028",
    "\ufeff",
    "新浪财经",
    "😀",
    "../../x",
    "{{",
    "%}",
    " ",
    "\t",
    "\n",
    "&amp;",
    "&#39;",
    "[",
    "]",
    "?",
    "|",
    ">",
    "<",
    "“",
    "”",
    ".",
    "CON",
    "!!python/object:os.system",
    "\x85",
    "\u200b",
    "\u202e",
    "　",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=5)), max_size=12).map(
    "".join
)


@pytest.mark.parametrize(
    ("title", "quoted"),
    [
        ("plain", "'plain'"),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        ('it\'s "x"', "'it''s \"x\"'"),
        ("it's a\\b", "'it''s a\\b'"),
    ],
)
def test_quoting_rules(title, quoted):
    assert quote_title(title) == quoted
    assert yaml.safe_load(f"title: {quoted}")["title"] == title


def test_normalization():
    assert normalize_title("  a &amp; b\n\n c\t\x00d\u2028e &nbsp; \x1b\ufeff") == "a & b c de"
    assert normalize_title("a\x1fb\x85c\u2029d") == "abcd"  # controls go, they do not fold
    assert normalize_title("原标题　正文") == "原标题　正文"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("金融", "金融"),
        ("新浪财经－国內", "新浪财经－国內"),
        ("— 资讯", "— 资讯"),
        ("yes", "'yes'"),
        ("a: b", "'a: b'"),
        ("- x", "'- x'"),
        ("#x", "'#x'"),
        ("", "''"),
        ("it's", "it's"),
        ("'q'", "'''q'''"),
        ("2021-01-01", "'2021-01-01'"),
        ("0x10", "'0x10'"),
    ],
)
def test_plain_or_quoted(name, written):
    assert plain_or_quoted(name) == written


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("13.3%的增长", "133%的增长"),
        ("a: b/c\\d?e*f“g”h<i>j|k[l]m", "a_ b_c_d_e_f_g_h_i_j_k_l_m"),
        ("#1 news.", "1 news"),
        ("...", "untitled"),
        ("con", "con_"),
        ("LPT1", "LPT1_"),
        ("a\u200bb\u202ec", "abc"),
        ("../../etc/passwd", "etc_passwd"),
        ("“暴漫”篡改《囚歌》", "暴漫_篡改《囚歌》"),  # Hexo skips names starting with `_`
        ("_复方脑残片_", "复方脑残片_"),
    ],
)
def test_stem_rule(title, stem):
    assert stem_for(title) == stem


def test_long_stems_are_cut_at_a_character_boundary():
    stem = stem_for("国" * 200)
    assert len(stem.encode()) <= 240 and stem == "国" * 80


def test_rfc1123_is_english_and_gmt():
    moment = datetime(2021, 9, 28, 7, 54, 59).astimezone(UTC)
    assert rfc1123(moment).endswith(" GMT") and rfc1123(moment)[:3] in {
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Sat",
        "Sun",
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=hostile_text, name=hostile_text, site=hostile_text)
def test_hostile_titles_and_names_always_give_valid_files(tmp_path: Path, title, name, site):
    root = tmp_path / "archive"
    with ArchiveWriter(root) as writer:
        result = writer.write(
            Article(
                id=title + name,
                url="https://example.org/a",
                title=title,
                body="<p>x</p>",
                shelf=Shelf(category="金融", site=site, name=name, author="site"),
                date=datetime(2021, 1, 1, tzinfo=UTC),
            )
        )
    path = result.path
    assert path.resolve().is_relative_to(root.resolve())
    assert len(path.name.encode()) <= 255
    assert all(len(part.encode()) <= 255 for part in path.relative_to(root).parts)
    post = frontmatter.loads(path.read_text(encoding="utf-8"))
    assert post["title"] == inert_title(normalize_title(title))
    assert isinstance(post["author"], str)
    assert [str(c) for c in post["categories"]] == post["categories"]
    # no name a theme writes unescaped holds markup
    assert not any(set("<>&\"'`") & set(n) for n in [post["author"], *post["categories"]])


def test_thousand_character_title(tmp_path: Path):
    title = "长" * 1000
    with ArchiveWriter(tmp_path) as writer:
        result = writer.write(
            Article(
                id="1",
                url="https://e.org/",
                title=title,
                body="",
                shelf=Shelf("a", "b", "c"),
                date=datetime(2021, 1, 1, tzinfo=UTC),
            )
        )
    assert frontmatter.load(result.path)["title"] == title
    assert len(result.path.name.encode()) <= 255
