"""Known boilerplate (docs/SINA.md §2): what a source with `clean: true` loses from its bodies.

What Sina puts in an article body that is not the article: the app's QR blocks and their
styles, ad boxes, stock-chart blocks, WeChat adlist comments. This module only knows them
(a leaf, like items.py: any layer may read it); crawler/store/body.py finds them in a body
and removes each whole, before the edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

BOILERPLATE_CLASSES = frozenset(
    {
        "appendQr_wrap",  # 2020+: "海量资讯、精准解读，尽在新浪财经APP" and its QR code
        "app-kaihu-qr",  # 2022: the brokerage app's QR code (开户二维码)
        "otherContent_01",  # 2024 news: an ad box
        "ct_hqimg",  # 2016 finance: the stock chart and its quote menu (热点栏目 资金流向 …)
        "hqimg_related",
        "fin_art_weixin",
        "video-2017",  # 2018+ news: the video player's stub (its title as text, a play icon)
        "artical-player-wrap",  # 2019 tech: the video player with its playlist and posters
        "tech-quotation",  # 2019 tech: the 新浪众测 app promo box
        "goods-card",  # 看点 2018: a shop's goods card
        "weibo-2017",  # 财经头条 2018: the empty, hidden Weibo widget
    }
)
BOILERPLATE_CLASS_PREFIX = "j_native_"  # mobile pages: ad slots filled by script (sax-type)
BOILERPLATE_ID = re.compile(r"(?:ad_\d+|left_hzh_ad|wx_pic)$")  # wx_pic: WeChat's share picture
# Promotion links and blocks: the entertainment channel's "on your phone" page (2009), the
# stock forum's "进入【新浪财经股吧】讨论" (2016, marked by its click tracking).
BOILERPLATE_LINK = re.compile(r"waptuiguang", re.I)
BOILERPLATE_TRACKING = re.compile(r"suda_\d+_guba$")
# A <style> written for those blocks.
BOILERPLATE_STYLE = re.compile(
    r"\.(?:appendQr_|app-kaihu-qr|ct_hqimg|hqimg_|tech-quotation|tech-con)"
)
_ADLIST = re.compile(r"article_adlist\[.*\]article_adlist", re.S)


def is_boilerplate_element(name: str, attr: Callable[[str], str | None]) -> bool:
    """An element (by its name and attribute values: `attr(name)`, None when absent) that is
    boilerplate as a whole."""
    classes = (attr("class") or "").split()
    if BOILERPLATE_CLASSES.intersection(classes):
        return True
    if any(c.startswith(BOILERPLATE_CLASS_PREFIX) for c in classes):
        return True
    if BOILERPLATE_ID.match(attr("id") or ""):
        return True
    if name == "a" and BOILERPLATE_LINK.search(attr("href") or ""):
        return True
    return bool(BOILERPLATE_TRACKING.match(attr("data-sudaclick") or ""))


def is_boilerplate_comment(text: str) -> bool:
    """A comment (by its text) that is boilerplate: empty, or an adlist."""
    text = text.strip()
    return not text or bool(_ADLIST.fullmatch(text))
