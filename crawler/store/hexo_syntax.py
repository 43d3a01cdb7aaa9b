"""docs/FORMAT.md BODY edit 6: what Hexo itself reads in a post's text is text in BODY.

Hexo rewrites a post with regular expressions that do not know HTML, wherever they match:
its excerpt filter replaces the first `<!-- more -->` of the rendered post (in an attribute
value, a comment, raw text alike) with `<span id="more"></span>` and cuts the home page's
excerpt there; its external-link filter adds `target="_blank" rel="noopener"` inside every
`<a … href="http…">` of every page, in attribute values too; its code-block filter turns the
lines between two fences (```` ``` ````, `~~~` at a line start, before up to three `>`) into
highlighted code, before Markdown and whatever HTML they stand in. Each is made text that a
browser reads as before: a character reference where references are read, else a change
that nobody sees (comment text, a CSS escape, a word joiner in raw text).
"""

from __future__ import annotations

import bisect
import re

from ..markup import Comment, RawText, Tag, Token, tokenize
from ..markup import tokens as markup_tokens
from .active import url_scheme
from .body import Edit, apply_edits

# Hexo 7's excerpt marker is /<!-- ?more ?-->/i; any white space, as later versions and
# plugins read it.
EXCERPT_MARKER = re.compile(r"<!--\s*(more)\s*-->", re.I)
# JavaScript's white space but the line breaks (`[^\S\r\n]`), and where its `^` (flag m)
# matches: after LF, CR, U+2028, U+2029. Hexo's rBacktick, up to the fence's first character.
_JS_BLANK = "\t\v\f \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
CODE_FENCE = re.compile(
    rf"(?:\A|(?<=[\n\r\u2028\u2029]))(?:[{_JS_BLANK}]*>){{0,3}}[{_JS_BLANK}]*(?=```|~~~)"
)
# Hexo's open_graph helper (in landscape's <head> of every post page) reads every `<img …src="…"`
# of the rendered post with this expression, markup or not, and makes a URL of it (`new
# URL(capture, the page's URL)`): one that does not parse fails the post's page.
OPEN_GRAPH_IMAGE = re.compile(r"<img [^>]*src=['\"]([^'\"]+)", re.I)
_RCDATA = frozenset({"textarea", "title"})  # character references are read
# Raw text a browser reads as markup inside <svg>/<math> (<style> there is removed by edit 1;
# <script> and <iframe> are removed everywhere).
_MARKUP_INSIDE_FOREIGN = frozenset({"xmp", "noembed", "noframes", "noscript", "textarea", "title"})
WORD_JOINER = "\u2060"  # invisible, and no white space to JavaScript or HTML
_REFERENCE = {"<": "&lt;", "`": "&#96;", "~": "&#126;"}


def neutralize_hexo_syntax(body: str) -> str:
    """Edit 6 applied: BODY holds no excerpt marker, no code fence at a line start and no `<`
    inside a tag (nor inside a tag that raw text holds when it is read as markup)."""
    edits = hexo_syntax_edits(body)
    return apply_edits(body, edits) if edits else body


def hexo_syntax_edits(body: str) -> list[Edit]:
    """Edit 6's edits, sorted, none overlapping; empty when BODY already complies."""
    if "<" not in body and "```" not in body and "~~~" not in body:  # (open_graph needs `<`)
        return []
    tokens = markup_tokens(body)
    starts = [tok.start for tok in tokens]
    edits: set[Edit] = set()
    for tok in tokens:
        if isinstance(tok, Tag):
            edits.update(_less_than_in_tag(body, tok, 0, "tag"))
        elif isinstance(tok, RawText) and tok.element in _MARKUP_INSIDE_FOREIGN:
            edits.update(_tags_in_raw_text(body, tok))
    for m in EXCERPT_MARKER.finditer(body):
        edits.add(_break_marker(body, m, _context(tokens, starts, m.start())))
    for m in CODE_FENCE.finditer(body):
        edits.add(_break_fence(body, m.end(), _context(tokens, starts, m.end())))
    for m in OPEN_GRAPH_IMAGE.finditer(body):
        if url_scheme(m.group(1)) is None:
            edits.add(_break_image(m.start(), _context(tokens, starts, m.start())))
    return sorted(edits)


def _context(tokens: list[Token], starts: list[int], at: int) -> Token | None:
    """The token holding position `at`, or None in text."""
    i = bisect.bisect_right(starts, at) - 1
    if i >= 0 and at < tokens[i].end:
        return tokens[i]
    return None


def _kind(tok: Token | None) -> str:
    if tok is None:
        return "text"
    if isinstance(tok, RawText):
        if tok.element in _RCDATA:
            return "rcdata"
        return "style" if tok.element == "style" else "raw"
    return "comment" if isinstance(tok, Comment) else "tag"


def _less_than(at: int, kind: str) -> Edit:
    if kind == "raw":
        return (at + 1, at + 1, WORD_JOINER)
    return (at, at + 1, "&lt;")


def _less_than_in_tag(text: str, tag: Tag, offset: int, kind: str) -> list[Edit]:
    """Every `<` inside a tag after its own (in attribute names and values), but one that a
    word joiner breaks already (this edit, a second time)."""
    edits = []
    at = text.find("<", tag.start + 1, tag.end)
    while at >= 0:
        if not (kind == "raw" and text.startswith(WORD_JOINER, at + 1)):
            edits.append(_less_than(offset + at, kind))
        at = text.find("<", at + 1, tag.end)
    return edits


def _tags_in_raw_text(body: str, raw: RawText) -> list[Edit]:
    """Inside <svg> this raw text is markup: its tags' attribute values hold no `<` either."""
    inner = body[raw.start : raw.end]
    if inner.count("<") < 2:
        return []
    kind = _kind(raw)
    edits: list[Edit] = []
    for tok in tokenize(inner, raw_text=False):
        if isinstance(tok, Tag):
            edits.extend(_less_than_in_tag(inner, tok, raw.start, kind))
    return edits


def _break_marker(body: str, m: re.Match, where: Token | None) -> Edit:
    kind = _kind(where)
    if kind == "comment":  # the marker's `-->` ends the comment: its word changes, unseen
        return (m.start(1), m.start(1), "_")
    if kind == "style":  # `m\6f re` is the identifier, string or URL `more` to CSS
        o = m.start(1) + 1
        return (o, o + 1, f"\\{ord(body[o]):x} ")
    return _less_than(m.start(), kind)


def _break_image(at: int, where: Token | None) -> Edit:
    """`<img\t…`: the same tag (or text) to a browser, and none to open_graph's expression."""
    if _kind(where) == "rcdata":
        return _less_than(at, "rcdata")
    return (at + len("<img"), at + len("<img "), "\t")


def _break_fence(body: str, at: int, where: Token | None) -> Edit:
    kind = _kind(where)
    if kind == "raw":
        return (at, at, WORD_JOINER)
    if kind == "style":
        return (at, at + 1, f"\\{ord(body[at]):x} ")
    return (at, at + 1, _REFERENCE[body[at]])
