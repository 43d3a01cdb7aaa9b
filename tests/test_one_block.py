"""docs/FORMAT.md BODY edit 5: the body is one raw HTML block, so that a CommonMark renderer
(Hexo's) passes it through untouched, and a browser reads it as the same text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from crawler.store.body import one_block

from reference import OPENING, TRAILER, reference_posts

CASES = Path(__file__).parent / "cases" / "sina"
BLANK_LINE = re.compile(r"(?m)^[ \t]*\n")


def test_blank_lines_are_dropped():
    assert one_block("<p>a</p>\n    \n<p>b</p>\n\n\t\n<p>c</p>") == "<p>a</p>\n<p>b</p>\n<p>c</p>"


def test_trailing_white_space_is_kept():
    assert one_block("<p>a</p>\n\n  \n") == "<p>a</p>\n\n  \n"


def test_other_white_space_is_not_blank():
    body = "<p>a</p>\n\u3000\u3000\n&nbsp;\n\f\n<p>b</p>"
    assert one_block(body) == body


def test_line_breaks_that_are_text_are_written_as_references():
    body = (
        '<pre>x\n  \ny\n\n</pre><img title="a\n\nb">\n<!-- c\n\n -->\n'
        "<textarea>\n\nq</textarea><p>z</p>"
    )
    assert one_block(body) == (
        '<pre>x\n  &#10;y\n&#10;</pre><img title="a\n&#10;b">\n<!-- c\n -->\n'
        "<textarea>\n&#10;q</textarea><p>z</p>"
    )


def test_white_space_between_attributes_is_no_text():
    assert one_block('<pre><span\n\n class="a">x</span></pre>') == (
        '<pre><span\n class="a">x</span></pre>'
    )


def test_after_pre_the_lines_are_dropped_again():
    assert one_block("<pre>a\n\n</pre>\n\n<p>b</p>") == "<pre>a\n&#10;</pre>\n<p>b</p>"


def _reading(html: str) -> tuple:
    """What a browser reads: every element with its attributes, the exact text of
    preformatted elements, and the rest of the text with white space folded (style sheets
    aside: edit 5 drops their blank lines too)."""
    tree = LexborHTMLParser(html)
    for style in tree.css("style"):  # a style sheet's white space is no text a reader sees
        style.decompose()
    nodes = tree.body.traverse(include_text=False) if tree.body else []
    elements = [(n.tag, tuple(sorted(n.attributes.items()))) for n in nodes]
    kept = [n.text(deep=True) for n in tree.css("pre, listing, textarea")]
    text = " ".join((tree.body.text(deep=True) if tree.body else "").split())
    return elements, kept, text


FRAGMENTS = [
    "\n",
    "\n",
    "  ",
    "\t",
    "x",
    "\u3000",
    "<p>",
    "</p>",
    "<pre>",
    "</pre>",
    "<textarea>",
    "</textarea>",
    '<img title="',
    "<a title='",
    '">',
    "'>",
    "<!--",
    "-->",
    "<style>",
    "</style>",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_a_browser_reads_the_same_and_no_blank_line_is_left(body):
    body = "<p>" + body
    made = one_block(body)
    core = made.rstrip(" \t\n\r\f")
    assert not BLANK_LINE.search(core)
    assert one_block(made) == made
    assert _reading(made) == _reading(body)


def _published(body: str) -> str:
    return f"{OPENING.lstrip(chr(10))}{body}{TRAILER}"


def _bodies() -> list[tuple[str, str]]:
    bodies = [(p.case, p.published.split(OPENING, 1)[1]) for p in reference_posts()]
    for case in sorted(CASES.glob("*/expected.md")):
        text = case.read_text(encoding="utf-8")
        bodies.append((case.parent.name, text.split(OPENING, 1)[1]))
    return [(key, body.removesuffix(TRAILER)) for key, body in bodies]


@pytest.mark.parametrize(("key", "body"), _bodies(), ids=[k for k, _ in _bodies()])
def test_markdown_passes_every_real_body_through_untouched(key, body):
    """CommonMark (markdown-it, as marked reads it) sees the whole post body as raw HTML."""
    source = _published(body)
    tokens = MarkdownIt("commonmark", {"html": True}).parse(source)
    assert [t.type for t in tokens] == ["html_block"] * len(tokens), key
    # one block from the `<div>` line to the body's trailing white space, as written
    assert tokens[0].content.startswith(source[: len(source) - len(TRAILER)].rstrip()), key
