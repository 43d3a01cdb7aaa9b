"""The archive file: docs/FORMAT.md's template, byte for byte, and its reading back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..items import Article
from .active import is_dangerous_url
from .body import (
    edit_markup,
    escape_braces,
    markdown_url,
    markup_edits,
    one_block,
    relink_images,
)
from .fields import (
    MARKUP_CHARACTERS,
    clean_url,
    inert_name,
    inert_title,
    inert_url,
    normalize_name,
    normalize_title,
    plain_or_quoted,
    quote_title,
    rfc1123,
    single_quoted,
)
from .hexo_syntax import neutralize_hexo_syntax
from .judge import safe_body, safe_markdown

TRAILER = "  \n</div>\n" + " " * 12
MARKDOWN = "markdown"


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
    body_format: str = "html"
    sanitized: bool = False  # the judge found the edited body unsafe: the allowlist wrote it
    tags: tuple[str, ...] = ()  # Hexo tags (`tags: keywords`), none by default


@dataclass(frozen=True)
class Prepared:
    """An article's body made ready once: docs/FORMAT.md's edits 1–3, one raw HTML block, the
    judge; the images it shows, by their final URLs; whether the judge had to sanitize it."""

    body: str
    images: tuple[str, ...]
    sanitized: bool


def prepare(article: Article) -> Prepared:
    """The article's body made ready (what an earlier pipeline made of it, if one did)."""
    if isinstance(article.prepared, Prepared):
        return article.prepared
    body, images = edit_markup(article.body, article.url, clean=article.shelf.clean)
    body, sanitized = safe_body(one_block(body))
    if sanitized:
        body = one_block(body)
        images = markup_edits(body, None)[1]
    return Prepared(body, tuple(images), sanitized)


def safe_markup(article: Article) -> tuple[str, list[str], bool]:
    """The prepared body as (HTML, its images' final URLs, whether it had to be sanitized)."""
    ready = prepare(article)
    return ready.body, list(ready.images), ready.sanitized


def post_for(article: Article, date: datetime, local: Mapping[str, str] | None = None) -> Post:
    """The article's post; `local` maps image URLs to their stored copies' URLs (rewrite)."""
    shelf = article.shelf
    ready = prepare(article)
    body, images, sanitized = ready.body, ready.images, ready.sanitized
    image = clean_url(images[0]) if images else feed_picture(article)
    if local:
        body = relink_images(body, local)
        image = local.get(image, image)
    if shelf.body_format == MARKDOWN:
        body, unsafe = safe_markdown(body)
        sanitized = sanitized or unsafe
    else:
        body = neutralize_hexo_syntax(body)
    site = inert_name(shelf.site)
    author = inert_name(article.author) if shelf.author == "extracted" else ""
    return Post(
        title=inert_title(normalize_title(article.title)),
        category=inert_name(shelf.category),
        site=site,
        name=inert_name(shelf.name),
        image=inert_url(image),
        author=author or site,
        date=date,
        body=escape_braces(body),
        body_format=shelf.body_format,
        sanitized=sanitized,
        tags=post_tags(article.keywords) if shelf.tags else (),
    )


# Hexo's tag helpers (list_tags, tagcloud: landscape's sidebar on every page) write a tag's
# name into the page unescaped: a keyword that could be markup is no tag (it stays a keyword).


def post_tags(keywords: tuple[str, ...]) -> tuple[str, ...]:
    """Keywords as Hexo tags: cleaned like names; empty, repeated and markup-like ones
    dropped."""
    names = (normalize_name(k) for k in keywords)
    return tuple(dict.fromkeys(t for t in names if t and not MARKUP_CHARACTERS.search(t)))


def feed_picture(article: Article) -> str:
    """The item's own picture (a feed's enclosure or thumbnail), if it is an inert URL."""
    return "" if is_dangerous_url(article.image) else clean_url(article.image)


def render(post: Post) -> str:
    image = single_quoted(post.image)
    return (
        "\n---\n"
        f"title: {quote_title(post.title)}\n"
        "categories: \n"
        f" - {plain_or_quoted(post.category)}\n"
        f" - {plain_or_quoted(post.site)}\n"
        f" - {plain_or_quoted(post.name)}\n"
        + (
            "tags: \n" + "".join(f" - {plain_or_quoted(t)}\n" for t in post.tags)
            if post.tags
            else ""
        )
        + f"headimg: {image}\n"
        f"author: {plain_or_quoted(post.author, key='author')}\n"
        "comments: false\n"
        f"date: {rfc1123(post.date)}\n"
        f"thumbnail: {image}\n"
        "---\n"
        "\n"
        + (f"{post.body}\n" if post.body_format == MARKDOWN else f"<div>   \n{post.body}{TRAILER}")
    )


def render_article(article: Article) -> bytes:
    """The file an article becomes (its date, or the fetch time when it has none the archive
    can write: as ArchiveWriter writes it)."""
    when = article.date or article.fetched_at or datetime.now(UTC)
    return render(post_for(article, when)).encode("utf-8")


_FILE = re.compile(
    r"\n---\n"
    r"(?P<front>title: [^\n]*\n"
    r"categories: \n"
    r" - [^\n]*\n - [^\n]*\n - [^\n]*\n"
    r"(?:tags: \n(?: - [^\n]*\n)+)?"
    r"headimg: '[^\n]*'\n"
    r"author: [^\n]*\n"
    r"comments: false\n"
    r"date: [^\n]*\n"
    r"thumbnail: '[^\n]*'\n)"
    r"---\n\n(?:<div>   \n(?P<body>.*)"
    + re.escape(TRAILER)
    + r"|(?!<div>   \n)(?P<markdown>.*)\n)",
    re.S,
)


@dataclass(frozen=True)
class ArchiveFile:
    front: str  # the YAML between the two `---` lines
    body: str
    body_format: str = "html"


def parse(text: str) -> ArchiveFile | None:
    """Split a file of our template into front matter and BODY; None if it is not one."""
    m = _FILE.fullmatch(text)
    if m is None:
        return None
    if m.group("body") is not None:
        return ArchiveFile(m.group("front"), m.group("body"))
    return ArchiveFile(m.group("front"), m.group("markdown"), MARKDOWN)


def with_notice(text: str, when: datetime) -> str:
    """An archived file with the reader's notice that its article was taken down at the
    source on `when`'s day (`takedown_notice: true`) first in its body; the same text when it
    is not one of our files."""
    parsed = parse(text)
    if parsed is None:
        return text
    day = f"{when.year}年{when.month}月{when.day}日"
    words = f"原文已于{day}从来源撤下，此为存档。"
    if parsed.body_format == MARKDOWN:
        tail = f"**【存档】**{words}\n\n{parsed.body}\n"
    else:
        tail = f"<div>   \n<p><strong>【存档】</strong>{words}</p>\n{parsed.body}{TRAILER}"
    return f"\n---\n{parsed.front}---\n\n{tail}"


def relink_file(text: str, local: Mapping[str, str]) -> str:
    """An archived file with its images pointed to their stored copies (`local`: URL → URL);
    the same text when it shows none of them (or is not one of our files)."""
    parsed = parse(text)
    if parsed is None or not local:
        return text
    if parsed.body_format == MARKDOWN:
        body = parsed.body
        for url, copy in local.items():
            for end in (")", ' "'):
                target = escape_braces(markdown_url(url))
                body = body.replace(f"]({target}{end}", f"]({markdown_url(copy)}{end}")
        tail = f"{body}\n"
    else:
        tail = f"<div>   \n{relink_images(parsed.body, local)}{TRAILER}"
    front = parsed.front
    m = re.search(r"^headimg: ('[^\n]*')$", front, re.M)
    image = m.group(1)[1:-1].replace("''", "'") if m else ""
    if image in local:
        old, new = single_quoted(image), single_quoted(local[image])
        front = front.replace(f"headimg: {old}\n", f"headimg: {new}\n").replace(
            f"thumbnail: {old}\n", f"thumbnail: {new}\n"
        )
    return f"\n---\n{front}---\n\n{tail}"
