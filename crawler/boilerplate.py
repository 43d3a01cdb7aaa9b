"""Known boilerplate (docs/SINA.md §2): what a source with `clean: true` loses from its bodies.

What Sina puts in an article body that is not the article: the app's QR blocks and their
styles, ad boxes, stock-chart blocks, WeChat adlist comments. This module only knows them
(a leaf, like items.py: any layer may read it); crawler/store/body.py finds them in a body
and removes each whole, before the edits.
"""

from __future__ import annotations

import re

BOILERPLATE_CLASSES = frozenset(
    {
        "appendQr_wrap",
        "app-kaihu-qr",
        "otherContent_01",
        "ct_hqimg",
        "hqimg_related",
        "fin_art_weixin",
    }
)
BOILERPLATE_ID = re.compile(r"(?:ad_\d+|left_hzh_ad)$")
BOILERPLATE_STYLE = re.compile(r"\.(?:appendQr_|app-kaihu-qr)")  # a <style> for those blocks
_ADLIST = re.compile(r"article_adlist\[.*\]article_adlist", re.S)


def is_boilerplate_element(classes: str | None, ident: str | None) -> bool:
    """An element (by its `class` and `id` values) that is boilerplate as a whole."""
    if classes and BOILERPLATE_CLASSES.intersection(classes.split()):
        return True
    return bool(ident and BOILERPLATE_ID.match(ident))


def is_boilerplate_comment(text: str) -> bool:
    """A comment (by its text) that is boilerplate: empty, or an adlist."""
    text = text.strip()
    return not text or bool(_ADLIST.fullmatch(text))
