"""Sina extraction as pure functions: the roll API's answers and the page families."""

from __future__ import annotations

import json

import pytest

from crawler.extract.html import decode_html
from crawler.extract.sina_page import beijing_time, doc_id, sina_page
from crawler.extract.sina_roll import RollError, parse_roll, roll_url

from reference import FIXTURES
from sina_replay import roll_body

PAGES = FIXTURES / "sina-pages"
FAMILIES = {
    "crawlerclub-ce": "C",
    "cwced": "A",
    "cxextractor": "B",
    "gne_sina_4": "B",
    "gne_sina_2": "D",
    "gne_sina_3": "D",
    "htmlgtmk_k": "D",
    "htmlgtmk_t": "D",
    "gne_sina_1": "E",
    "gne_sina_5": "E",
    "gne_sina_sina": "E",
    "htmlgtmk_news": "E",
    "magichtml_news": "E",
    "magichtml_finance_2016": "C",
    "magichtml_finance.sina.cn": "G",
}


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


@pytest.mark.parametrize(
    "entry", json.loads((PAGES / "manifest.json").read_text("utf-8")), ids=lambda e: e["file"][5:]
)
def test_each_saved_page_finds_its_family_and_body(entry):
    page = sina_page(decode_html((PAGES / entry["file"]).read_bytes()), entry["url"])
    family = next(f for prefix, f in FAMILIES.items() if entry["file"][5:].startswith(prefix))
    assert page.family == family
    assert page.body and len(page.body.strip()) > 500
    observed = entry["observed"]
    title = observed.get("h1.main-title") or observed.get("#artibodyTitle")
    if title:
        assert page.title == title


def test_gb2312_pages_decode_as_gb18030():
    raw = (PAGES / "html" / "cxextractor_ent_2009-11-09_13482762951_gb2312.html").read_bytes()
    assert "爱戴掀起红盖头" in decode_html(raw)
    assert decode_html("中文".encode("gb18030"), "text/html; charset=GB2312") == "中文"
