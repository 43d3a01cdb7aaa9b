"""feeds.yaml: what to crawl, loaded once into frozen dataclasses and checked before any request."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from w3lib.url import safe_url_string

from .errors import one_line
from .items import Shelf
from .store.paths import name_key
from .store.state import source_folder

DEFAULT_PAGEID = 155  # the finance rolls; 384 the finance roll page's (README table)
DEFAULT_LID = 1686
# The source types: each is crawled by a navigator (spiders/archive.py NAVIGATORS) and checked
# by one (spiders/check.py CHECKERS); tests/test_config.py holds the three to one set.
SOURCE_TYPES = ("sina", "feed", "sina_live")
# The 7×24 live feed's channel (docs/SINA.md §6): 152 财经; 151 政经, 153 综合, 155 市场,
# 164 国际, 242 行业 (RSSHub's list).
DEFAULT_ZHIBO_ID = 152
LIVE_PAGES = 50  # a sina_live source's default `pages`: 500 flashes (`limit` caps those archived)
# The image store is `<archive>/images/`; with the archive at a Hexo site's source/_posts and
# `include: ["_posts/images/**"]` in its _config.yml, Hexo serves it here.
DEFAULT_IMAGES_URL = "/_posts/images/"

# What a feeds.yaml may hold: every value is checked against these before any request, so a
# wild one is a one-line error naming its spot, never a crash later in a crawl.
MAX_CONFIG_BYTES = 10 * 1024 * 1024
MAX_NAME = 100  # characters of a name, site or category (each is a folder and a category)
MAX_PATH = 4096  # characters of the archive path (PATH_MAX)
MAX_URL = 2083  # Scrapy's URLLENGTH_LIMIT: a longer URL (as sent) is dropped unfetched
MAX_PAGES = 10_000  # roll pages per crawl (50 items each)
MAX_LIMIT = 1_000_000  # new items per source and crawl
RANGES = {  # the whole numbers' ranges, inclusive
    "pageid": (1, 2**31 - 1),
    "lid": (1, 2**31 - 1),
    "zhibo_id": (1, 2**31 - 1),
    "pages": (1, MAX_PAGES),
    "limit": (1, MAX_LIMIT),
}


class ConfigError(Exception):
    """A feeds.yaml problem; the message is one line naming file, source and key."""


@dataclass(frozen=True)
class Source:
    name: str
    site: str
    category: str
    type: str = "feed"  # one of SOURCE_TYPES
    url: str | None = None
    pageid: int = DEFAULT_PAGEID
    lid: int = DEFAULT_LID
    zhibo_id: int = DEFAULT_ZHIBO_ID  # sina_live: the live feed's channel
    pages: int = 1
    limit: int = 50
    clean: bool = False  # parse_config: true for `type: sina` unless set (readable by default)
    author: str = "site"  # "site" | "extracted"
    timezone: str = "Asia/Shanghai"
    full_text: bool = False
    allow_private: bool = False  # links found in content may lead to loopback/private hosts
    enabled: bool = True
    body_format: str = "html"  # "html" | "markdown"
    images: str = "off"  # "keep" | "off"
    rewrite_images: bool = False
    images_url: str = DEFAULT_IMAGES_URL
    tags: str = "off"  # "keywords": the item's keywords as Hexo tags | "off"
    capture: str = "off"  # "warc": each article page's exchange kept as WARC records | "off"
    takedown_notice: bool = False  # a recheck that finds an article gone says so in its post

    @property
    def shelf(self) -> Shelf:
        return Shelf(
            self.category,
            self.site,
            self.name,
            author=self.author,
            clean=self.clean,
            body_format=self.body_format,
            images=self.images == "keep",
            image_url=self.images_url if self.rewrite_images else "",
            tags=self.tags == "keywords",
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Config:
    path: Path
    archive: Path
    sources: tuple[Source, ...]

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def select(self, names: tuple[str, ...] | list[str] = ()) -> list[Source]:
        """The named sources (an unknown name is a ConfigError), or all enabled ones."""
        if not names:
            return [s for s in self.sources if s.enabled]
        known = {s.name for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"{self.path}: no source named {unknown[0]!r} (known: {', '.join(sorted(known))})"
            )
        return [self.source(n) for n in dict.fromkeys(names)]


_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "site": str,
    "category": str,
    "type": str,
    "url": str,
    "pageid": int,
    "lid": int,
    "zhibo_id": int,
    "pages": int,
    "limit": int,
    "clean": bool,
    "author": str,
    "timezone": str,
    "full_text": bool,
    "allow_private": bool,
    "enabled": bool,
    "body_format": str,
    "images": (str, bool),  # YAML reads a bare `off` as false
    "rewrite_images": bool,
    "images_url": str,
    "tags": (str, bool),  # YAML reads a bare `off` as false
    "capture": (str, bool),  # YAML reads a bare `off` as false
    "takedown_notice": bool,
}
_REQUIRED = ("name", "site", "category")
_TOP_LEVEL = {"archive", "defaults", "sources"}
assert set(_TYPES) == {f.name for f in fields(Source)}


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {one_line(exc)}") from None
    return parse_config(_read_yaml(text, path), path)


def _read_yaml(text: str, path: Path) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    except Exception as exc:  # PyYAML's own constructors: an int of 5,000 digits, 2001-02-30
        raise ConfigError(f"{path}: not valid YAML: {one_line(exc)}") from None


def parse_config(data: object, path: Path) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping with 'sources'")
    for key in data:
        if key not in _TOP_LEVEL:
            raise ConfigError(
                f"{path}: unknown key {key!r} (expected one of archive, defaults, sources)"
            )
    archive = data.get("archive", "archive")
    if not isinstance(archive, str) or not archive.strip():
        raise ConfigError(f"{path}: key 'archive' must be a folder path (a string)")
    if problem := text_problem(archive, MAX_PATH):
        raise ConfigError(f"{path}: key 'archive': {problem}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: key 'defaults' must be a mapping of source keys")
    _check_keys(defaults, f"{path}: defaults")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{path}: key 'sources' must be a non-empty list of sources")
    sources: list[Source] = []
    folders: dict[str, Source] = {}  # the archive's state folder of each source
    for index, raw in enumerate(raw_sources):
        source = _parse_source(raw, defaults, f"{path}: sources[{index}]", f"{path}: defaults")
        where = f"{path}: sources[{index}] ({source.name}): key 'name'"
        if any(s.name == source.name for s in sources):
            raise ConfigError(f"{where}: duplicate name")
        folder = name_key(source_folder(source.name))  # one folder on macOS and Windows too
        if (other := folders.get(folder)) is not None:
            raise ConfigError(
                f"{where}: {source.name!r} and {other.name!r} would share the archive folder "
                f"{source_folder(source.name)!r}: rename one"
            )
        folders[folder] = source
        sources.append(source)
    return Config(path=path, archive=(path.parent / archive), sources=tuple(sources))


def _parse_source(raw: object, defaults: dict, where: str, defaults_where: str) -> Source:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a source must be a mapping of keys")
    name = raw.get("name")
    if isinstance(name, str) and name.strip() and text_problem(name, MAX_NAME) is None:
        where = f"{where} ({name})"
    _check_keys(raw, where)
    values = {**defaults, **raw}

    def at(key: str) -> str:
        """Where a key's value was written: the source, or `defaults`."""
        return where if key in raw or key not in defaults else defaults_where

    values.setdefault("clean", values.get("type", "feed") == "sina")
    if values.get("type") == "sina_live":
        values.setdefault("pages", LIVE_PAGES)  # the walk ends at a page all archived
    for key in _REQUIRED:
        if key not in values:
            raise ConfigError(f"{where}: missing required key {key!r}")
    _check_type_and_url(values, raw, where, at)
    _check_names_and_numbers(values, at)
    _check_choices(values, at)
    _check_images(values, at)
    _check_timezone(values, at)
    return Source(**values)


def _check_type_and_url(values: dict, raw: dict, where: str, at) -> None:
    kind = values.get("type", "feed")
    if kind not in SOURCE_TYPES:
        choices = " or ".join(repr(name) for name in SOURCE_TYPES)
        raise ConfigError(f"{at('type')}: key 'type': must be {choices}, not {_shown(kind)}")
    if kind in ("sina", "sina_live") and "url" in raw:
        api = "the roll API" if kind == "sina" else "the 7×24 live feed's API"
        raise ConfigError(
            f"{at('url')}: key 'url': a {kind!r} source takes no url (it reads {api})"
        )
    if kind == "feed":
        url = values.get("url")
        if url is None:
            raise ConfigError(f"{where}: missing required key 'url' for a 'feed' source")
        if problem := url_problem(url):
            raise ConfigError(f"{at('url')}: key 'url': {problem}")


def _check_names_and_numbers(values: dict, at) -> None:
    for key in ("name", "site", "category"):
        if not values[key].strip():
            raise ConfigError(f"{at(key)}: key {key!r}: must not be empty")
        if problem := text_problem(values[key], MAX_NAME):
            raise ConfigError(f"{at(key)}: key {key!r}: {problem}")
    for key, (low, high) in RANGES.items():
        value = values.get(key, low)
        shown = _number(value)
        if value < low:
            raise ConfigError(f"{at(key)}: key {key!r}: must be {low} or more, not {shown}")
        if value > high:
            raise ConfigError(f"{at(key)}: key {key!r}: must be at most {high}, not {shown}")


def _check_choices(values: dict, at) -> None:
    if values.get("author", "site") not in ("site", "extracted"):
        raise ConfigError(f"{at('author')}: key 'author': must be 'site' or 'extracted'")
    if values.get("body_format", "html") not in ("html", "markdown"):
        raise ConfigError(f"{at('body_format')}: key 'body_format': must be 'html' or 'markdown'")
    if values.get("tags", "off") is False:
        values["tags"] = "off"
    if values.get("tags", "off") not in ("keywords", "off"):
        raise ConfigError(f"{at('tags')}: key 'tags': must be 'keywords' or 'off'")
    if values.get("capture", "off") is False:
        values["capture"] = "off"
    if values.get("capture", "off") not in ("warc", "off"):
        raise ConfigError(f"{at('capture')}: key 'capture': must be 'warc' or 'off'")


def _check_images(values: dict, at) -> None:
    images = values.get("images", "off")
    if images is False:
        values["images"] = images = "off"
    if images not in ("keep", "off"):
        raise ConfigError(f"{at('images')}: key 'images': must be 'keep' or 'off'")
    if values.get("rewrite_images") and images != "keep":
        raise ConfigError(f"{at('rewrite_images')}: key 'rewrite_images': needs 'images: keep'")
    images_url = values.get("images_url", DEFAULT_IMAGES_URL)
    if (
        not images_url.startswith(("/", "http://", "https://"))
        or any(c in images_url for c in "\"'<> \t\n")
        or text_problem(images_url, MAX_URL)
    ):
        raise ConfigError(
            f"{at('images_url')}: key 'images_url': must be a URL path starting with '/' (or an "
            f"http(s) URL) of at most {MAX_URL} printable characters, not {_shown(images_url)}"
        )
    values["images_url"] = images_url.rstrip("/") + "/"


def _check_timezone(values: dict, at) -> None:
    timezone = values.get("timezone", "Asia/Shanghai")
    problem = f"{at('timezone')}: key 'timezone': unknown time zone {_shown(timezone)}"
    if text_problem(timezone, MAX_NAME):
        raise ConfigError(problem)
    try:
        ZoneInfo(timezone)
    # Not found is a KeyError; a folder (America), a name too long for a file or a path is an
    # OSError or a ValueError.
    except (KeyError, ValueError, OSError):
        raise ConfigError(problem) from None


def text_problem(text: str, max_chars: int) -> str | None:
    """Why `text` cannot be a name, a path or a URL the archive keeps, or None: too long, or
    holding what is not text (a lone surrogate, which no file can encode; a non-character; a
    control character or line break, which would break a line of the archive's files)."""
    if len(text) > max_chars:
        return f"longer than {max_chars} characters ({len(text)})"
    for at, char in enumerate(text):
        code = ord(char)
        if (
            unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
            or 0xFDD0 <= code <= 0xFDEF
            or code & 0xFFFE == 0xFFFE
        ):
            return f"character {at + 1} (U+{code:04X}) is a control, surrogate or non-character"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` (typed by the user) cannot be fetched, or None: checked before any request,
    so a bad one is a one-line error and never a crash in the middle of a crawl."""
    shown = _shown(url)
    if problem := text_problem(url, MAX_URL):
        return f"{shown} is not a valid URL ({problem})"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range or not a number
    except ValueError as exc:
        return f"{shown} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL, not {shown}"
    if port == 0:
        return f"{shown} is not a valid URL (Port out of range 1-65535)"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return f"{shown} is not a valid URL (white space or a control character)"
    try:
        parts.hostname.encode("idna")
        sent = safe_url_string(url)  # as Scrapy sends it: non-ASCII percent-encoded
    except (UnicodeError, ValueError):
        return f"{shown} is not a valid URL (bad host name)"
    if len(sent) > MAX_URL:
        return f"{shown} is not a valid URL (longer than {MAX_URL} characters as sent)"
    return None


def _check_keys(mapping: dict, where: str) -> None:
    for key, value in mapping.items():
        if key not in _TYPES:
            raise ConfigError(f"{where}: unknown key {key!r}")
        expected = _TYPES[key]
        # YAML's `true` is an int to Python: a bool is never a number here.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(
                f"{where}: key {key!r}: must be {_TYPE_NAMES[expected]}, not {_describe(value)}"
            )


_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    (str, bool): "a string",
}


def _describe(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"{type(value).__name__} of {len(str(abs(value)))} digits"
    return f"{type(value).__name__} {value!r}"[:60]


def _number(value: int) -> str:
    """A whole number as a message shows it: a huge one by its count of digits."""
    return str(value) if abs(value) < 10**20 else f"a number of {len(str(abs(value)))} digits"


def _shown(value: object) -> str:
    """A value as a message shows it: quoted, escaped, at most 200 characters."""
    return repr(value) if len(str(value)) <= 200 else repr(str(value)[:200] + "…")
