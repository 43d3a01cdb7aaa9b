"""Finding things in a decoded page with C-speed regular expressions, not a full parse."""

from __future__ import annotations

import codecs
import html as htmllib
import re
from dataclasses import dataclass

from ..markup import element_end, text_content, tokenize

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
    """A start-tag pattern with a cheaper test it cannot match without (a literal, or for ids
    the `id=…` itself): most pages fail the test, far faster than the tag pattern."""

    pattern: re.Pattern
    literal: str
    is_id: bool = False  # the literal is an id: it must stand as `id=…literal`

    def search(self, html: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
        if not (_id_present(html, self.literal, pos) if self.is_id else self.literal in html):
            return None
        return self.pattern.search(html, pos, len(html) if endpos is None else endpos)


_ID_BEFORE = re.compile(r"\bid\s*=\s*[\"']?$", re.I)


def _id_present(html: str, value: str, pos: int) -> bool:
    """Whether `id=value` occurs from `pos` on: str.find on the value, then a look behind
    it (a case-insensitive pattern would scan the page far more slowly)."""
    at = html.find(value, pos)
    while at >= 0:
        after = html[at + len(value) : at + len(value) + 1]
        if after in "\"' \t\n\r\f/>" and _ID_BEFORE.search(html[max(0, at - 16) : at]):
            return True
        at = html.find(value, at + 1)
    return False


def selector(
    tag: str, *, id: str | None = None, cls: str | None = None, attr: tuple[str, str] | None = None
) -> Selector:
    """A start-tag pattern: `<tag … id=ID>`, `<tag … class="… CLS …">` or `<tag … a=v>`."""
    if id is not None:
        cond = r"\bid\s*=\s*[\"']?" + re.escape(id) + r"(?=[\"'\s/>])"
        return Selector(re.compile(r"<" + tag + r"(?=[\s/>])[^>]*?" + cond, re.I), id, True)
    elif cls is not None:
        literal = cls
        cond = (
            r"\bclass\s*=\s*(?:\"[^\"]*?|'[^']*?)?(?<=[\s\"'=])" + re.escape(cls) + r"(?=[\s\"'/>])"
        )
    elif attr is not None:
        literal = attr[1]
        cond = r"\b" + re.escape(attr[0]) + r"\s*=\s*[\"']?" + re.escape(attr[1]) + r"(?=[\"'\s/>])"
    else:
        literal, cond = "<", ""
    return Selector(re.compile(r"<" + tag + r"(?=[\s/>])[^>]*?" + cond, re.I), literal)


def find(html: str, pattern: Selector, start: int = 0, end: int | None = None) -> Element | None:
    """The first element whose start tag matches `pattern`, with where its content ends."""
    m = pattern.search(html, start, end)
    if not m:
        return None
    tag = next(tokenize(html, start=m.start()))
    closing = element_end(html, tag.name, tag.end)
    content_end = closing[0] if closing else len(html)
    return Element(tag.name, m.start(), tag.end, content_end, closing is not None)


def text_of(html: str, pattern: Selector, *, raw: bool = False) -> str:
    """The text of the first matching element ('' if none); `raw` keeps entities undecoded."""
    element = find(html, pattern)
    if element is None:
        return ""
    inner = element.inner(html)
    if raw:
        return " ".join(re.sub(r"<[^>]*>", " ", inner).split())
    return text_content(inner)


def meta(html: str, name: str) -> str | None:
    """The content of `<meta name|property="name" content="…">`, entities decoded."""
    for m in re.finditer(
        r"<meta\s[^>]*?(?:name|property)\s*=\s*[\"']" + re.escape(name) + r"[\"'][^>]*>", html, re.I
    ):
        content = re.search(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", m.group(0), re.I)
        if content:
            return htmllib.unescape(content.group(1) or content.group(2) or "").strip()
    return None


def link_texts(html: str, element: Element | None) -> tuple[str, ...]:
    """The texts of the <a> elements inside an element (keyword lists)."""
    if element is None:
        return ()
    inner = element.inner(html)
    found = (
        text_content(m.group(1)) for m in re.finditer(r"<a\b[^>]*>(.*?)</a\s*>", inner, re.I | re.S)
    )
    return tuple(dict.fromkeys(t for t in found if t))
