"""A real client: Hexo 7 loads a crawled archive and sees each post as its front matter says.

The site is the repository's blog set-up (examples/blog). Needs Node.js and npm (`npm ci`
installs Hexo from examples/blog's lockfile once per session). Outside CI a machine without npm
skips it; in CI (CI=true) a missing npm is a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import yaml

from replay import ReplayServer, serve_images
from runner import crawl
from sina_replay import real_articles, reference_articles, serve_sina, sina_config

pytestmark = [pytest.mark.slow, pytest.mark.node, pytest.mark.process]

# Load the site in the working folder the way `hexo generate` does and save Hexo's database
# (db.json); `require('hexo')` resolves from the working folder.
LOAD = """
const Hexo = require('hexo');
const hexo = new Hexo(process.cwd(), { silent: true });
hexo.init()
  .then(() => hexo.load())
  .then(() => hexo.database.save())
  .then(() => hexo.exit())
  .catch((err) => { console.error(err); process.exit(1); });
"""


def hexo_models(site: Path) -> dict[str, list[dict]]:
    """Hexo's database after loading the site the way `hexo generate` does."""
    result = subprocess.run(
        ["node", "-e", LOAD],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((site / "db.json").read_text(encoding="utf-8"))["models"]


def hexo_posts(site: Path) -> dict[str, dict]:
    """Hexo's view of every post: source path → title, date, categories root to leaf."""
    models = hexo_models(site)
    categories = {c["_id"]: c for c in models["Category"]}

    def chain(category_id: str) -> list[str]:
        category = categories[category_id]
        parent = category.get("parent")
        return (chain(parent) if parent else []) + [category["name"]]

    posts = {}
    for post in models["Post"]:
        ids = [pc["category_id"] for pc in models["PostCategory"] if pc["post_id"] == post["_id"]]
        deepest = max((chain(i) for i in ids), key=len, default=[])
        posts[post["source"]] = {
            "title": post["title"],
            "date": post["date"],
            "categories": deepest,
            "content": post.get("content", ""),
        }
    hidden = [
        item["_id"]
        for name in ("Post", "Page", "Asset")
        for item in models[name]
        if "/.crawler/" in "/" + item.get("source", item["_id"])
    ]
    assert hidden == [], "the provenance folder leaked into the site"
    return posts


def test_hexo_loads_every_crawled_post_as_written(hexo_site: Path, replay: ReplayServer):
    posts_dir = hexo_site / "source" / "_posts"
    shutil.rmtree(posts_dir, ignore_errors=True)
    articles = reference_articles() + real_articles()
    serve_sina(replay, articles)
    result = crawl(replay, posts_dir)
    assert result.returncode == 0, result.stderr
    assert (posts_dir / ".crawler" / "archive.sqlite3").exists()
    seen = hexo_posts(hexo_site)
    files = sorted(posts_dir.rglob("*.md"))
    assert len(files) == len(articles)
    for path in files:
        source = "_posts/" + path.relative_to(posts_dir).as_posix()
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("\n---\n")[1])
        assert source in seen, f"Hexo did not load {source}"
        post = seen[source]
        assert post["title"] == front["title"], source
        assert post["categories"] == front["categories"], source
        written = parsedate_to_datetime(front["date"])
        assert post["date"] == written.strftime("%Y-%m-%dT%H:%M:%S.000Z"), source


def test_hexo_serves_kept_images_in_markdown_posts(
    hexo_site: Path, replay: ReplayServer, tmp_path: Path
):
    posts_dir = hexo_site / "source" / "_posts"
    shutil.rmtree(posts_dir, ignore_errors=True)
    serve_sina(replay, real_articles())
    serve_images(replay)
    config = sina_config(tmp_path, images="keep", rewrite_images=True, body_format="markdown")
    result = crawl(replay, posts_dir, config=config)
    assert result.returncode == 0, result.stderr
    stored = sorted(
        p.relative_to(hexo_site / "source").as_posix()
        for p in (posts_dir / "images").rglob("*.png")
    )
    assert len(stored) > 10
    posts = hexo_posts(hexo_site)
    assets = {a["path"] for a in hexo_models(hexo_site)["Asset"]}
    assert set(stored) <= assets  # Hexo copies the image store into the site
    shown = set()
    for post in posts.values():
        shown.update(re.findall(r'<img src="(/_posts/images/[^"]+)"', post["content"]))
        assert not re.search(r"<img src=\"https?:", post["content"])  # all kept copies
    assert shown and {s.lstrip("/") for s in shown} <= set(stored)
