"""The fuzz targets of tests/fuzz_targets.py in the suite: each pure layer under a bounded,
derandomized Hypothesis run (inputs made of its dictionary's words, and for the JSON and YAML
layers of hostile values in their own keys), and every saved find replayed.

A find is kept as a file in tests/cases/fuzz/<target>/, its raw input bytes, named by what it
is (`roll-intime-infinity.json`); the replay test runs it through its target. Longer runs:
scripts/fuzz_atheris.py TARGET --seconds N.
"""

from __future__ import annotations

import encodings.aliases
import json

import pytest
import yaml
from fuzz_targets import CASES, TARGETS, tokens
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Bounded for the in-process lane: the whole file runs in well under a minute.
EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def made_of(target: str, size: int = 30) -> st.SearchStrategy[bytes]:
    """Bytes made of the target's dictionary words, stray text and stray bytes."""
    piece = st.one_of(
        st.sampled_from(tokens(target)),
        st.sampled_from(tokens(target)),
        st.text(max_size=6).map(_utf8),
        st.binary(max_size=4),
    )
    return st.lists(piece, max_size=size).map(b"".join)


HOSTILE_STRINGS = (
    "",
    " ",
    "²",
    "١٢",
    "\ud800",
    "\x00",
    "Infinity",
    "1e999",
    "http://[x",
    "http://[::1",
    "//[x",
    "http://a℀b/",
    "javascript:alert(1)",
    "https://finance.sina.com.cn/roll/2024-01-02/doc-inaaaaaa0009.shtml",
    "https://example.com/x.png",
    "2024-01-02T03:04:05Z",
    "9999-12-31T23:59:59Z",
    "comos:x",
    "America",
    "A" * 300,
    "../../etc",
)
ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=10**40),
    st.floats(),
    st.sampled_from([float("inf"), float("nan"), 1e300, 253402300800, -62135596800]),
    st.text(max_size=8),
    st.sampled_from(HOSTILE_STRINGS),
)


def json_values(keys: tuple[str, ...]) -> st.SearchStrategy:
    return st.recursive(
        ATOMS,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(keys) | st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=8,
    )


def json_object(keys: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """A JSON object with some of `keys`, any values (NaN and Infinity too)."""
    return st.dictionaries(st.sampled_from(keys), json_values(keys), max_size=len(keys)).map(
        lambda d: json.dumps(d).encode()
    )


ROLL_KEYS = ("url", "wapurl", "docid", "title", "stitle", "intime", "ctime", "media_name")
ROLL_KEYS += ("media", "author", "keywords")
LIVE_KEYS = ("id", "rich_text", "create_time", "update_time", "tag", "name", "ext", "stocks")
LIVE_KEYS += ("market", "symbol", "key", "docurl", "multimedia", "is_delete")
SLIDE_KEYS = ("slide", "images", "title", "long_title", "intro", "createtime", "download_img")
SLIDE_KEYS += ("image_url", "thumb_160")
FEED_KEYS = ("id", "url", "title", "image", "banner_image", "authors", "author", "name")
FEED_KEYS += ("tags", "date_published", "date_modified", "content_html", "content_text")
FEED_KEYS += ("summary",)
RSS_ITEM = st.lists(
    st.tuples(
        st.sampled_from(["guid", "link", "title", "pubDate", "description", "category"]),
        st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=8),
    ),
    max_size=4,
).map(
    lambda fields: _utf8(
        "<item>"
        + "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in fields)
        + '<enclosure url="http://[oops/x.png" type="image/png"/>' * (len(fields) % 2)
        + "</item>"
    )
)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


STATE_KEYS = ("source", "folder", "fields", "item_id", "url", "path", "title", "date")
STATE_KEYS += ("date_guessed", "author", "keywords", "fetched_at", "sha256", "flags", "images")
STATE_KEYS += ("payload", "attempts", "given_up", "reason", "last_error", "etag")
STATE_KEYS += ("last_modified", "id", "fetched", "sha", "name", "versions", "gone")
ITEM_FIELDS = list(STATE_KEYS[3:15])  # the lines of the versions before (state._V1_FIELDS)
ITEM_FIELDS_NOW = ["id", "url", "title", "date", "author", "keywords", "fetched", "sha"]
ITEM_FIELDS_NOW += ["images", "flags", "name", "versions", "gone"]
TEXT = st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=8)
# A line of the fields written now, each of a type its field takes (a short form or not).
ITEM_LINE = st.tuples(
    st.sampled_from([0, 1, 7, 14, 10**6, "x", ["x"]]) | TEXT,
    TEXT,
    TEXT,
    st.sampled_from([1_700_000_000, -62135596800, 253402300799, 10**20]) | TEXT,
    TEXT,
    st.lists(TEXT, max_size=2),
    st.sampled_from([0, -5, 10**20]) | TEXT,
    st.sampled_from(["=", "=x", "A" * 43, "_" * 43, "A" * 42]) | TEXT,
    st.lists(TEXT, max_size=2),
    st.lists(st.sampled_from(["guessed", "adopted", "sanitized", "x"]), max_size=3),
    st.sampled_from(["", "a.md", "a/b.md", ["c.md"], ["/"]]) | TEXT,
    st.lists(  # earlier versions: [fetched, sha, title], or anything
        st.tuples(
            st.sampled_from([1_700_000_000, 10**20, "2024-01-01T00:00:00+00:00"]) | TEXT,
            st.sampled_from(["A" * 43, "=x"]) | TEXT,
            TEXT,
        ).map(list)
        | TEXT,
        max_size=2,
    ),
    st.sampled_from([[], [1_700_000_000, "HTTP 404"], [10**20, "x"], ["x"], "x"]),
).flatmap(lambda line: st.integers(8, 13).map(lambda n: json.dumps(list(line[:n]))))
# A month file of the fields written now: its header, then lines of any of them.
MONTH_FILE = st.tuples(
    st.fixed_dictionaries(
        {
            "source": TEXT,
            "folder": st.sampled_from(HOSTILE_STRINGS),
            "fields": st.just(ITEM_FIELDS_NOW),
        }
    ).map(json.dumps),
    st.lists(ITEM_LINE, min_size=1, max_size=5),
).map(lambda file: "\n".join([file[0], *file[1]]).encode())
STATE_LINES = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"source": json_values(STATE_KEYS), "folder": st.sampled_from(HOSTILE_STRINGS)},
            optional={"fields": st.sampled_from([ITEM_FIELDS, ITEM_FIELDS_NOW])},
        ).map(json.dumps),
        st.lists(json_values(STATE_KEYS), min_size=12, max_size=12).map(json.dumps),
        ITEM_LINE,
        ITEM_LINE,
        json_object(STATE_KEYS).map(bytes.decode),
        st.just('{"source":"s","item_id":"i","url":"u","payload":{},"attempts":3,"last_error":""}'),
    ),
    max_size=6,
).map(lambda lines: "\n".join(lines).encode())

CONFIG_KEYS = ("name", "site", "category", "type", "url", "timezone", "pageid", "lid")
CONFIG_KEYS += ("pages", "limit", "images", "rewrite_images", "images_url", "tags", "clean")
CONFIG_VALUES = st.one_of(
    ATOMS.filter(lambda v: v == v),  # YAML has no NaN that equals itself either
    st.sampled_from(["sina", "feed", "keep", "off", "keywords", "UTC", "Asia/Shanghai", "/"]),
    st.lists(st.text(max_size=3), max_size=2),
)
CONFIG = st.fixed_dictionaries(
    {
        "sources": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["a", "b"]) | CONFIG_VALUES, "site": st.just("s")},
                optional={k: CONFIG_VALUES for k in CONFIG_KEYS[2:]},
            ),
            max_size=2,
        )
    },
    optional={"archive": CONFIG_VALUES, "defaults": st.dictionaries(st.just("timezone"), ATOMS)},
).map(lambda d: yaml.safe_dump(d, allow_unicode=False).encode())

CHARSETS = sorted(set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()))
SINA_PAGE = (
    '<html><head><meta charset="{}"><title>t</title></head><body><h1 class="main-title">'
    '\0</h1><span class="date">2024年01月02日 10:00</span><div id="artibody">\0</div>'
    "</body></html>"
)
PAGE = st.tuples(
    st.sampled_from(CHARSETS) | st.sampled_from(["idna", "punycode", "undefined", "x"]),
    made_of("page", 12),
    made_of("page", 12),
).map(lambda parts: _page(*parts))


def _page(charset: str, title: bytes, body: bytes) -> bytes:
    """A Sina page (family D) declaring `charset`, with this title and body text."""
    before, middle, after = _utf8(SINA_PAGE.format(charset)).split(b"\0")
    return before + title + middle + body + after


STRATEGIES: dict[str, st.SearchStrategy[bytes]] = {
    "urls": made_of("urls", 12),
    "markup": made_of("markup"),
    "body": made_of("body"),
    "hexo_syntax": made_of("hexo_syntax"),
    "feed": st.one_of(json_object(FEED_KEYS), RSS_ITEM, made_of("feed")),
    "roll": st.one_of(json_object(ROLL_KEYS), made_of("roll")),
    "page": st.one_of(PAGE, made_of("page")),
    "media": st.one_of(json_object(SLIDE_KEYS), made_of("media")),
    "live": st.one_of(json_object(LIVE_KEYS), made_of("live")),
    "state": st.one_of(STATE_LINES, MONTH_FILE, made_of("state")),
    "config": st.one_of(CONFIG, made_of("config")),
    "paths": st.one_of(made_of("paths"), st.text().map(_utf8)),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target(target):
    """The target's invariant holds on a bounded, reproducible run of generated inputs."""

    @FUZZ
    @given(STRATEGIES[target])
    def run(data: bytes) -> None:
        TARGETS[target](data)

    run()


SAVED = sorted(path for path in CASES.glob("*/*") if path.is_file())


@pytest.mark.parametrize("case", SAVED, ids=[f"{p.parent.name}/{p.name}" for p in SAVED])
def test_saved_find(case):
    """Every find kept in tests/cases/fuzz/<target>/ passes its target now."""
    TARGETS[case.parent.name](case.read_bytes())


def test_every_target_has_a_strategy_and_a_dictionary():
    assert set(STRATEGIES) == set(TARGETS)
    assert all(tokens(name) for name in TARGETS)
    assert {p.parent.name for p in SAVED} <= set(TARGETS)
