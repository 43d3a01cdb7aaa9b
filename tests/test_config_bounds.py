"""Bad input is one line and exit 2, before any request: every value feeds.yaml or the command
line gives is checked for its type, its range and its length (issue 28)."""

from __future__ import annotations

from pathlib import Path

import pytest

import crawler.run
from crawler.cli import main
from crawler.config import load_config
from crawler.store.state import source_folder

FEED = "http://127.0.0.1:9/feed.xml"  # never fetched: the run functions refuse below


def source(**keys: str) -> str:
    """One feed source as YAML, `keys` (YAML text each) added or replacing; a `type: sina`
    source has no url."""
    values = {"name": "a", "site": "s", "category": "c", "url": FEED, **keys}
    if values.get("type") == "sina":
        del values["url"]
    return "  - " + "\n    ".join(f"{key}: {value}" for key, value in values.items()) + "\n"


def feeds(*sources: str) -> str:
    return "sources:\n" + "".join(sources or (source(),))


# Two names of the same safe stem whose hashes meet in their first eight digits: the same
# state folder under any rule that hashes a changed name (found by a birthday search).
TWINS = ("a??<|:?<|", "a?*???|<|")
BIG = "1" + "0" * 30

BAD_FEEDS = {
    "nested-1000-deep": ("sources: " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    "timezone-a-folder": (feeds(source(timezone="America")), "unknown time zone 'America'"),
    "timezone-300-chars": (feeds(source(timezone="A" * 300)), "key 'timezone': unknown"),
    "timezone-in-defaults": (
        "defaults: {timezone: Europe}\n" + feeds(),
        "defaults: key 'timezone': unknown time zone 'Europe'",
    ),
    "name-lone-surrogate": (feeds(source(name='"a\\ud800"')), "key 'name': character 2 (U+D800)"),
    "name-non-character": (feeds(source(name='"a\\ufdd0"')), "key 'name': character 2 (U+FDD0)"),
    "name-noncharacter-ffff": (feeds(source(name='"\\uffff"')), "(U+FFFF) is a control"),
    "name-escape-character": (feeds(source(name='"a\\e"')), "key 'name': character 2 (U+001B)"),
    "name-line-separator": (feeds(source(name='"a\\Lb"')), "key 'name': character 2 (U+2028)"),
    "site-newline": (feeds(source(site='"a\\nb"')), "key 'site': character 2 (U+000A)"),
    "category-101-chars": (feeds(source(category="x" * 101)), "key 'category': longer than 100"),
    "folder-twins": (
        feeds(source(name=repr(TWINS[0])), source(name=repr(TWINS[1]))),
        f"{TWINS[1]!r} and {TWINS[0]!r} would share the archive folder",
    ),
    "folder-case-twins": (  # one folder on a case-insensitive, normalizing checkout
        feeds(source(name="café"), source(name='"Cafe\\u0301"')),  # NFC; NFD and a capital
        "would share the archive folder",
    ),
    "pages-10001": (feeds(source(type="sina", pages="10001")), "at most 10000"),
    "limit-huge": (
        feeds(source(limit=BIG)),
        "key 'limit': must be at most 1000000, not a number of 31 digits",
    ),
    "lid-2**31": (feeds(source(type="sina", lid=str(2**31))), "key 'lid': must be at"),
    "pageid-5000-digits": (feeds(source(pageid="1" * 5000)), "not valid YAML: ValueError"),
    "impossible-date": (feeds(source(name="2001-02-30")), "not valid YAML: ValueError"),
    "bad-octal": (feeds(source(limit="!!int 0o9")), "not valid YAML: ValueError"),
    "url-3000-chars": (feeds(source(url=f"{FEED}?{'q' * 3000}")), "longer than 2083"),
    "url-long-once-encoded": (feeds(source(url=f"{FEED}?{'值' * 300}")), "2083 characters as sent"),
    "url-lone-surrogate": (feeds(source(url=f'"{FEED}\\udcff"')), "is not a valid URL (charac"),
    "images-url-control": (
        feeds(source(images="keep", images_url='"/img\\x7f"')),
        "key 'images_url': must be a URL path",
    ),
    "archive-nul": ('archive: "a\\0b"\n' + feeds(), "key 'archive': character 2 (U+0000)"),
    "archive-4097-chars": (f"archive: {'a' * 4097}\n" + feeds(), "key 'archive': longer than"),
}


# Refused before issue 28 too, kept refused: a wrong type, or a value YAML reads as no number.
STILL_REFUSED = {
    "timezone-a-path": (feeds(source(timezone="../../etc/passwd")), "unknown time zone"),
    "timezone-empty": (feeds(source(timezone="''")), "unknown time zone ''"),
    "limit-inf": (feeds(source(limit=".inf")), "key 'limit': must be a whole number, not float"),
    "limit-nan": (feeds(source(limit=".nan")), "key 'limit': must be a whole number, not float"),
    "limit-true": (feeds(source(limit="true")), "key 'limit': must be a whole number, not bool"),
    "limit-negative-huge": (
        feeds(source(limit="-" + BIG)),
        "must be 1 or more, not a number of 31 digits",
    ),
}


@pytest.fixture
def no_request(monkeypatch):
    """A run that gets as far as fetching fails the test (and is no crawl of the reactor)."""

    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached a run: it must be refused before any request")

    for name in ("run_crawl", "run_check", "run_fetch"):
        monkeypatch.setattr(crawler.run, name, refuse)


def one_line_exit(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("crawler: error: ") and "internal error" not in err, err
    return exit_.value.code, err


@pytest.mark.parametrize(
    ("text", "message"),
    [*BAD_FEEDS.values(), *STILL_REFUSED.values()],
    ids=[*BAD_FEEDS, *STILL_REFUSED],
)
@pytest.mark.parametrize("command", ["crawl", "check"])
def test_a_bad_feeds_yaml_is_one_line_and_exit_2(
    tmp_path: Path, capsys, no_request, command, text, message
):
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, err = one_line_exit([command, "-c", str(path), "--archive", str(tmp_path / "a")], capsys)
    assert code == 2 and err.startswith(f"crawler: error: {path}: ") and message in err, err
    assert len(err) < 600, err


def test_a_feeds_yaml_over_10_mib_is_not_read(tmp_path: Path, capsys, no_request):
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds() + "#" * 10 * 2**20, encoding="utf-8")
    code, err = one_line_exit(["check", "-c", str(path)], capsys)
    assert code == 2 and "larger than 10 MiB" in err


def test_a_name_that_looks_hashed_has_a_folder_of_its_own(tmp_path: Path):
    """`x?` is stored as `x__149e36e6`: a source named `x__149e36e6` gets a hash of its own."""
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds(source(name="'x?'"), source(name="x__149e36e6")), encoding="utf-8")
    assert len(load_config(path).sources) == 2
    assert source_folder("x?") != source_folder("x__149e36e6")


LONG = "a" * 300  # a file name longer than any file system takes
BAD_ARGUMENTS = {
    "crawl-limit-huge": (["crawl", "--limit", BIG], "'--limit': 1000"),
    "crawl-pages-10001": (["crawl", "--pages", "10001"], "'--pages': 10001 is not in the range"),
    "crawl-wait-nan": (["crawl", "--wait", "nan"], "'--wait': nan is not a number"),
    "crawl-wait-inf": (["crawl", "--wait", "inf"], "'--wait': inf is not in the range"),
    "write-wait-nan": (["write", "--redis", "redis://h/0", "--wait", "nan"], "nan is not a"),
    "crawl-redis-http": (
        ["crawl", "--redis", "http://127.0.0.1:1/0"],
        "must be a redis://, rediss:// or unix:// URL, not 'http://127.0.0.1:1/0'",
    ),
    "write-redis-http": (["write", "--redis", "http://127.0.0.1:1/0"], "must be a redis://"),
    "redis-port": (["crawl", "--redis", "redis://h:99999/0"], "(Port out of range 0-65535)"),
    "redis-ipv6": (["crawl", "--redis", "redis://[::1/0"], "(Invalid IPv6 URL)"),
    "redis-database": (["crawl", "--redis", "redis://h/zero"], "its path is a database number"),
    "redis-unix-no-path": (["write", "--redis", "unix://"], "unix:// needs the socket's path"),
    "search-limit-huge": (["archive", "search", "x", "--limit", BIG], "'--limit': 1000"),
    "search-undecodable": (["archive", "search", "\udcff"], "'\\udcff' is not text"),
    "show-undecodable": (["archive", "show", "a\udcff.md"], "'a\\udcff.md' is not text"),
    "fetch-url-undecodable": (["fetch", "http://e.org/\udcff"], "fetch: 'http://e.org/\\udcff'"),
    "fetch-category-empty": (
        ["fetch", "http://e.org/", "--category", " ", "--site", "s", "--name", "n"],
        "'--category': must not be empty",
    ),
    "fetch-site-newline": (
        ["fetch", "http://e.org/", "--category", "c", "--site", "a\nb", "--name", "n"],
        "'--site': character 2 (U+000A)",
    ),
    "fetch-name-undecodable": (
        ["fetch", "http://e.org/", "--category", "c", "--site", "s", "--name", "\udcff"],
        "'--name': character 1 (U+DCFF)",
    ),
    "crawl-archive-name-too-long": (["crawl", "--archive", LONG], "not a usable archive path"),
    "crawl-archive-below-too-long": (
        ["crawl", "--archive", f"{LONG}/x"],
        "not a usable archive path: File name too long",
    ),
    "list-archive-name-too-long": (["archive", "list", "--archive", LONG], "not a usable"),
    "config-name-too-long": (["check", "-c", LONG], "cannot be read: OSError"),
}


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_a_bad_argument_is_one_line_and_exit_2(tmp_path: Path, capsys, no_request, args, message):
    config = tmp_path / "feeds.yaml"
    config.write_text(feeds(), encoding="utf-8")
    if "-c" not in args and args[0] != "archive":
        args = [*args, "-c", str(config)]
    elif "--archive" not in args:  # an archive to look in, so that the argument is used
        (tmp_path / "archive").mkdir()
        with pytest.raises(SystemExit):
            main(["archive", "reindex", "--archive", str(tmp_path / "archive")])
        capsys.readouterr()
        args = [*args, "--archive", str(tmp_path / "archive")]
    code, err = one_line_exit(args, capsys)
    assert code == 2 and message in err, err


def test_images_keep_in_a_scaled_out_crawl_is_refused_before_connecting(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(feeds(source(images="keep")), encoding="utf-8")
    args = ["crawl", "-c", str(config), "--redis", "redis://127.0.0.1:1/0"]
    code, err = one_line_exit(args, capsys)
    assert code == 2
    assert err == "crawler: error: a: 'images: keep' is not supported by a scaled-out crawl yet\n"
