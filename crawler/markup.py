"""HTML markup with source positions: find and edit elements without re-serializing the page.

It follows the HTML5 tokenizer where that decides what is markup: comments (including
`<!-->` and `--!>`), bogus comments (`<!…>`, `<?…>`, `</ …>`), attribute syntax, and the
elements whose content is raw text. Unterminated tags at the end of input are still tags:
in a file the template's `</div>` would otherwise complete them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# Content is text up to the matching end tag (scripting enabled, as a blog reader has it).
RAW_TEXT = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "param",
        "keygen",
    }
)

_SPACE = " \t\n\r\f"  # HTML's white space: ASCII only
_TAG_NAME = re.compile(r"[^ \t\n\r\f/>]*")
_ATTR_NAME = re.compile(r"[^ \t\n\r\f/>][^ \t\n\r\f/>=]*")
_SPACES = re.compile(r"[ \t\n\r\f/]*")  # a '/' not before '>' is skipped between attributes
_UNQUOTED = re.compile(r"[^ \t\n\r\f>]*")
_COMMENT_END = re.compile(r"--!?>")


@dataclass(slots=True)
class Attr:
    name: str  # lower-cased
    start: int  # where the attribute's leading white space begins
    end: int
    value: str | None  # raw text, entities not decoded; None when there is no `=`
    value_start: int = -1
    value_end: int = -1
    quote: str = ""


@dataclass(slots=True)
class Tag:
    name: str  # lower-cased
    start: int
    end: int
    closing: bool = False
    self_closing: bool = False
    source: str = ""  # the document, for reading the attributes when they are asked for
    bare: bool = False  # known to have no attributes at all (`<p>`, `</div>`)
    _attrs: list[Attr] | None = None
    _attrs_end: int = 0

    @property
    def attrs(self) -> list[Attr]:
        if self._attrs is None:
            self._attrs, self._attrs_end = _attributes(self.source, self.start)[:2]
        return self._attrs

    @property
    def attrs_end(self) -> int:
        """Just after the last attribute: where a new one goes."""
        _ = self.attrs
        return self._attrs_end

    def attr(self, name: str) -> Attr | None:
        """The first attribute of that name (browsers ignore later duplicates)."""
        return next((a for a in self.attrs if a.name == name), None)


@dataclass(slots=True)
class Comment:
    start: int
    end: int
    source: str  # the document
    text_start: int
    text_end: int

    @property
    def text(self) -> str:
        """Between `<!--` and `-->` for real comments, else the bogus comment's text: cut when
        asked for (an unclosed comment's runs to the end of the page, once per comment)."""
        return self.source[self.text_start : self.text_end]


@dataclass(slots=True)
class RawText:
    start: int
    end: int
    element: str


Token = Tag | Comment | RawText


_CACHED_CHARS = 1_000_000  # a longer text's tokens are read anew each time: bounded memory


def tokens(html: str, *, comments: bool = True, raw_text: bool = True) -> tuple[Token, ...]:
    """Every token of `html` (as `tokenize` reads them), read once: the passes a body goes
    through (boilerplate, the edits, the nesting guard, the judge, Hexo's syntax) ask for the
    same text's tokens, and all but the first take them from here (the last few texts'; one
    over a million characters is not kept). Callers do not change them."""
    if len(html) > _CACHED_CHARS:
        return tuple(tokenize(html, comments=comments, raw_text=raw_text))
    return _kept_tokens(html, comments, raw_text)


@lru_cache(maxsize=8)
def _kept_tokens(html: str, comments: bool, raw_text: bool) -> tuple[Token, ...]:
    return tuple(tokenize(html, comments=comments, raw_text=raw_text))


def tokenize(
    html: str, *, comments: bool = True, raw_text: bool = True, start: int = 0
) -> Iterator[Token]:
    """Yield the markup tokens of `html` from `start` on; text between them is not yielded.

    With `comments=False` and `raw_text=False` every `<name …>` is a tag: that reading is
    used to scan raw text (a `<style>` inside `<svg>` is not raw text in a browser).
    """
    pos, n = start, len(html)
    while True:
        lt = html.find("<", pos)
        if lt < 0 or lt + 1 >= n:
            return
        nxt = html[lt + 1]
        if nxt.isascii() and nxt.isalpha():
            tag = _start_tag(html, lt)
            yield tag
            pos = tag.end
            if raw_text and tag.name in RAW_TEXT:  # `<style/>` is no void element in HTML
                end = _raw_text_end(html, pos, tag.name)
                if end > pos:
                    yield RawText(pos, end, tag.name)
                pos = end
        elif nxt == "/":
            if lt + 2 < n and html[lt + 2].isascii() and html[lt + 2].isalpha():
                tag = _start_tag(html, lt + 1)
                tag.start, tag.closing, tag.bare = lt, True, True
                tag._attrs = []  # browsers ignore what an end tag carries
                yield tag
                pos = tag.end
            elif lt + 2 < n and html[lt + 2] == ">":
                pos = lt + 3  # `</>` is dropped by browsers
            elif comments:
                pos = _bogus_comment(html, lt, lt + 2)
                yield Comment(lt, pos, html, lt + 2, pos - 1)
            else:
                pos = lt + 2
        elif nxt == "!" and comments:
            if html.startswith("<!--", lt):
                yield (comment := _comment(html, lt))
                pos = comment.end
            else:
                pos = _bogus_comment(html, lt, lt + 2)
                yield Comment(lt, pos, html, lt + 2, pos - 1)
        elif nxt == "?" and comments:
            pos = _bogus_comment(html, lt, lt + 1)
            yield Comment(lt, pos, html, lt + 1, pos - 1)
        else:
            pos = lt + 1


# A whole start tag in one C-speed match, same grammar as _attributes (quotes count only
# after `=`); anything it does not match (unterminated, odd spacing) goes the slow way.
_W = " \t\n\r\f"
_TAG_REST = (
    rf"([a-zA-Z][^{_W}/>]*)"
    rf"(?>(?>[{_W}/]+)(?>[^{_W}/>][^{_W}/>=]*)"
    rf"(?>[{_W}]*+=[{_W}]*+(?>\"[^\"]*\"|'[^']*'|(?![\"'])[^{_W}>]*+)|(?![{_W}]*+=)))*+"
    rf"(?>([{_W}/]*))>"
)
_FAST_TAG = re.compile("<" + _TAG_REST)
_FAST_END_TAG = re.compile("/" + _TAG_REST)


def _start_tag(html: str, lt: int) -> Tag:
    """The tag at `lt`: `<name…>`, or for an end tag `lt` is the `/` of `</name…>`."""
    m = (_FAST_END_TAG if html[lt] == "/" else _FAST_TAG).match(html, lt)
    if m:
        bare = m.end(1) == m.start(2)  # nothing between the name and the closing `>`
        return Tag(
            m.group(1).lower(),
            lt,
            m.end(),
            self_closing=m.group(2).endswith("/"),
            source=html,
            bare=bare,
            _attrs=[] if bare else None,
            _attrs_end=m.end(1),
        )
    attrs, attrs_end, end, self_closing = _attributes(html, lt)
    name = _TAG_NAME.match(html, lt + 1).group().lower()
    return Tag(
        name, lt, end, self_closing=self_closing, source=html, _attrs=attrs, _attrs_end=attrs_end
    )


def _attributes(html: str, lt: int) -> tuple[list[Attr], int, int, bool]:
    """(attributes, end of the last one, end of the tag, self-closing) of the tag at `lt`."""
    m = _TAG_NAME.match(html, lt + 1)
    attrs: list[Attr] = []
    pos = attrs_end = m.end()
    n = len(html)
    while pos < n:
        lead = pos
        pos = _SPACES.match(html, pos).end()
        if pos >= n:
            break
        if html[pos] == ">":
            return attrs, attrs_end, pos + 1, html[pos - 1] == "/" and pos - 1 >= lead
        m = _ATTR_NAME.match(html, pos)
        attr = Attr(name=m.group().lower(), start=lead, end=m.end(), value=None)
        pos = m.end()
        after_name = pos
        while pos < n and html[pos] in _SPACE:
            pos += 1
        if pos < n and html[pos] == "=":
            pos += 1
            while pos < n and html[pos] in _SPACE:
                pos += 1
            if pos < n and html[pos] in "\"'":
                q = html[pos]
                close = html.find(q, pos + 1)
                close = n if close < 0 else close
                attr.quote, attr.value_start, attr.value_end = q, pos + 1, close
                pos = min(close + 1, n)
            else:
                m = _UNQUOTED.match(html, pos)
                attr.value_start, attr.value_end = pos, m.end()
                pos = m.end()
            attr.value = html[attr.value_start : attr.value_end]
            attr.end = pos
        else:
            pos = attr.end = after_name
        attrs.append(attr)
        attrs_end = attr.end
    return attrs, attrs_end, n, False  # unterminated: runs to the end of the input


class _NextMatch:
    """Where a pattern next matches from a position on, remembered for the last page: an
    unclosed `<!--` or `<script>` is searched to the end of the page, and a page that opens
    one after another (or is tokenized from many starts) would be searched to the end once
    per opening. Every start between the last search's and its match has that same match."""

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        self.last: tuple[str | None, int, re.Match | None] = (None, 0, None)

    def search(self, html: str, pos: int) -> re.Match | None:
        page, start, found = self.last  # one read: threads each see a whole entry
        if page is html and start <= pos <= (found.start() if found else len(html)):
            return found
        found = self.pattern.search(html, pos)
        self.last = (html, pos, found)
        return found


_RAW_END = {
    name: _NextMatch(re.compile(r"</" + name + r"[ \t\n\r\f/>]", re.I)) for name in RAW_TEXT
}
_NEXT_COMMENT_END = _NextMatch(_COMMENT_END)
_NEXT_GT = _NextMatch(re.compile(">"))


def _raw_text_end(html: str, pos: int, name: str) -> int:
    m = _RAW_END[name].search(html, pos)
    return m.start() if m else len(html)


def _comment(html: str, lt: int) -> Comment:
    body = lt + 4
    if html.startswith(">", body):  # `<!-->` is a complete, empty comment
        return Comment(lt, body + 1, html, body, body)
    if html.startswith("->", body):  # and so is `<!--->`
        return Comment(lt, body + 2, html, body, body)
    m = _NEXT_COMMENT_END.search(html, body)
    if not m:
        return Comment(lt, len(html), html, body, len(html))
    return Comment(lt, m.end(), html, body, m.start())


def _bogus_comment(html: str, lt: int, start: int) -> int:
    gt = _NEXT_GT.search(html, start)
    return gt.end() if gt else len(html)


def element_end(
    html: str, name: str, content_start: int, before: int | None = None
) -> tuple[int, int] | None:
    """Where the element `name` whose content begins at `content_start` ends:
    (start of its end tag, end of its end tag), or None if the page never closes it, or
    (with `before`) does not close it before there: a caller asking whether an element holds
    a position reads no further than that position."""
    depth = 0
    for tok in tokenize(html, start=content_start):
        if before is not None and tok.start >= before:
            return None
        if isinstance(tok, Tag) and tok.name == name:
            if not tok.closing:
                depth += 1
            elif depth == 0:
                return tok.start, tok.end
            else:
                depth -= 1
    return None


# Elements a browser ends by itself when the next one starts (`<p>a<p>b` are siblings).
_IMPLIED_END = frozenset(
    {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody", "thead", "tfoot"}
    | {"rb", "rt", "rtc", "rp", "colgroup", "caption"}
)


# Deeper nesting than any article has: parsers (lexbor, html5ever, html.parser, markdownify)
# take quadratic time or run out of stack on it, and browsers flatten it (Chromium past 512).
MAX_NESTING = 100


def as_text(html: str) -> str:
    """A body nested too deep to be parsed in good time, kept as its text in one paragraph."""
    import html as htmllib

    return f"<p>{htmllib.escape(text_content(html), quote=False)}</p>"


def nesting_depth(html: str) -> int:
    """How deep elements nest in `html` (at least), in one pass: parsers take quadratic time
    on deep nesting, or run out of stack. Elements whose end a browser implies are not counted;
    tags in raw text are (a parser without scripting nests `<noscript>`)."""
    depth = deepest = 0
    unclosed: dict[str, int] = {}
    read = tokens(html)  # the other passes' reading: the same tokens when no raw text starts
    if any(isinstance(t, Tag) and not t.closing and t.name in RAW_TEXT for t in read):
        read = tokens(html, raw_text=False)
    for tok in read:
        if not isinstance(tok, Tag) or tok.name in VOID or tok.name in _IMPLIED_END:
            continue
        if not tok.closing:
            unclosed[tok.name] = unclosed.get(tok.name, 0) + 1
            depth += 1
            deepest = max(deepest, depth)
        elif unclosed.get(tok.name):
            unclosed[tok.name] -= 1
            depth -= 1
    return deepest


_INVISIBLE = frozenset({"script", "style", "noscript", "template", "iframe", "object"})
_BLOCK = re.compile(r"</?(?:p|br|div|li|tr|td|h[1-6])\b", re.I)


def text_content(html: str) -> str:
    """The visible text of a fragment: tags, comments and scripts dropped, space folded."""
    import html as htmllib

    parts, pos, skip_until = [], 0, -1
    for tok in tokenize(html):
        if tok.start < skip_until:
            continue
        parts.append(html[pos : tok.start])
        if isinstance(tok, RawText) and tok.element in _INVISIBLE:
            skip_until = tok.end
        elif isinstance(tok, RawText):
            parts.append(html[tok.start : tok.end])
        elif isinstance(tok, Tag) and _BLOCK.match(html, tok.start):
            parts.append(" ")
        pos = max(pos, tok.end)
    parts.append(html[pos:])
    return " ".join(htmllib.unescape("".join(parts)).split())
