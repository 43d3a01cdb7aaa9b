"""Front-matter fields: normalization and quoting exactly as docs/FORMAT.md gives them."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache

import yaml

# Characters YAML cannot hold or that break a line: C0 but tab, DEL, C1, the Unicode line
# and paragraph separators, BOM; plus lone surrogates and the two non-characters YAML refuses.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
# White space folds to one space: ASCII white space and the Unicode space separators, but
# not U+3000 (typography, not spacing). The separators Python also calls space (U+001C–1F,
# NEL, U+2028/2029) are control characters here, and go.
_WHITE = re.compile("[ \t\n\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f]+")


def normalize_title(raw: str) -> str:
    """Entities decoded, white space folded, trimmed, control characters removed."""
    text = _WHITE.sub(" ", html.unescape(raw))
    return _CONTROL.sub("", text).strip(" \u3000")


def normalize_name(raw: str) -> str:
    """Categories, site, source name, author: the same cleaning as titles, minus entities."""
    return _CONTROL.sub("", _WHITE.sub(" ", raw)).strip(" ")


# A theme or helper may write a name (category, author) or a title into the page unescaped:
# Hexo's list_categories does with every category, list_posts with every title. A name's
# markup characters become their full-width look-alikes; a title keeps its quotes (every
# title sink Hexo and landscape write escapes them) and loses only a `<` that opens markup.
MARKUP_CHARACTERS = re.compile(r"[<>&\"'`]")  # what a raw sink could read as markup
_LOOK_ALIKE = str.maketrans({"<": "＜", ">": "＞", "&": "＆", '"': "＂", "'": "＇", "`": "｀"})
_MARKUP_OPENER = re.compile(r"<(?=[A-Za-z/!?])")


def inert_name(raw: str) -> str:
    """A name cleaned (normalize_name) with `<>&"'` and backtick as full-width look-alikes."""
    return normalize_name(raw).translate(_LOOK_ALIKE)


def inert_title(title: str) -> str:
    """A normalized title whose `<` before a letter, `/`, `!` or `?` is `＜`."""
    return _MARKUP_OPENER.sub("＜", title)


def quote_title(title: str) -> str:
    """Rules 1–3: single quotes, else double quotes, else single quotes with `'` doubled."""
    if "'" not in title:
        return f"'{title}'"
    if '"' not in title and "\\" not in title:
        return f'"{title}"'
    return single_quoted(title)


def single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Plain scalars js-yaml 4 (Hexo's front-matter reader, YAML 1.2 core schema plus timestamps
# and merge keys) reads as something other than a string, where PyYAML (YAML 1.1) may read a
# string: `1e3`, `0o17`, `+.INF`. Underscores in numbers as older js-yaml 4 releases read them.
_JS_YAML_NOT_STRING = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|<<"
    r"|[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+)"
    r"|[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?"
)


@lru_cache(maxsize=1024)
def plain_or_quoted(text: str, *, key: str | None = None) -> str:
    """Plain when the plain scalar loads back as the same string where it stands, for PyYAML
    and for js-yaml alike (cached: a source's names repeat in every file)."""
    if _JS_YAML_NOT_STRING.fullmatch(text):
        return single_quoted(text)
    if text and not _CONTROL.search(text) and "\n" not in text:
        doc = f"{key}: {text}" if key else f"- {text}"
        expected = {key: text} if key else [text]
        try:
            if yaml.safe_load(doc) == expected:
                return text
        except yaml.YAMLError:
            pass
    return single_quoted(text)


def clean_url(url: str) -> str:
    """An image URL for the front matter: browsers drop tabs and newlines from URLs anyway."""
    return _CONTROL.sub("", url.replace("\t", "")).strip()


_PASTE_BREAKERS = str.maketrans({'"': "%22", "<": "%3C", ">": "%3E", "`": "%60"})


def inert_url(url: str) -> str:
    """The picture's URL as themes paste it into markup (`<img src="<%- headimg %>">`): its
    double quotes, angle brackets and backticks percent-encoded, as a browser encodes them in an
    http(s) URL anyway (the body's own URLs are checked to parse that way: edit 1)."""
    return url.translate(_PASTE_BREAKERS)


def rfc1123(moment: datetime) -> str:
    """`Mon, 27 Sep 2021 23:54:59 GMT`, in English whatever the locale."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in the archive: give it a zone")
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)
