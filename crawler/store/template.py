"""The archive file: FORMAT.md's template, byte for byte, and its reading back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ..items import Article
from .body import prepare
from .fields import (
    clean_url,
    normalize_name,
    normalize_title,
    plain_or_quoted,
    quote_title,
    rfc1123,
    single_quoted,
)

TRAILER = "  \n</div>\n" + " " * 12


@dataclass(frozen=True)
class Post:
    """An article made ready for the template: every field final."""

    title: str
    category: str
    site: str
    name: str
    image: str
    author: str
    date: datetime
    body: str


def post_for(article: Article, date: datetime) -> Post:
    shelf = article.shelf
    body, image = prepare(article.body, article.url, clean=shelf.clean)
    site = normalize_name(shelf.site)
    author = normalize_name(article.author) if shelf.author == "extracted" else ""
    return Post(
        title=normalize_title(article.title),
        category=normalize_name(shelf.category),
        site=site,
        name=normalize_name(shelf.name),
        image=clean_url(image or article.image),
        author=author or site,
        date=date,
        body=body,
    )


def render(post: Post) -> str:
    image = single_quoted(post.image)
    return (
        "\n---\n"
        f"title: {quote_title(post.title)}\n"
        "categories: \n"
        f" - {plain_or_quoted(post.category)}\n"
        f" - {plain_or_quoted(post.site)}\n"
        f" - {plain_or_quoted(post.name)}\n"
        f"headimg: {image}\n"
        f"author: {plain_or_quoted(post.author, key='author')}\n"
        "comments: false\n"
        f"date: {rfc1123(post.date)}\n"
        f"thumbnail: {image}\n"
        "---\n"
        "\n"
        f"<div>   \n{post.body}{TRAILER}"
    )


def render_article(article: Article) -> bytes:
    """The file an article becomes (its date, or the fetch time when it has none)."""
    when = article.date or article.fetched_at or datetime.now(UTC)
    return render(post_for(article, when)).encode("utf-8")


_FILE = re.compile(
    r"\n---\n"
    r"(?P<front>title: [^\n]*\n"
    r"categories: \n"
    r" - [^\n]*\n - [^\n]*\n - [^\n]*\n"
    r"headimg: '[^\n]*'\n"
    r"author: [^\n]*\n"
    r"comments: false\n"
    r"date: [^\n]*\n"
    r"thumbnail: '[^\n]*'\n)"
    r"---\n\n<div>   \n(?P<body>.*)" + re.escape(TRAILER),
    re.S,
)


@dataclass(frozen=True)
class ArchiveFile:
    front: str  # the YAML between the two `---` lines
    body: str


def parse(text: str) -> ArchiveFile | None:
    """Split a file of our template into front matter and BODY; None if it is not one."""
    m = _FILE.fullmatch(text)
    return ArchiveFile(m.group("front"), m.group("body")) if m else None
