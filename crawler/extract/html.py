"""Finding things in a decoded page with C-speed regular expressions, not a full parse."""

from __future__ import annotations

import codecs
import html as htmllib
import re
from dataclasses import dataclass
from functools import lru_cache

from ..markup import Tag, element_end, text_content, tokenize

# GB2312 and GBK pages hold characters only GB18030 (their superset) decodes.
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cp936": "gb18030",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Text of an HTML page: BOM, then the HTTP header, then <meta>, else UTF-8."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(codec, "replace")
    names = []
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        names.append(m.group(1))
    if m := _META_CHARSET.search(body[:4096]):
        names.append(m.group(1).decode("ascii", "replace"))
    for name in names:
        codec = _CHARSET_ALIASES.get(name.lower(), name.lower())
        try:
            return body.decode(codecs.lookup(codec).name, "replace")
        except LookupError:
            continue
    return body.decode("utf-8", "replace")


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
        end = len(html) if endpos is None else endpos
        if self.value is None:
            m = (self.pattern or _bare_tag(self.tag)).search(html, pos, end)
            return m.start() if m else None
        size = len(self.value)
        at = html.find(self.value, pos, end)
        while at >= 0:
            # A value stands alone in its attribute: cheap to check before reading the tag.
            if (
                html[at - 1 : at] in _BEFORE_VALUE
                and html[at + size : at + size + 1] in _AFTER_VALUE
            ):
                lt = html.rfind("<", pos, at)
                if lt >= 0 and self._holds(html, lt, at):
                    return lt
            at = html.find(self.value, at + size, end)
        return None

    def _holds(self, html: str, lt: int, at: int) -> bool:
        """Whether the tag at `lt` is ours and carries the value (found at `at`) as asked."""
        tag = next(tokenize(html, start=lt), None)
        if not isinstance(tag, Tag) or tag.closing or tag.start != lt or tag.end <= at:
            return False
        attr = tag.attr(self.key) if tag.name == self.tag else None
        if attr is None or attr.value is None:
            return False
        return self.value in attr.value.split() if self.key == "class" else attr.value == self.value


_BEFORE_VALUE = frozenset("\"'= \t\n\r\f")
_AFTER_VALUE = frozenset("\"' \t\n\r\f/>")


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
    for m in re.finditer(
        r"<meta\s[^<>]*?(?:name|property)\s*=\s*[\"']" + re.escape(name) + r"[\"'][^<>]*>",
        html,
        re.I,
    ):
        content = re.search(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", m.group(0), re.I)
        if content:
            return htmllib.unescape(content.group(1) or content.group(2) or "").strip()
    return None


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
