"""A feed's CSS styles only its article (issue 27): on examples/blog's pages, whatever a body
does with its style attributes, the blog's own header, menu and sidebar stay where the theme
put them and on top. Judged in headless Chromium: a probe page of ours loads each post page
in a frame and asks `elementFromPoint` what a reader would click at the centre of each of the
blog's own boxes.

Needs Node.js and npm (Hexo) and Debian's `chromium`; outside CI a machine without them skips,
in CI (CI=true) a missing one fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import needs

from browser import chromium, serve_folder
from feed_replay import RSS, feed_source, feeds_yaml, rss, rss_item
from replay import ReplayServer, Reply
from runner import crawl

pytestmark = [pytest.mark.slow, pytest.mark.node, pytest.mark.process, pytest.mark.browser]

# Style attributes that the body edits keep (in the flow) but that move or grow an element
# over everything around the article, and the one they remove (out of the flow).
OVERLAYS = {
    "offset": '<div style="position:relative;top:-3000px;left:-3000px;width:9000px;'
    'height:9000px;background:#c00;z-index:2147483647">offset</div>',
    "transform": '<div style="transform:translate(-1500px,-1500px) scale(40);background:#c00">'
    "transform</div>",
    "margin": '<div style="margin:-3000px -3000px 0;width:9000px;height:9000px;'
    'background:#c00;position:relative;z-index:9">margin</div>',
    "absolute": '<div style="position:absolute;top:0;left:0;width:100vw;height:100vh;'
    'background:#c00;z-index:9">absolute</div>',
}
# The blog's own boxes on a post page (landscape); on the home page, every post's title too.
OWN = ["#header", "#main-nav", "#sidebar", "#footer", ".article-meta", ".article-title"]

PROBE = """<!DOCTYPE html><meta charset="utf-8"><body><pre id="result"></pre>
<iframe id="f" src="%s" style="width:1200px;height:1600px;border:0"></iframe><script>
document.getElementById('f').onload = function () {
  const doc = this.contentDocument, out = {};
  for (const selector of %s) {
    const boxes = doc.querySelectorAll(selector);
    if (!boxes.length) out[selector] = 'missing';
    boxes.forEach((box, i) => {
      box.scrollIntoView({block: 'center'});
      const r = box.getBoundingClientRect();
      const hit = doc.elementFromPoint(r.left + Math.min(r.width / 2, 40), r.top + r.height / 2);
      const what = hit ? hit.outerHTML.slice(0, 80) : 'none';
      out[selector + ' ' + i] = hit && box.contains(hit) ? 'own' : what;
    });
  }
  document.getElementById('result').textContent = JSON.stringify(out);
};
</script>"""


def test_no_post_covers_the_blogs_own_interface(
    hexo_site: Path, replay: ReplayServer, tmp_path: Path
):
    needs("chromium", why="the browser check")
    items = [
        rss_item(f"overlay {name}", name, f"<p>前文</p>{html}<p>后文</p>")
        for name, html in OVERLAYS.items()
    ]
    replay.add("https://feeds.test/overlay.xml", Reply(200, rss("overlay", items), RSS))
    config = feeds_yaml(tmp_path, [feed_source("overlay", "https://feeds.test/overlay.xml")])
    posts = hexo_site / "source" / "_posts"
    shutil.rmtree(posts, ignore_errors=True)
    shutil.rmtree(hexo_site / "public", ignore_errors=True)
    result = crawl(replay, posts, config=config)
    assert result.returncode == 0, result.stderr
    build = subprocess.run(
        ["npm", "run", "--silent", "build"], cwd=hexo_site, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    public = hexo_site / "public"
    pages = {}
    for page in public.rglob("*.html"):
        found = re.search(r'class="p-name article-title"[^>]*>\s*overlay (\w+)', page.read_text())
        if found:
            pages[found.group(1)] = page.relative_to(public).as_posix()
    assert set(pages) == set(OVERLAYS)
    pages["home"] = "index.html"  # every post's excerpt, one under another
    site = serve_folder(public)
    base = f"http://127.0.0.1:{site.server_address[1]}/"
    covered = {}
    try:
        for name, page in sorted(pages.items()):
            probe = public / f"probe-{name}.html"
            probe.write_text(PROBE % ("/" + page, json.dumps(OWN)), encoding="utf-8")
            dom = chromium(
                base + probe.name,
                "--dump-dom",
                "--window-size=1300,1700",
                proxy="http://127.0.0.1:9",  # nothing may leave: there is no such proxy
                profile=tmp_path / "profile",
            ).stdout
            shown = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
            assert shown and shown.group(1), f"the probe did not run for {name}: {dom[:300]}"
            boxes = json.loads(shown.group(1).replace("&lt;", "<").replace("&gt;", ">"))
            covered.update({f"{name}: {k}": v for k, v in boxes.items() if v != "own"})
    finally:
        site.shutdown()
    assert covered == {}, f"the blog's own boxes covered by a post: {covered}"
