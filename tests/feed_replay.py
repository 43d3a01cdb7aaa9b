"""Feeds for the replay server, among them RSS 2.0 feeds rebuilt from the reference posts
(RSSHub made those posts from feeds: title, pubDate, the body as CDATA description)."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from crawler.store.body import first_image, one_block

from reference import ReferencePost, reference_posts

OPENING, TRAILER = "\n<div>   \n", "  \n</div>\n" + " " * 12


@dataclass(frozen=True)
class RebuiltFeed:
    category: str
    site: str
    name: str
    url: str
    xml: bytes
    expected: dict[str, str]  # archive path → the post, its body trimmed as docs/FORMAT.md says


def rss(title: str, items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://rsshub.test/</link>"
        f"<description>rebuilt</description>{''.join(items)}</channel></rss>"
    ).encode()


def rss_item(
    title: str, guid: str, body: str, *, date: str = "", image: str = "", link: str = ""
) -> str:
    cdata = body.replace("]]>", "]]]]><![CDATA[>")
    parts = [
        f"<title>{escape(title)}</title>",
        f'<guid isPermaLink="false">{escape(guid)}</guid>',
        f"<description><![CDATA[{cdata}]]></description>",
    ]
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if image:
        parts.append(f'<enclosure url="{escape(image)}" type="image/jpeg" length="0"/>')
    return f"<item>{''.join(parts)}</item>"


def _item_for(post: ReferencePost) -> str:
    body = post.body.replace("&#123;", "{").replace("&#125;", "}")
    image = "" if first_image(body) else post.front["headimg"]
    return rss_item(
        post.front["title"],
        post.path,
        body,
        date=format_datetime(post.date, usegmt=True),
        image=image,
        link=f"https://rsshub.test/item/{abs(hash(post.path))}",
    )


def rebuilt_feeds() -> list[RebuiltFeed]:
    groups: dict[tuple[str, str, str], list[ReferencePost]] = {}
    for post in reference_posts():
        if post.current_template:
            groups.setdefault(tuple(post.front["categories"]), []).append(post)
    feeds = []
    for n, ((category, site, name), posts) in enumerate(sorted(groups.items())):
        expected = {}
        for post in posts:
            trimmed = one_block(post.body.strip(" \t\n\r\f"))  # docs/FORMAT.md BODY edit 5
            expected[post.path] = post.text.replace(
                OPENING + post.body + TRAILER, OPENING + trimmed + TRAILER
            )
        feeds.append(
            RebuiltFeed(
                category,
                site,
                name,
                f"https://rsshub.test/feed/{n}.xml",
                rss(name, [_item_for(p) for p in posts]),
                expected,
            )
        )
    return feeds


RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feeds_yaml(tmp_path: Path, sources: list[dict]) -> Path:
    lines = ["sources:"]
    for source in sources:
        fields = ", ".join(
            f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {str(v).lower()}"
            for k, v in source.items()
        )
        lines.append(f"  - {{{fields}}}")
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def feed_source(name: str, url: str, category: str = "测试", site: str = "站点", **extra) -> dict:
    return {"name": name, "site": site, "category": category, "type": "feed", "url": url, **extra}
