"""A recorded Sina Finance for the replay server: roll API answers (docs/SINA.md §3), pages.

Reference posts become layout-D pages whose #artibody holds the post's body with RSSHub's
edits undone (protocol-relative sinaimg `src`, no `referrerpolicy`, braces unescaped), so a
crawl must give the posts back byte for byte. The real pages of every family are served as
Sina served them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crawler.extract.html import find, selector
from crawler.extract.sina_page import url_id
from crawler.markup import Tag, tokenize
from crawler.store.body import apply_edits

from feed_replay import feeds_yaml
from reference import reference_posts
from replay import ReplayServer, Reply
from sina_cases import SINA_CASES, sina_cases

TEMPLATE = SINA_CASES / "htmlgtmk_t.cj.sina_2018-09-28_caijingtoutiao" / "page.html"
ROLL = "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid={lid}&num=50&page={page}"
SINA_NAME = "新浪财经－国內"


@dataclass(frozen=True)
class RecordedArticle:
    id: str
    url: str
    roll: dict  # the roll item
    page: bytes
    content_type: str
    expected_path: str | None = None  # reference posts: where the crawl must write them
    expected_text: str | None = None


def undo_rsshub(body: str) -> str:
    """The #artibody source text a reference post was made from."""
    edits = []
    for tok in tokenize(body):
        if isinstance(tok, Tag) and tok.name == "img" and not tok.closing:
            for attr in tok.attrs:
                if attr.name == "referrerpolicy":
                    edits.append((attr.start, attr.end, ""))
                elif (
                    attr.name == "src" and attr.value and attr.value.startswith("https://n.sinaimg")
                ):
                    edits.append((attr.value_start, attr.value_start + len("https:"), ""))
    return apply_edits(body, edits).replace("&#123;", "{").replace("&#125;", "}")


def layout_d_page(title: str, body: str) -> bytes:
    html = TEMPLATE.read_text(encoding="utf-8")
    art = find(html, selector("div", id="artibody"))
    html = html[: art.content_start] + "\n" + body + html[art.content_end :]
    h1 = find(html, selector("h1", cls="main-title"))
    html = html[: h1.content_start] + title + html[h1.content_end :]
    return html.encode("utf-8")


def reference_articles() -> list[RecordedArticle]:
    posts = [
        p for p in reference_posts() if p.current_template and p.path.startswith("金融/新浪财经/")
    ]
    articles = []
    for n, post in enumerate(posts):
        docid = f"kref{n:04d}x{abs(hash(post.path)) % 10**6:06d}"
        date = post.date.strftime("%Y-%m-%d")
        url = f"https://finance.sina.com.cn/china/gncj/{date}/doc-i{docid}.shtml"
        roll = {
            "docid": f"comos:{docid}",
            "title": post.front["title"],
            "url": url,
            "intime": str(int(post.date.timestamp())),
            "media_name": "新浪财经",
            "keywords": "经济,财经",
            "ctime": int(post.date.timestamp()),
        }
        articles.append(
            RecordedArticle(
                docid,
                url,
                roll,
                layout_d_page(post.front["title"], undo_rsshub(post.body)),
                "text/html; charset=utf-8",
                post.path,
                post.published,
            )
        )
    return articles


def real_articles() -> list[RecordedArticle]:
    """The saved pages (tests/cases/sina/), listed without title or time so the page's own
    are used; an article's id is its URL's, else its case's key."""
    articles = []
    for case in sina_cases():
        docid = url_id(case.url) or case.key
        roll = {"docid": docid, "url": case.url}
        articles.append(RecordedArticle(docid, case.url, roll, case.page, case.content_type))
    return articles


def media_articles() -> list[RecordedArticle]:
    """The slide and video pages among the cases, listed as the roll lists them."""
    return [
        RecordedArticle(a.id, a.url, {"url": a.url}, a.page, a.content_type)
        for a in real_articles()
        if "/slide_" in a.url or "//video." in a.url
    ]


def on_host(article: RecordedArticle, url: str, roll: dict | None = None) -> RecordedArticle:
    """The same article served at another URL (its mobile page, 看点), listed with `roll`."""
    return RecordedArticle(
        article.id, url, roll or {"url": url}, article.page, article.content_type
    )


def relaid_out(article: RecordedArticle) -> RecordedArticle:
    """The article as Sina might serve it after a redesign: its layout-D page with the body
    and title elements renamed, so that no layout family claims it."""
    page = article.page.replace(b'id="artibody"', b'id="story-body"')
    page = page.replace(b'class="main-title"', b'class="story-title"')
    assert page != article.page
    return RecordedArticle(article.id, article.url, article.roll, page, article.content_type)


def roll_body(items: list[dict], *, jsonp: bool = False, code: int = 0, msg: str = "succ") -> bytes:
    result = {
        "status": {"code": code, "msg": msg},
        "timestamp": "Mon Sep 21 12:25:23 +0800 2026",
        "total": len(items),
        "start": 0,
        "end": len(items),
        "lid": 1686,
        "data": items,
    }
    text = json.dumps({"result": result}, ensure_ascii=False).replace("/", "\\/")
    if jsonp:
        text = f"try{{feedCardJsonpCallback({text});}}catch(e){{}};"
    return text.encode("utf-8")


def serve_sina(
    server: ReplayServer, articles: list[RecordedArticle], *, lid: int = 1686, jsonp: bool = False
) -> None:
    """One roll page listing `articles` (and a duplicate), each article page recorded."""
    items = [a.roll for a in articles]
    if items:
        items.append(dict(items[0]))  # a duplicate docid in one list
    server.add(
        ROLL.format(lid=lid, page=1),
        Reply(200, roll_body(items, jsonp=jsonp), {"Content-Type": "application/json"}),
    )
    server.add(ROLL.format(lid=lid, page=2), Reply(200, roll_body([])))
    for article in articles:
        server.add(article.url, Reply(200, article.page, {"Content-Type": article.content_type}))


FILLER = "国家统计局今天发布的数据显示，经济运行总体平稳，结构持续优化，市场预期逐步改善。"


def synthetic_articles(count: int, *, long: bool = False) -> list[RecordedArticle]:
    """`count` layout-D articles with distinct titles, times and bodies (a big mirror);
    `long`: paragraphs as long as a real article's (about 1,500 characters in all, the median
    of the saved Sina pages), not a line each."""
    articles = []
    filler = FILLER * 2 if long else ""
    for i in range(count):
        docid = f"syn{i:07d}"
        url = f"https://finance.sina.com.cn/china/2024-01-01/doc-i{docid}.shtml"
        title = f"合成新闻第{i}号：经济数据发布"
        body = "".join(f"<p>　　第{i}篇文章的第{k}段，{filler}内容不同。</p>\n" for k in range(20))
        body += f'<div class="img_wrapper"><img src="//n.sinaimg.cn/finance/syn/{i}.jpg"></div>\n'
        roll = {"docid": docid, "url": url, "title": title, "intime": str(1704067200 + 60 * i)}
        articles.append(
            RecordedArticle(
                docid, url, roll, layout_d_page(title, body), "text/html; charset=utf-8"
            )
        )
    return articles


def roll_address(lid: int, page: int, pageid: int = 155) -> str:
    """The roll API's URL for one page of a roll (ROLL with any pageid)."""
    return ROLL.replace("pageid=155", f"pageid={pageid}").format(lid=lid, page=page)


def serve_pages(
    server: ReplayServer, articles: list[RecordedArticle], *, lid: int = 1686, pageid: int = 155
) -> int:
    """The articles listed 50 to a roll page, newest first; returns the number of pages."""
    pages = [articles[i : i + 50] for i in range(0, len(articles), 50)]
    for number, page in enumerate(pages, start=1):
        roll = Reply(200, roll_body([a.roll for a in page]))
        server.add(roll_address(lid, number, pageid), roll)
    server.add(roll_address(lid, len(pages) + 1, pageid), Reply(200, roll_body([])))
    for article in articles:
        server.add(article.url, Reply(200, article.page, {"Content-Type": article.content_type}))
    return len(pages)


def sina_config(folder: Path, **extra) -> Path:
    """A feeds.yaml in `folder` with the Sina roll as its one source (`extra`: its keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = {"name": SINA_NAME, "site": "新浪财经", "category": "金融", "type": "sina", **extra}
    return feeds_yaml(folder, [source])


def reference_config(folder: Path) -> Path:
    """The Sina source as the reference archive kept it: `clean: false`, pages as served, so
    that its posts come out byte for byte (RecordedArticle.expected_text)."""
    return sina_config(folder, clean=False)


def md_files(archive: Path) -> dict[str, bytes]:
    """Every archive file below `archive`: path → bytes."""
    return {p.relative_to(archive).as_posix(): p.read_bytes() for p in archive.rglob("*.md")}


# The 7×24 live feed (docs/SINA.md §6): tests/fixtures/sina-live/ holds two real flashes.
LIVE = "https://zhibo.sina.com.cn/api/zhibo/feed?zhibo_id={zhibo_id}&page={page}&pagesize=10&dire=f&dpc=1"
LIVE_NAME = "新浪财经7×24"
LIVE_FIXTURES = Path(__file__).parent / "fixtures" / "sina-live"


def real_flashes() -> list[dict]:
    """The two real flashes, newest first."""
    names = ("flash-4155848.json", "flash-1438182.json")
    return [json.loads((LIVE_FIXTURES / n).read_text(encoding="utf-8")) for n in names]


def synthetic_flash(n: int, *, minute: int | None = None, **fields) -> dict:
    """A flash of the feed's shape: id 9000000 + n, created on 2026-11-30 at 08:00 + n min."""
    minute = n if minute is None else minute
    when = f"2026-11-30 {8 + minute // 60:02d}:{minute % 60:02d}:00"
    ext = {
        "stocks": [{"market": "cn", "symbol": f"sz{n:06d}", "key": f"股票{n}"}],
        "docurl": f"https://finance.sina.com.cn/7x24/2026-11-30/doc-ilive{n:07d}.shtml",
    }
    return {
        "id": 9000000 + n,
        "zhibo_id": 152,
        "type": 0,
        "rich_text": f"【第{n}条快讯】市场消息，第{n}家公司发布公告。",
        "multimedia": "",
        "creator": "editor@staff.sina.com",
        "create_time": when,
        "update_time": when,
        "is_delete": 0,
        "top_value": 0,
        "anchor": "直播员",
        "ext": json.dumps(ext, ensure_ascii=False),
        "tag": [{"id": "3", "name": "公司"}],
        "docurl": "",
        **fields,
    }


def live_body(flashes: list[dict], *, jsonp: bool = False, code: int = 0, msg: str = "OK") -> bytes:
    """One page of the live feed's answer (the envelope RSSHub reads: result.data.feed.list)."""
    data = {"feed": {"page_info": {"totalPage": 1, "pageSize": 10, "page": 1}, "list": flashes}}
    result = {"status": {"code": code, "msg": msg}, "timestamp": "Mon Nov 30 08:30:00 +0800 2026"}
    text = json.dumps({"result": {**result, "data": data}}, ensure_ascii=False)
    text = text.replace("/", "\\/")
    if jsonp:
        text = f"try{{jQuery111_1({text});}}catch(e){{}};"
    return text.encode("utf-8")


def serve_live(server: ReplayServer, flashes: list[dict], *, zhibo_id: int = 152) -> int:
    """The flashes ten to a page, newest first, then an empty page; returns the page count."""
    pages = [flashes[i : i + 10] for i in range(0, len(flashes), 10)]
    for number, page in enumerate([*pages, []], start=1):
        reply = Reply(200, live_body(page), {"Content-Type": "application/json"})
        server.add(LIVE.format(zhibo_id=zhibo_id, page=number), reply)
    return len(pages)


def live_config(folder: Path, **extra) -> Path:
    """A feeds.yaml in `folder` with the 7×24 live feed as its one source."""
    folder.mkdir(parents=True, exist_ok=True)
    source = {
        "name": LIVE_NAME,
        "site": "新浪财经",
        "category": "7×24",
        "type": "sina_live",
        **extra,
    }
    return feeds_yaml(folder, [source])
