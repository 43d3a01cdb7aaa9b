"""Sina extraction in this process: the roll API's answers, the page families, and every saved
page's case (tests/cases/sina/: its fields and its archive files)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from crawler.extract.page import decode_page
from crawler.extract.sina_media import MEDIA_PAGES, media_kind, sina_page
from crawler.extract.sina_page import FAMILIES, beijing_time, claim, claims, doc_id
from crawler.extract.sina_roll import RollError, parse_roll, roll_url

from sina_cases import FIELDS, FILES, SINA_CASES, SinaCase, run_case, sina_cases
from sina_replay import roll_body


def test_roll_url_is_the_documented_request():
    assert roll_url(1686, 2) == (
        "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=2"
    )


def test_plain_and_jsonp_answers_give_the_same_items():
    items = [
        {
            "docid": "comos:abc",
            "url": "https://finance.sina.com.cn/a/doc-iabc.shtml",
            "title": "标题",
            "intime": "1632786899",
        }
    ]
    assert parse_roll(roll_body(items)) == parse_roll(roll_body(items, jsonp=True))
    (item,) = parse_roll(roll_body(items))
    assert (item.id, item.title, item.intime) == ("abc", "标题", 1632786899)


def test_numbers_strings_missing_fields_and_duplicates():
    items = [
        {
            "docid": "1",
            "url": "https://finance.sina.com.cn/x/doc-iaaa.shtml?cre=tianyi#c",
            "intime": 1632786899,
            "keywords": "经济,北京",
        },
        {"url": "https://finance.sina.com.cn/x/doc-iaaa.shtml"},  # the same docid again
        {"docid": "no-url"},
        {"url": "javascript:alert(1)", "docid": "x"},
        {"url": "https://k.sina.com.cn/article_1_2.html", "docid": "comos:k1", "ctime": "12"},
        "not an object",
    ]
    got = parse_roll(roll_body(items))
    assert [(i.id, i.url, i.intime, i.keywords) for i in got] == [
        ("aaa", "https://finance.sina.com.cn/x/doc-iaaa.shtml", 1632786899, ("经济", "北京")),
        ("k1", "https://k.sina.com.cn/article_1_2.html", 12, ()),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            roll_body([], code=11, msg="列表和页面没有经过注册"),
            "roll API error 11: 列表和页面没有经过注册",
        ),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"result": []}', "no 'result'"),
        (b'{"result": {"status": {"code": 0}, "data": {}}}', "'data' is not a list"),
    ],
)
def test_errors(body, message):
    with pytest.raises(RollError, match=message):
        parse_roll(body)


def test_empty_list_is_no_error():
    assert parse_roll(roll_body([])) == []


def test_doc_ids_and_dates():
    assert doc_id("https://finance.sina.com.cn/china/2021-09-27/doc-iktzscyx6761012.shtml") == (
        "ktzscyx6761012"
    )
    assert doc_id("https://k.sina.com.cn/article_1.html") is None
    assert beijing_time("2018年12月28日 19:55").isoformat() == "2018-12-28T19:55:00+08:00"
    assert beijing_time("2009年11月09日13:48").isoformat() == "2009-11-09T13:48:00+08:00"
    assert beijing_time("2005.08.26 05:39").isoformat() == "2005-08-26T05:39:00+08:00"
    assert beijing_time("2019-02-30 10:00:00") is None and beijing_time("") is None


CASES = sina_cases()
CASE_FILES = {"page.html", "case.json", "expected.json", *FILES.values()}


def case_id(case: SinaCase) -> str:
    return case.key


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_case_folder_is_complete(case):
    names = {p.name for p in case.folder.iterdir() if not p.name.startswith("groundtruth.")}
    assert names == CASE_FILES, f"run: .venv/bin/python tests/regen.py {case.key}"
    source = json.loads((case.folder / "case.json").read_text(encoding="utf-8"))["source"]
    page = (case.folder / "page.html").read_bytes()
    assert (hashlib.sha256(page).hexdigest(), len(page)) == (source["sha256"], source["bytes"])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_case_is_claimed_by_exactly_its_family(case):
    """The dated families never overlap on a saved page; the fallback takes only what none
    of them claims. A new family must keep it so (or a page would change family silently)."""
    html = decode_page(case.page, case.content_type)
    claimed = [family.family for family in claims(html)]
    if case.family in MEDIA_PAGES:  # no family's page: told by its host and its data
        assert (claimed, media_kind(html, case.url)) == ([], case.family)
    else:
        assert claimed == [case.family]
    assert getattr(claim(html), "family", None) == (claimed or [None])[0]  # the crawl's one pass


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_case_is_an_article(case):
    page = run_case(case).page
    assert (page.family, page.recognized) == (case.family, True)
    assert page.body and len(page.body.strip()) > (200 if case.family in MEDIA_PAGES else 500)


@pytest.mark.parametrize(
    ("case", "field"), [(c, f) for c in CASES for f in FIELDS], ids=lambda v: getattr(v, "key", v)
)
def test_each_case_gives_its_expected_field(case, field):
    assert run_case(case).fields.get(field) == case.expected()[field]


@pytest.mark.parametrize(
    ("case", "body_format"),
    [(c, f) for c in CASES for f in FILES],
    ids=lambda v: getattr(v, "key", v),
)
def test_each_case_gives_its_expected_file(case, body_format):
    assert run_case(case).files.get(body_format) == case.expected_file(body_format)


# Pictures that are page furniture in the saved pages (docs/SINA.md §2): the finance app's QR
# code, the brokerage app's, WeChat's share picture, a video player's poster, the quote chart.
FURNITURE = re.compile(
    r"/cece9e13/20200514/343233024\.png|/20220216/303e-b2864e7bf4f7e5ecede113b90b5a53c9\.png"
    r"|/2fb77759/20151125/320X320\.png|ivideo\.sina\.com\.cn|entphone\.gif|/newchart/"
)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_headimg_is_page_furniture_by_default(case):
    """The shipped defaults (`type: sina` is `clean: true`): the picture a theme shows for a
    post is the article's own, or none."""
    text = run_case(case).files["html"].decode("utf-8")
    (image,) = re.findall(r"^headimg: '(.*)'$", text, re.M)
    if case.family == "video":  # a video page's poster is its picture
        assert image == run_case(case).page.poster
    else:
        assert not FURNITURE.search(image), image


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.family)
def test_each_family_has_a_case_and_says_when_it_was_seen(family):
    days = sorted(case.published_day for case in CASES if case.family == family.family)
    assert days, f"family {family.family} has no case in tests/cases/sina/"
    assert family.seen == (days[0], days[-1])
    assert family.markers and family.body_at


def test_each_family_has_a_row_in_the_sina_notes():
    """docs/SINA.md §1 describes every family the code knows (docs/EXTENDING.md)."""
    notes = (Path(__file__).parent.parent / "docs" / "SINA.md").read_text(encoding="utf-8")
    layouts = notes.split("## 1. Layout families", 1)[1].split("\n## ", 1)[0]
    rows = {line[2] for line in layouts.splitlines() if re.match(r"\| [A-Z]'?\. ", line)}
    assert {family.family for family in FAMILIES} <= rows


def test_only_the_last_family_is_a_fallback():
    assert [f.fallback for f in FAMILIES] == [False] * (len(FAMILIES) - 1) + [True]


@pytest.mark.parametrize(
    ("url", "html", "kind"),
    [
        ("https://video.sina.com.cn/p/finance/2022-01-01/detail-ivideo01.d.html", "<p>x", "video"),
        ("https://slide.finance.sina.com.cn/2022/slide_1_2_3.html", "<p>x", "slides"),
        ("https://finance.sina.com.cn/a/doc-ix.shtml", "<script>var slide_data = {}", "slides"),
    ],
)
def test_video_and_slide_pages_are_told_from_unknown_layouts(url, html, kind):
    page = sina_page(html, url)
    assert (page.family, page.is_media, page.recognized) == (kind, True, False)


def test_a_page_no_family_knows_is_not_recognized():
    html = '<html><h1 class="headline">新版面</h1><div class="post-body"><p>正文</p></div></html>'
    page = sina_page(html, "https://finance.sina.com.cn/china/2026-11-30/doc-inew0001.shtml")
    assert (page.family, page.is_media, page.recognized, page.body) == ("?", False, False, None)
    # a family's markers with its body element unclosed: not an article either
    cut = '<h1 class="main-title">t</h1><div id="article"><p>正文'
    assert not sina_page(cut, "https://news.sina.com.cn/c/doc-ix.shtml").recognized


def test_gb2312_pages_decode_as_gb18030():
    raw = (SINA_CASES / "cxextractor_ent_2009-11-09_13482762951_gb2312" / "page.html").read_bytes()
    assert "爱戴掀起红盖头" in decode_page(raw)
    assert decode_page("中文".encode("gb18030"), "text/html; charset=GB2312") == "中文"
