"""Whether a body is safe to publish, judged as a browser reads it (docs/FORMAT.md edit 1).

The in-place edits (body.py) keep every byte of an ordinary page; whether they were enough is
decided here by lexbor, a WHATWG-conformant HTML parser (foreign content, CDATA, raw text,
`<body>` attributes merged into the page's), and by what Hexo's Markdown renderer
(hexo-renderer-marked) would turn into a link. A body still found unsafe is written through
an allowlist sanitizer (ammonia, via nh3) instead.
"""

from __future__ import annotations

import html as htmllib
import re

import nh3
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from ..markup import MAX_NESTING, Comment, Tag, as_text, nesting_depth, tokens
from .active import ACTIVE_ELEMENTS, SAFE_SCHEMES, css_loads, is_active_attribute, is_refresh
from .body import to_markdown

# Placed after the body: a body that swallows it (an unterminated comment, attribute, or a
# <textarea>, <xmp>, <plaintext>, <template>…) would swallow the blog's page after it too.
_END = "crawler-end-of-body"
_WRAP = "<!DOCTYPE html><html><head></head><body><div>{}</div><p id=" + _END + "></p>"


def unsafe_markup(body: str, *, markdown: bool = False) -> list[str]:
    """What a browser would find active in `body` on the blog: empty when it is safe.

    Hexo renders every post as Markdown, HTML bodies too. A body whose tags and comments all
    end on the line they start (or at least before a blank line) goes through as the same
    HTML; one that does not is also judged as rendered (CommonMark by markdown-it: Markdown
    ends an HTML block at a blank line and escapes what follows). A `markdown` body is judged
    as rendered."""
    found = _unsafe_html(_MARKDOWN.render(body) if markdown else body)
    if not markdown and _BLANK_LINE.search(body) and _tag_across_blank_line(body):
        found.extend(
            f"{problem} (once rendered as Markdown)"
            for problem in _unsafe_html(_MARKDOWN.render(f"<div>   \n{body}  \n</div>\n"))
        )
    found.extend(f"Markdown link to {scheme}" for scheme in markdown_link_schemes(body))
    return found


def _unsafe_html(html: str) -> list[str]:
    tree = LexborHTMLParser(_WRAP.format(html))
    found: list[str] = []
    end_seen = False
    for node in tree.root.traverse():
        name = (node.tag or "").lower()  # a processing instruction `<?x>` has none
        attrs = node.attributes
        if name in ACTIVE_ELEMENTS:
            found.append(f"<{name}> element")
        elif name == "meta" and is_refresh(attrs.get("http-equiv")):
            found.append("<meta http-equiv=refresh> element")
        elif name == "style" and css_loads(node.text(deep=True)):
            found.append("<style> that loads content")
        elif name == "style" and _in_foreign_content(node):
            found.append("<style> in <svg> or <math> (it styles the whole page)")
        elif name == "p" and attrs.get("id") == _END:
            end_seen = True
        found.extend(
            f"{key} attribute on <{name}>"
            for key, value in attrs.items()
            if is_active_attribute(key.lower(), value)
        )
    if not end_seen:
        found.append("markup left open at the end of the body")
    return found


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# Hexo's renderer (marked) makes a link of any destination, where markdown-it by itself
# refuses javascript: and other schemes: the judge renders as marked does.
_MARKDOWN = MarkdownIt("commonmark", {"html": True})
_MARKDOWN.validateLink = lambda url: True


def _in_foreign_content(node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag.lower() in ("svg", "math"):
            return True
        parent = parent.parent
    return False


def _tag_across_blank_line(body: str) -> bool:
    for tok in tokens(body):
        spans = isinstance(tok, Comment) or isinstance(tok, Tag) and not tok.bare
        if spans and _BLANK_LINE.search(body, tok.start, tok.end):
            return True
    return False


def _obfuscated(word: str) -> str:
    """A regex for `word` as the browser decodes it from Markdown-made attributes: each letter
    as itself or a character reference, with tabs and newlines (or their references) between."""
    noise = r"(?:[\t\n\r]|&(?:tab|newline);|&#0*(?:9|10|13);?|&#x0*(?:9|a|d);?)*"
    letters = [
        f"(?:{c}|&#0*{ord(c)};?|&#0*{ord(c.upper())};?|&#x0*{ord(c):x};?|"
        + (f"&#x0*{ord(c.upper()):x};?)")
        for c in word
    ]
    # Markdown reads `\:` as `:` (a backslash escapes any ASCII punctuation)
    return noise.join(letters) + noise + r"(?::|\\:|&colon;|&#0*58;?|&#x0*3a;?)"


# `data:` only when a URL follows (text such as "data: 2023" is no link).
_MARKDOWN_SCHEME = re.compile(
    f"(?P<javascript>{_obfuscated('javascript')})|(?P<vbscript>{_obfuscated('vbscript')})"
    f"|(?P<data>{_obfuscated('data')})(?![ \\t\\n]|image/(?:png|gif|jpe?g|webp)[;,])",
    re.I,
)
# What a neutralized scheme's colon becomes: no URL scheme can contain it.
_FULLWIDTH_COLON = "\uff1a"


_DECODED_SCHEME = re.compile(r"javascript:|vbscript:|data:", re.I)


def _may_hold_scheme(text: str) -> bool:
    """A quick test that is true whenever _MARKDOWN_SCHEME can match something a browser would
    decode to a script scheme: the text decoded, without tabs and newlines, names one."""
    if "&" in text:
        text = htmllib.unescape(text)
    # str.replace, not translate: a deletion table costs ~0.2 ms a body, these ~7 µs
    bare = text.replace("\t", "").replace("\n", "").replace("\r", "")
    return bool(_DECODED_SCHEME.search(bare.replace("\\:", ":")))


# Any other scheme but edit 1's (http, https, mailto) where Markdown reads a link's URL: a
# destination `[x](…)`, a reference definition `[x]: …`, an autolink `<…>` (CommonMark's
# grammar: a scheme of 2–32 characters, no space or angle bracket up to `>`).
_LINK_SCHEME = re.compile(
    r"(?:\]\([ \t\n]*<?|^[ ]{0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*<?)"
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{0,31})(?=\\?:)"
    r"|<(?P<autolink>[A-Za-z][A-Za-z0-9+.\-]{1,31})(?=:[^\s<>]*>)",
    re.M,
)


_LINKED_SCHEMES = SAFE_SCHEMES | {"javascript", "vbscript", "data"}  # scripts: _MARKDOWN_SCHEME


def _unsafe_link_schemes(text: str) -> list[re.Match]:
    return [
        m
        for m in _LINK_SCHEME.finditer(text)
        if (m.group("scheme") or m.group("autolink")).lower() not in _LINKED_SCHEMES
    ]


def markdown_link_schemes(text: str) -> list[str]:
    """The schemes in `text` that Markdown syntax (`[x](…)`, `<…>`, `[x]: …`) could make a
    live link of: a script scheme anywhere (a browser reads a Markdown-made href decoded,
    without tabs), any scheme but http, https and mailto where a link's URL is read."""
    found = [f"{m.group('scheme') or m.group('autolink')}:" for m in _unsafe_link_schemes(text)]
    if _may_hold_scheme(text):
        found.extend(f"{m.lastgroup}:" for m in _MARKDOWN_SCHEME.finditer(text))
    return found


def neutralize_markdown_links(text: str) -> str:
    """Each such scheme's colon replaced by a full-width one: the text reads the same, and no
    link Hexo's Markdown renderer makes of it can run (or take a URL of another scheme)."""
    if _may_hold_scheme(text):
        text = _MARKDOWN_SCHEME.sub(_break_scheme, text)
    for m in reversed(_unsafe_link_schemes(text)):
        colon = m.end() + (text[m.end()] == "\\")
        text = text[: m.end()] + _FULLWIDTH_COLON + text[colon + 1 :]
    return text


def _break_scheme(m: re.Match) -> str:
    text = m.group()
    colon = text.rfind(":") if text.endswith(":") else text.rfind("&")
    return text[:colon].removesuffix("\\") + _FULLWIDTH_COLON


# Ammonia's allowlist (no script, style, forms, frames or event handlers; http(s), mailto and
# relative URLs only), plus what our own edits add.
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "img": nh3.ALLOWED_ATTRIBUTES["img"] | {"referrerpolicy", "title"},
    "a": nh3.ALLOWED_ATTRIBUTES["a"] | {"title"},
}
_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize(body: str) -> str:
    """The body through the allowlist: what stays is text, formatting, links and images (no
    line breaks inside attribute values, which Markdown would split)."""
    return nh3.clean(
        body, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES, attribute_filter=_one_line
    ).strip()


def _one_line(tag: str, attribute: str, value: str) -> str | None:
    if is_active_attribute(attribute, value):
        return None  # alt text a theme would turn into markup
    return " ".join(value.split()) if "\n" in value or "\r" in value else value


def safe_markdown(html: str) -> tuple[str, bool]:
    """`body_format: markdown`: the Markdown of a safe body, judged as Hexo renders it: (it,
    False) when that is safe, else (the body's text alone as Markdown, True)."""
    markdown = neutralize_markdown_links(to_markdown(html))
    if not unsafe_markup(markdown, markdown=True):
        return markdown, False
    return neutralize_markdown_links(to_markdown(as_text(html))), True


def safe_body(body: str) -> tuple[str, bool]:
    """(`body`, False) when the judge finds it safe, else (its sanitized text, True). A body
    nested deeper than MAX_NESTING is kept as its text."""
    if nesting_depth(body) > MAX_NESTING:
        return neutralize_markdown_links(as_text(body)), True
    body = neutralize_markdown_links(body)
    if not unsafe_markup(body):
        return body, False
    return neutralize_markdown_links(sanitize(body)), True
