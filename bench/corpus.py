"""A realistic archive of N articles (100,000 by default) for the review commands' benchmark.

Its text is the real article text of the test fixtures (the reference posts and the saved
Sina pages: 959 sentences, 46,000 characters), its sentences shuffled across items, so words
keep realistic frequencies; titles are real titles' fragments recombined; dates spread over
ten years; each item also names one stock code drawn from a Zipf law (a few codes in
thousands of items, most in one or two: the rare words). Four in five items are the shipped
Sina source's, with the ids and URLs of the benchmark's Sina mirror (a re-crawl finds roll
page 1 archived); the rest belong to two feed sources, one of them in Markdown.

    python bench/corpus.py DIR [N]     # builds the archive in DIR (about 3 minutes for 100,000)

The same N always gives the same archive (a seeded generator).
"""

from __future__ import annotations

import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

ARTICLE = "http://finance.sina.com.cn/china/2024-01-01/doc-ibench{:07d}.shtml"  # run.py's mirror
FIRST_DAY = datetime(2016, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=3652)
CODES = 20_000


def real_texts() -> tuple[list[str], list[str]]:
    """The sentences and titles of the fixtures' real articles."""
    from crawler.extract.page import decode_page
    from crawler.extract.sina_media import sina_page
    from crawler.store.search import plain_text

    from reference import reference_posts
    from sina_cases import sina_cases

    texts, titles = [], []
    for post in reference_posts():
        texts.append(plain_text(post.body))
        titles.append(str(post.front.get("title", "")))
    for case in sina_cases():
        page = sina_page(decode_page(case.page, case.content_type), case.url)
        texts.append(plain_text(page.body or ""))
        titles.append(page.title)
    sentences = sorted(
        {s.strip() for t in texts for s in re.split(r"(?<=[。！？])", t) if len(s.strip()) >= 6}
    )
    fragments = sorted(
        {
            f.strip()
            for t in titles
            for f in re.split(r"[，、：！？｜\s]+", t)
            if len(f.strip()) >= 2
        }
    )
    return sentences, fragments


def build(root: Path, count: int = 100_000, seed: int = 7) -> float:
    """Write the archive below `root`; the seconds it took."""
    from crawler.items import Article, Shelf
    from crawler.settings import ARCHIVE_BATCH as BATCH
    from crawler.store import ArchiveWriter

    sentences, fragments = real_texts()
    rng = random.Random(seed)
    shelves = [
        Shelf("金融", "新浪财经", "新浪财经－国內"),
        Shelf("订阅", "财经早报", "财经早报"),
        Shelf("订阅", "市场观察", "市场观察", body_format="markdown"),
    ]
    zipf = [1 / rank for rank in range(1, CODES + 1)]
    codes = rng.choices(range(CODES), weights=zipf, k=count)
    fetched = datetime(2026, 11, 30, tzinfo=UTC)
    started = time.perf_counter()
    sina_items = 0  # the mirror's ids are contiguous: bench0000000 the newest Sina item
    with ArchiveWriter(root, batch=BATCH) as writer:
        for i in range(count):
            shelf = shelves[0] if i % 5 else shelves[1 + (i // 5) % 2]
            paragraphs = []
            for _ in range(rng.randint(4, 12)):
                text = "".join(rng.choices(sentences, k=rng.randint(1, 4)))
                paragraphs.append(f"<p>　　{text}</p>")
            paragraphs.insert(
                rng.randrange(len(paragraphs)), f"<p>（证券代码：{600000 + codes[i]}）</p>"
            )
            if rng.random() < 0.3:
                paragraphs.append(
                    f'<div class="img_wrapper"><img src="//n.sinaimg.cn/bench/{i}.jpg"></div>'
                )
            title = "：".join(rng.sample(fragments, 2)) + f"（{i}）"
            date = FIRST_DAY + SPAN * ((count - i) / count) - timedelta(seconds=rng.randint(0, 600))
            sina = shelf is shelves[0]
            if sina:
                item_id, url = f"bench{sina_items:07d}", ARTICLE.format(sina_items)
                sina_items += 1
            else:
                item_id, url = f"feed-{i}", f"https://feeds.example/{i}"
            writer.write(
                Article(
                    id=item_id,
                    url=url,
                    title=title,
                    body="\n".join(paragraphs),
                    shelf=shelf,
                    date=date,
                    author="新浪财经" if sina else shelf.site,
                    keywords=tuple(rng.sample(fragments, 2)),
                    fetched_at=fetched,
                )
            )
            if i % 10_000 == 9_999:
                print(f"{i + 1} written", file=sys.stderr)
    return time.perf_counter() - started


if __name__ == "__main__":
    target = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    print(f"{n} articles in {build(target, n):.0f} s")
