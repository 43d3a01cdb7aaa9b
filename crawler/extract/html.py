"""Finding things in a decoded page with C-speed regular expressions, not a full parse."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from functools import lru_cache

from ..markup import _SPACES, _UNQUOTED, element_end, text_content, tokenize


@dataclass(frozen=True)
class Element:
    name: str
    start: int
    content_start: int
    content_end: int  # the whole rest of the page when the element is never closed
    closed: bool

    def inner(self, html: str) -> str:
        return html[self.content_start : self.content_end]


@dataclass(frozen=True)
class Selector:
    """`<tag …>` with an attribute value (an id, a class, any attribute), or any start-tag
    pattern. The value is looked for with str.find and the tag around it read: a
    case-insensitive pattern over a 150 KB page is many times slower."""

    tag: str
    key: str | None = None  # "id", "class" or another attribute's name
    value: str | None = None
    pattern: re.Pattern | None = None  # instead: any start-tag pattern

    def search(self, html: str, pos: int = 0, endpos: int | None = None) -> int | None:
        """Where the first matching start tag begins, or None."""
        found = self.locate(html, pos, endpos)
        return found[0] if found else None

    def locate(self, html: str, pos: int = 0, endpos: int | None = None) -> tuple[int, int] | None:
        """(where the first matching start tag begins, where the text it was found by ends:
        the value's end, or the pattern match's), or None."""
        end = len(html) if endpos is None else endpos
        if self.value is None:
            m = (self.pattern or _bare_tag(self.tag)).search(html, pos, end)
            return (m.start(), m.end()) if m else None
        size, lt, walk, scanned = len(self.value), -1, None, pos
        at = html.find(self.value, pos, end)
        while at >= 0:
            # A value stands alone in its attribute: cheap to check before reading the tag.
            if (
                html[at - 1 : at] in _BEFORE_VALUE
                and html[at + size : at + size + 1] in _AFTER_VALUE
            ):
                # The tag is the last `<` before the value: looked for since the last value,
                # and read on from where the last value left it.
                if (newer := html.rfind("<", scanned, at)) >= 0:
                    lt, walk = newer, _TagWalk(html, newer, self.tag, self.key)
                scanned = at
                if walk is not None and walk.holds(at, self.value, self.key == "class"):
                    return lt, at + size
            at = html.find(self.value, at + size, end)
        return None


_BEFORE_VALUE = frozenset("\"'= \t\n\r\f")
_AFTER_VALUE = frozenset("\"' \t\n\r\f/>")


class _TagWalk:
    """A start tag read from its `<` as markup.py reads attributes, but only as far as the
    values looked for in it, each from where the last left off: an unterminated tag runs to
    the end of the page, and reading it whole for each value in it is quadratic.

    A value holds when it is the value of the tag's first `key` attribute (a browser ignores
    later ones), or one of its classes, just where it was found."""

    def __init__(self, html: str, lt: int, tag: str, key: str | None):
        self.html, self.key = html, key
        self.pos = lt + 1 + len(tag)  # read up to here
        name = html[lt + 1 : self.pos]
        self.ended = not (  # read no further: not a start tag of that name
            name[:1].isascii()
            and name.lower() == tag
            and html[self.pos : self.pos + 1] in _NAME_END
        )
        self.part = "between"  # where `pos` is: "between" attributes, in a "name", a value
        self.start = -1  # where the current name or value begins
        self.quote = ""  # the current value's quote, if quoted
        self.is_key = False  # the current attribute is the first `key` attribute
        self.key_seen = False

    def holds(self, at: int, value: str, classes: bool) -> bool:
        """Whether `value`, found at `at` (after the values asked about before), holds."""
        self._read_to(at)
        if self.ended or self.pos != at or not self.is_key or self.part not in _VALUE_PARTS:
            return False
        html, end = self.html, at + len(value)
        after = html[end : end + 1]
        if self.part == "unquoted":
            return at == self.start and after in _UNQUOTED_END
        if self.quote in value:
            return False
        if not classes:
            return at == self.start and after in ("", self.quote)
        starts = at == self.start or html[at - 1].isspace()
        return starts and (after in ("", self.quote) or after.isspace())

    def _read_to(self, limit: int) -> None:
        step = {
            "between": self._between,
            "name": self._name,
            "quoted": self._quoted,
            "unquoted": self._unquoted,
        }
        while not self.ended and self.pos < limit:
            step[self.part](limit)

    def _between(self, limit: int) -> None:
        self.pos = _SPACES.match(self.html, self.pos, limit).end()
        if self.pos < limit:
            if self.html[self.pos] == ">":
                self.ended = True
            else:
                self.part, self.start, self.pos = "name", self.pos, self.pos + 1

    def _name(self, limit: int) -> None:
        html = self.html
        self.pos = _NAME_REST.match(html, self.pos, limit).end()
        if self.pos >= limit:
            return
        named = html[self.start : self.pos].lower() == self.key
        self.is_key, self.key_seen = named and not self.key_seen, self.key_seen or named
        at = _WS.match(html, self.pos).end()
        if not html.startswith("=", at):
            self.part = "between"  # no value: what follows the name is read again
            return
        at = _WS.match(html, at + 1).end()
        self.quote = html[at : at + 1] if html[at : at + 1] in ("'", '"') else ""
        self.start = self.pos = at + len(self.quote)
        self.part = "quoted" if self.quote else "unquoted"

    def _quoted(self, limit: int) -> None:
        close = self.html.find(self.quote, self.pos, limit)
        self.pos, self.part = (limit, "quoted") if close < 0 else (close + 1, "between")

    def _unquoted(self, limit: int) -> None:
        self.pos = _UNQUOTED.match(self.html, self.pos, limit).end()
        if self.pos < limit:
            self.part = "between"


_VALUE_PARTS = ("quoted", "unquoted")
_NAME_END = frozenset(["", " ", "\t", "\n", "\r", "\f", "/", ">"])
_UNQUOTED_END = frozenset(["", " ", "\t", "\n", "\r", "\f", ">"])
_NAME_REST = re.compile(r"[^ \t\n\r\f/>=]*")
_WS = re.compile(r"[ \t\n\r\f]*")


@lru_cache(maxsize=64)
def _bare_tag(tag: str) -> re.Pattern:
    return re.compile(r"<" + re.escape(tag) + r"(?=[\s/>])", re.I)


def selector(
    tag: str, *, id: str | None = None, cls: str | None = None, attr: tuple[str, str] | None = None
) -> Selector:
    """`<tag … id=ID>`, `<tag … class="… CLS …">`, `<tag … name=value>` or just `<tag>`."""
    if id is not None:
        return Selector(tag, "id", id)
    if cls is not None:
        return Selector(tag, "class", cls)
    if attr is not None:
        return Selector(tag, attr[0], attr[1])
    return Selector(tag)


def find(html: str, pattern: Selector, start: int = 0, end: int | None = None) -> Element | None:
    """The first element whose start tag matches `pattern`, with where its content ends."""
    at = pattern.search(html, start, end)
    if at is None:
        return None
    tag = next(tokenize(html, start=at))
    closing = element_end(html, tag.name, tag.end)
    content_end = closing[0] if closing else len(html)
    return Element(tag.name, at, tag.end, content_end, closing is not None)


def innermost(html: str, outer: Element, pattern: Selector) -> Element:
    """`outer`, or the first `pattern` element inside it if any, or the first inside that, and
    so on (`pattern` names a value). Each is read only as far as the next one found: ending
    each before looking inside it reads the rest of the page once per level (nested `<td>`s:
    quadratic)."""
    element, closing = outer, None
    while found := pattern.locate(html, element.content_start, element.content_end):
        start, needs = found
        if element is not outer and (
            closing := element_end(html, element.name, element.content_start, needs)
        ):
            break  # it ends before what was found there: `element` is the innermost
        tag = next(tokenize(html, start=start))
        element = Element(tag.name, start, tag.end, len(html), False)  # its end: below
    if element is outer:
        return outer
    closing = closing or element_end(html, element.name, element.content_start)
    content_end = closing[0] if closing else len(html)
    return Element(element.name, element.start, element.content_start, content_end, bool(closing))


def text_of(html: str, pattern: Selector, *, raw: bool = False) -> str:
    """The text of the first matching element ('' if none); `raw` keeps entities undecoded."""
    element = find(html, pattern)
    if element is None:
        return ""
    inner = element.inner(html)
    if raw:
        return " ".join(re.sub(r"<[^<>]*>", " ", inner).split())
    return text_content(inner)


def meta(html: str, name: str) -> str | None:
    """The content of `<meta name|property="name" content="…">`, entities decoded."""
    named = _meta_name(name)
    for m in _META.finditer(html):
        if not named.search(m.group(0), 6):
            continue
        content = re.search(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", m.group(0), re.I)
        if content:
            return htmllib.unescape(content.group(1) or content.group(2) or "").strip()
    return None


# The tag first, then its name: one pattern for both (`<meta\s[^<>]*?name…[^<>]*>`) scans
# to the tag's end from every `name="…"` in it when the tag has no `>`.
_META = re.compile(r"<meta\s[^<>]*>", re.I)


@lru_cache(maxsize=16)
def _meta_name(name: str) -> re.Pattern:
    return re.compile(r"(?:name|property)\s*=\s*[\"']" + re.escape(name) + r"[\"']", re.I)


# A link's text ends at its end tag, or where the next link starts (as a browser reads it):
# no match rescans the rest of the page from every unclosed `<a>`. Tags stop at a `<`.
_LINK = re.compile(r"<a\b[^<>]*>(.*?)(?:</a\s*>|(?=<a\b)|$)", re.I | re.S)


def link_texts(html: str, element: Element | None) -> tuple[str, ...]:
    """The texts of the <a> elements inside an element (keyword lists)."""
    if element is None:
        return ()
    inner = element.inner(html)
    found = (text_content(m.group(1)) for m in re.finditer(_LINK, inner))
    return tuple(dict.fromkeys(t for t in found if t))
