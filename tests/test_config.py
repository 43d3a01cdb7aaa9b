"""feeds.yaml: every error is one line naming the file, the source and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import SOURCE_TYPES, ConfigError, load_config
from crawler.spiders.archive import NAVIGATORS
from crawler.spiders.check import CHECKERS

ROOT = Path(__file__).parent.parent
SINA = "  - {name: 新浪, site: 新浪财经, category: 金融, type: sina}\n"
FEED = "  - {name: 知乎日报, site: 知乎, category: 社交媒体, type: feed, url: 'https://e.org/f'}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_feeds_yaml_is_the_sina_domestic_roll():
    config = load_config(ROOT / "feeds.yaml")
    (source,) = config.sources
    assert (source.name, source.site, source.category) == ("新浪财经－国內", "新浪财经", "金融")
    assert (source.type, source.lid, source.pages, source.limit) == ("sina", 1686, 1, 50)
    assert config.archive == ROOT / "archive"


def test_every_source_type_is_crawled_and_checked_by_a_navigator():
    """A type feeds.yaml accepts that no navigator crawls would fail only mid-crawl; a
    navigator for a type feeds.yaml refuses would be dead code (docs/EXTENDING.md)."""
    assert set(SOURCE_TYPES) == set(NAVIGATORS) == set(CHECKERS)


def test_defaults_apply_and_sources_win(tmp_path: Path):
    config = load_config(
        write(
            tmp_path,
            "defaults: {limit: 7, clean: true}\nsources:\n"
            + SINA
            + "  - {name: b, site: s, category: c, url: 'http://x/f', limit: 3}\n",
        )
    )
    assert [(s.limit, s.clean, s.type) for s in config.sources] == [
        (7, True, "sina"),
        (3, True, "feed"),
    ]
    assert config.archive == tmp_path / "archive"


def test_sina_sources_are_clean_unless_they_say_otherwise(tmp_path: Path):
    config = load_config(
        write(
            tmp_path,
            "sources:\n"
            + SINA
            + "  - {name: b, site: s, category: c, type: sina, clean: false}\n"
            + "  - {name: c, site: s, category: c, url: 'http://x/f'}\n",
        )
    )
    assert [(s.type, s.clean) for s in config.sources] == [
        ("sina", True),
        ("sina", False),
        ("feed", False),
    ]


def test_tags_are_keywords_or_off(tmp_path: Path):
    config = load_config(
        write(
            tmp_path,
            "sources:\n  - {name: a, site: s, category: c, type: sina, tags: keywords}\n"
            "  - {name: b, site: s, category: c, type: sina, tags: off}\n" + SINA,
        )
    )
    assert [s.shelf.tags for s in config.sources] == [True, False, False]
    with pytest.raises(ConfigError, match="key 'tags': must be 'keywords' or 'off'"):
        load_config(
            write(
                tmp_path, "sources:\n  - {name: a, site: s, category: c, type: sina, tags: yes}\n"
            )
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sources:\n"
            "  - {name: 知乎日报, site: s, category: c, url: 'http://x/', ful_text: true}\n",
            "sources[0] (知乎日报): unknown key 'ful_text'",
        ),
        (
            "sources:\n  - {name: a, category: c, type: sina}\n",
            "sources[0] (a): missing required key 'site'",
        ),
        (
            "sources:\n" + SINA + "  - {name: b, site: s, category: c, type: sina, lid: '1686'}\n",
            "sources[1] (b): key 'lid': must be a whole number",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, pages: true}\n",
            "sources[0] (a): key 'pages': must be a whole number",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, clean: 'yes please'}\n",
            "sources[0] (a): key 'clean': must be true or false",
        ),
        ("sources:\n" + SINA + SINA, "sources[1] (新浪): key 'name': duplicate name"),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, url: 'http://x/'}\n",
            "sources[0] (a): key 'url': a 'sina' source takes no url",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: feed}\n",
            "sources[0] (a): missing required key 'url'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, url: 'file:///etc/passwd'}\n",
            "sources[0] (a): key 'url': must be an http(s) URL",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: rss, url: 'http://x/'}\n",
            "sources[0] (a): key 'type': must be 'sina' or 'feed'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, timezone: Mars/Base}\n",
            "sources[0] (a): key 'timezone': unknown time zone",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, author: me}\n",
            "sources[0] (a): key 'author': must be 'site' or 'extracted'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, pages: 0}\n",
            "sources[0] (a): key 'pages': must be 1 or more",
        ),
        (
            "sources:\n  - {site: s, category: c, type: sina}\n",
            "sources[0]: missing required key 'name'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, images: true}\n",
            "sources[0] (a): key 'images': must be 'keep' or 'off'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, rewrite_images: true}\n",
            "sources[0] (a): key 'rewrite_images': needs 'images: keep'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, images_url: img/}\n",
            "sources[0] (a): key 'images_url': must be a URL path starting with '/'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, body_format: md}\n",
            "sources[0] (a): key 'body_format': must be 'html' or 'markdown'",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, url: 'https://e.org:99999/f'}\n",
            "sources[0] (a): key 'url': 'https://e.org:99999/f' is not a valid URL (Port out of",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, url: 'http://[::1/f'}\n",
            "sources[0] (a): key 'url': 'http://[::1/f' is not a valid URL (Invalid IPv6 URL)",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, url: 'http://e.org:0/'}\n",
            "sources[0] (a): key 'url': 'http://e.org:0/' is not a valid URL (Port out of",
        ),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, allow_private: 1}\n",
            "sources[0] (a): key 'allow_private': must be true or false",
        ),
        ("defaults: {limt: 5}\nsources:\n" + SINA, "defaults: unknown key 'limt'"),
        (
            "sources:\n  - {name: a, site: s, category: c, type: sina, pageid: 0}\n",
            "sources[0] (a): key 'pageid': must be 1 or more, not 0",
        ),
        (
            "defaults: {timezone: Mars/Olympus}\nsources:\n" + SINA,
            "defaults: key 'timezone': unknown time zone 'Mars/Olympus'",
        ),
        ("sourcez: []\n", "unknown key 'sourcez'"),
        ("sources: []\n", "key 'sources' must be a non-empty list"),
        ("sources:\n  - just a string\n", "sources[0]: a source must be a mapping"),
        ("sources: [\n", "not valid YAML"),
        ("", "must be a mapping"),
    ],
)
def test_each_error_names_the_spot(tmp_path: Path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_select_by_name(tmp_path: Path):
    config = load_config(write(tmp_path, "sources:\n" + SINA + FEED))
    assert [s.name for s in config.select(["知乎日报"])] == ["知乎日报"]
    with pytest.raises(ConfigError, match="no source named 'x'"):
        config.select(["x"])


def test_image_and_body_keys_reach_the_shelf(tmp_path: Path):
    config = load_config(
        write(
            tmp_path,
            "defaults: {images: keep, body_format: markdown}\nsources:\n"
            "  - {name: a, site: s, category: c, type: sina, rewrite_images: true,"
            " images_url: /img}\n"
            "  - {name: b, site: s, category: c, type: sina, images: off}\n",
        )
    )
    a, b = (source.shelf for source in config.sources)
    assert (a.images, a.image_url, a.body_format) == (True, "/img/", "markdown")
    assert (b.images, b.image_url, b.rewrites_images) == (False, "", False)
