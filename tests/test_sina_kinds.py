"""Every kind of item Sina lists (issue 31): slide and video pages, one article on several
hosts, and the 7×24 live feed (docs/SINA.md §0, §6)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.config import ConfigError, parse_config
from crawler.extract.sina_article import page_id, read_page, sina_article
from crawler.extract.sina_live import flash_article, flash_title, live_url, parse_live
from crawler.extract.sina_media import sina_page
from crawler.extract.sina_page import BEIJING, doc_id, url_id
from crawler.extract.sina_roll import RollError, parse_roll
from crawler.store import ProvenanceIndex
from crawler.store.verify import verify

from replay import ReplayServer, Reply
from runner import FAST, crawl, run_cli
from sina_cases import sina_cases
from sina_replay import (
    LIVE,
    LIVE_NAME,
    SINA_NAME,
    RecordedArticle,
    live_body,
    live_config,
    md_files,
    media_articles,
    on_host,
    real_articles,
    real_flashes,
    roll_body,
    serve_live,
    serve_pages,
    sina_config,
    synthetic_articles,
    synthetic_flash,
)

# --- one article, one id, whichever host serves it -------------------------------------


def test_an_article_has_one_id_on_every_host():
    desktop = "https://finance.sina.com.cn/china/2024-05-10/doc-inausehc2630922.shtml"
    mobile = "https://finance.sina.cn/2024-05-10/detail-inausehc2630922.d.html?vt=4"
    news_mobile = "https://news.sina.cn/gn/2024-05-10/detail-inausehc2630922.d.html"
    assert doc_id(desktop) == doc_id(mobile) == doc_id(news_mobile) == "nausehc2630922"
    assert url_id("https://k.sina.cn/article_6598441619_1894c3a9300100elpc.html?from=x") == (
        "1894c3a9300100elpc"
    )
    assert url_id("https://k.sina.com.cn/article_6598441619_1894c3a9300100elpc.html") == (
        "1894c3a9300100elpc"
    )
    assert url_id("https://t.cj.sina.com.cn/articles/view/6479293414/182322be600100i6z0") == (
        "182322be600100i6z0"
    )
    assert url_id("https://slide.finance.sina.com.cn/sc/slide_31_84574_533001.html#p=2") == (
        "slide_31_84574_533001"
    )
    assert url_id("https://finance.sina.com.cn/") is None


def test_the_roll_lists_an_article_once_whichever_host_it_names():
    """A roll item's id is its URL's doc id, else its docid, else its URL's other id: a roll
    naming one article on the desktop and the mobile host, or by docid on 看点, has it once."""
    items = [
        {"url": "https://finance.sina.com.cn/china/2024-05-10/doc-inausehc2630922.shtml"},
        {"wapurl": "https://finance.sina.cn/2024-05-10/detail-inausehc2630922.d.html"},
        {
            "docid": "comos:nausehc2630922",
            "url": "https://k.sina.com.cn/article_6598441619_1894c3a9300100elpc.html",
        },
        {"url": "https://k.sina.cn/article_1_m1840a511000100anm3.html"},  # no docid
        {"url": "https://slide.finance.sina.com.cn/sc/slide_31_84574_533001.html"},
    ]
    ids = [item.id for item in parse_roll(roll_body(items))]
    assert ids == ["nausehc2630922", "m1840a511000100anm3", "slide_31_84574_533001"]


def test_a_fetched_page_is_known_by_the_id_the_roll_gives_it():
    """`crawler fetch URL` files a page under the id a crawl of the roll would: its URL's doc
    id, else the doc id the page says it is (看点's publishid is the roll's docid)."""
    by_key = {case.key: case for case in sina_cases()}
    kan = by_key["htmlgtmk_k.sina_2018-09-28_article"]
    page = read_page(kan.page, kan.url, kan.content_type)
    assert (page.publish_id, page_id(page)) == ("hkmwytp6820466", "hkmwytp6820466")
    mobile = by_key["magichtml_finance.sina.cn_mobile_detail-ikknscsi2623250"]
    page = read_page(mobile.page, mobile.url, mobile.content_type)
    assert page_id(page) == "kknscsi2623250" == sina_article(page).id
    slide = by_key["built_slide_finance_2024-05-10"]
    page = read_page(slide.page, slide.url, slide.content_type)
    assert page_id(page) == "slide_31_84574_533001"
    assert sina_page("<p>x</p>", "https://finance.sina.com.cn/a.html").publish_id is None
    hostile = '<meta name="publishid" content="../../x">'
    assert sina_page(hostile, "https://finance.sina.com.cn/a.html").publish_id is None


# --- slide and video pages ---------------------------------------------------------------

SLIDE_URL = "https://slide.finance.sina.com.cn/sc/slide_31_84574_9.html"


def slide_page(data: object) -> str:
    return f"<html><head><title>t_新浪图片</title><script>var slide_data = {data}\n</script>"


def test_a_slide_page_is_every_picture_with_its_caption_in_order():
    data = {
        "slide": {"title": "相册", "createtime": "2024-05-10 09:12:30"},
        "images": [
            {"image_url": "//n.sinaimg.cn/1.jpg", "intro": "第一张"},
            {"download_img": "https://n.sinaimg.cn/2.jpg", "image_url": "//x/2s.jpg"},
            {"thumb_160": "//n.sinaimg.cn/3.jpg", "title": "第三张的标题"},
        ],
    }
    page = sina_page(slide_page(json.dumps(data, ensure_ascii=False)), SLIDE_URL)
    assert (page.family, page.recognized, page.title) == ("slides", True, "相册")
    assert page.published.isoformat() == "2024-05-10T09:12:30+08:00"
    assert page.body == (
        '<div class="img_wrapper"><img src="//n.sinaimg.cn/1.jpg" alt="">'
        '<span class="img_descr">第一张</span></div>\n'
        '<div class="img_wrapper"><img src="https://n.sinaimg.cn/2.jpg" alt="相册"></div>\n'
        '<div class="img_wrapper"><img src="//n.sinaimg.cn/3.jpg" alt="">'
        '<span class="img_descr">第三张的标题</span></div>\n'
    )  # a caption, else the album's title as `alt` (landscape shows an alt as a caption)


@pytest.mark.parametrize(
    "data",
    [
        "{}",
        '{"images": []}',
        '{"images": [{"image_url": "javascript:alert(1)"}, {"image_url": 5}, "x", null]}',
        '{"images": "no list"',
        "[1, 2]",
        "{" * 100_000,
        '{"images": [{"image_url": "//x/1.jpg"',  # cut short
    ],
)
def test_a_slide_page_without_its_pictures_is_no_article(data):
    """What the page's data does not give is not made up: the page is of no known layout
    (counted, kept as a sample, asked for again), never a post without its pictures."""
    page = sina_page(slide_page(data), SLIDE_URL)
    assert (page.family, page.recognized, page.body) == ("slides", False, None)


def test_slide_values_are_text_whatever_they_hold():
    data = {
        "slide": {"title": 'a"><script>x</script>', "intro": "<img src=x onerror=alert(1)>"},
        "images": [
            {"image_url": '//n.sinaimg.cn/1.jpg" onerror="x', "intro": "</div><b>b</b>"},
            {"image_url": "//n.sinaimg.cn/2.jpg"},
        ],
    }
    body = sina_page(slide_page(json.dumps(data)), SLIDE_URL).body
    assert "<script" not in body and "<b>" not in body and "<img src=x" not in body
    assert 'alt="a&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in body
    assert 'src="//n.sinaimg.cn/1.jpg&quot; onerror=&quot;x"' in body


VIDEO_URL = "https://video.sina.com.cn/p/finance/2024-05-10/detail-ivideo00001.d.html"


def test_a_video_page_is_its_poster_summary_and_link_and_no_video_file():
    html = (
        '<meta property="og:title" content="视频：发布会"><meta name="description" content="简介">'
        "<script>$SCOPE['video'] = {video_id:'123456', pic:'//p.ivideo.sina.com.cn/1.jpg'};"
        "</script>"
    )
    page = sina_page(html, VIDEO_URL)
    assert (page.family, page.recognized, page.video_id) == ("video", True, "123456")
    assert page.body == (
        f'<p><a href="{VIDEO_URL}"><img src="//p.ivideo.sina.com.cn/1.jpg" alt="视频：发布会">'
        f'</a></p>\n<p>简介</p>\n<p><a href="{VIDEO_URL}">观看视频</a></p>\n'
    )
    assert not sina_page('<meta property="og:title" content="x">', VIDEO_URL).recognized


@pytest.mark.parametrize(
    ("script", "video_id", "poster"),
    [
        ("video_id:'246318416',", "246318416", ""),
        (
            "$SCOPE.video = {videoId: 678, poster: '//p.ivideo.sina.com.cn/b.jpg'};",
            "678",
            "//p.ivideo.sina.com.cn/b.jpg",
        ),
        (
            'var c = {"video_id":"345","pic":"https:\\/\\/p.ivideo.sina.com.cn\\/a.jpg"};',
            "345",
            "https://p.ivideo.sina.com.cn/a.jpg",
        ),
    ],
)
def test_a_video_page_s_settings_are_read_however_its_script_writes_them(script, video_id, poster):
    page = sina_page(f"<script>{script}</script>", VIDEO_URL)
    assert (page.recognized, page.video_id, page.poster) == (True, video_id, poster)


# --- the 7×24 live feed ------------------------------------------------------------------


def test_the_live_feed_request_is_the_documented_one():
    assert live_url(152, 2) == LIVE.format(zhibo_id=152, page=2)


def test_a_real_flash_gives_its_time_text_tags_and_stocks():
    newer, older = parse_live(live_body(real_flashes()))
    assert (older.id, older.time.isoformat()) == ("1438182", "2019-10-19T08:34:51+08:00")
    assert older.updated.isoformat() == "2019-10-19T08:36:56+08:00"
    assert older.url == "https://finance.sina.com.cn/7x24/2019-10-19/doc-iicezuev3218731.shtml"
    assert older.tags == ("公司", "A股")
    assert [(s.market, s.symbol, s.name) for s in older.stocks] == [("cn", "sh688036", "传音控股")]
    article = flash_article(older)
    assert article.title == "科创板上市19天后 传音控股计划将25亿元闲置募资用于理财"
    assert article.keywords == ("公司", "A股", "传音控股")
    assert article.body.endswith(
        "<p>时间：2019-10-19 08:34:51（北京时间）</p>\n<p>标签：公司、A股</p>\n<p>相关股票："
        '<a href="https://finance.sina.com.cn/realstock/company/sh688036/nc.shtml">'
        "传音控股（sh688036）</a></p>\n"
    )
    assert article.body.startswith("<p>【科创板上市19天后  传音控股计划将25亿元闲置募资用于理财】")
    # 2025: stocks of every market, some twice (国债 thrice, by three symbols)
    assert [s.symbol for s in newer.stocks][:3] == ["nf_tf0", "nf_t0", "nf_ts0"]
    assert "中信证券（06030）" in flash_article(newer).body  # hk: linked, named


def test_jsonp_errors_deleted_and_repeated_flashes():
    flashes = [synthetic_flash(1), synthetic_flash(2, is_delete=1), synthetic_flash(1)]
    assert [f.id for f in parse_live(live_body(flashes, jsonp=True))] == ["9000001"]
    with pytest.raises(RollError, match="live feed API error 1: 参数错误"):
        parse_live(live_body([], code=1, msg="参数错误"))
    with pytest.raises(RollError, match="not JSON"):
        parse_live(b"<html>")
    with pytest.raises(RollError, match="data.feed.list"):
        parse_live(b'{"result": {"status": {"code": 0}, "data": {"list": []}}}')
    assert parse_live(live_body([])) == []


def test_a_feed_whose_flashes_cannot_be_read_has_changed():
    """The drift alarm: a list of flashes none of which has an id and a text fails its
    source (one that cannot be read among others is skipped alone)."""
    changed = [{"msg_id": 1, "content": "新的字段"}, {"msg_id": 2, "content": "新的字段"}]
    with pytest.raises(RollError, match="none of its 2 flashes has an id and a text"):
        parse_live(live_body(changed))
    mixed = [changed[0], synthetic_flash(3), {"id": "x1", "rich_text": "a"}, {"id": 4}]
    assert [f.id for f in parse_live(live_body(mixed))] == ["9000003"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("【央行：开展逆回购操作】央行今日开展1000亿元逆回购。", "央行：开展逆回购操作"),
        ("【】空的标题。", "【】空的标题"),
        ("美联储维持利率不变。市场反应平淡。", "美联储维持利率不变"),
        ("<b>加粗</b>的一句话！后面", "加粗的一句话"),
        ("很" * 60, "很" * 39 + "…"),
        ("【" + "长" * 90 + "】正文。", "【" + "长" * 38 + "…"),  # too long for a headline
    ],
)
def test_a_flash_title_is_its_headline_else_its_first_sentence(text, title):
    assert flash_title(text) == title


def test_hostile_flash_fields_are_text_or_dropped():
    flash = synthetic_flash(
        5,
        tag=[{"name": "<b>x</b>"}, {"name": 3}, "x", {"name": " 公司 "}],
        ext='{"stocks": [{"market": "cn", "symbol": "a\\"><script>", "key": "k"},'
        '{"market": "us", "symbol": "aapl", "key": "<i>苹果</i>"}],'
        '"docurl": "javascript:alert(1)"}',
        multimedia='{"img_url": ["https:\\/\\/n.sinaimg.cn\\/a.jpg", "javascript:x.jpg"]}',
        create_time="0000-00-00 00:00:00",
        id="9000005",
    )
    (parsed,) = parse_live(live_body([flash]))
    assert parsed.url == "https://finance.sina.com.cn/7x24/"  # not a web URL: the feed's page
    assert parsed.tags == ("<b>x</b>", "公司") and [s.symbol for s in parsed.stocks] == ["aapl"]
    assert parsed.images == ("https://n.sinaimg.cn/a.jpg",) and parsed.time is None
    body = flash_article(parsed).body
    assert "<p>标签：&lt;b&gt;x&lt;/b&gt;、公司</p>" in body
    assert "&lt;i&gt;苹果&lt;/i&gt;（aapl）" in body and "<script" not in body
    assert flash_article(parsed).date_guessed


# --- crawls of every kind (replay) -------------------------------------------------------


def _index(archive: Path) -> ProvenanceIndex:
    return ProvenanceIndex.open_existing(archive)


@pytest.mark.process
def test_a_roll_of_every_kind_archives_each_once(replay: ReplayServer, tmp_path: Path):
    """Articles, slide and video pages, a mobile page; one article listed again on its mobile
    host (one id: never asked for) and on 看点 (its page says it is the same: not archived
    twice). None is skipped for its kind."""
    (article,) = synthetic_articles(1)
    page = article.page.replace(b'content="fxsqxxu4646541"', f'content="{article.id}"'.encode())
    article = RecordedArticle(article.id, article.url, article.roll, page, article.content_type)
    mobile_url = f"https://finance.sina.cn/2024-01-01/detail-i{article.id}.d.html"
    kan_url = "https://k.sina.com.cn/article_6598441619_1894c3a9300100elpc.html"
    mobile_case = next(a for a in real_articles() if "finance.sina.cn" in a.url)
    listed = [
        article,
        *media_articles(),
        mobile_case,
        on_host(article, mobile_url, {"wapurl": mobile_url, "title": article.roll["title"]}),
        on_host(article, kan_url),
    ]
    serve_pages(replay, listed)
    config = sina_config(tmp_path)
    result = crawl(replay, tmp_path / "archive", config=config)
    assert result.returncode == 0, result.stderr
    assert f"{SINA_NAME}: 4 new, 0 updated, 1 unchanged, 0 failed\n" in result.stdout
    assert "WARNING" not in result.stderr, result.stderr
    assert mobile_url not in replay.requests and kan_url in replay.requests
    posts = md_files(tmp_path / "archive")
    assert len(posts) == 4
    index = _index(tmp_path / "archive")
    try:
        slides = index.get(SINA_NAME, "slide_31_84574_533001")
        video = index.get(SINA_NAME, "video246318416")
        assert slides.title == "图集：长江经济带港口一季度吞吐量同比增长"
        assert video.title == "申鹏VS陈寒峰【象棋世界08-07-10】"
    finally:
        index.close()
    slide_post = next(v for k, v in posts.items() if "图集" in k).decode()
    assert slide_post.count('<div class="img_wrapper"><img src="https://n.sinaimg.cn/') == 3
    video_post = next(v for k, v in posts.items() if "象棋" in k).decode()
    assert "headimg: 'https://p3.ivideo.sina.com.cn/video/246/318/416/246318416.jpg'" in video_post
    assert ">观看视频</a>" in video_post and ".flv" not in video_post
    assert verify(tmp_path / "archive") == []

    replay.requests.clear()
    result = crawl(replay, tmp_path / "archive", config=config)
    assert f"{SINA_NAME}: 0 new, 0 updated, 5 unchanged, 0 failed\n" in result.stdout
    assert len(md_files(tmp_path / "archive")) == 4


@pytest.mark.process
def test_the_live_feed_archives_each_flash_once(replay: ReplayServer, tmp_path: Path):
    flashes = [synthetic_flash(n) for n in range(22, -1, -1)] + real_flashes()
    flashes.insert(5, synthetic_flash(99, is_delete=1))  # taken back: never archived
    flashes.insert(15, dict(flashes[3]))  # listed again on the next page
    assert serve_live(replay, flashes) == 3
    config = live_config(tmp_path)
    archive = tmp_path / "archive"
    result = crawl(replay, archive, config=config)
    assert result.returncode == 0, result.stderr
    assert f"{LIVE_NAME}: 25 new, 0 updated, 0 unchanged, 0 failed" in result.stdout
    assert "WARNING" not in result.stderr, result.stderr
    assert [u for u in replay.requests if "zhibo" in u] == [
        LIVE.format(zhibo_id=152, page=n) for n in (1, 2, 3, 4)
    ]
    posts = md_files(archive)
    assert len(posts) == 25
    real = posts["7×24/新浪财经/新浪财经7×24/境外机构持续加码中国债市.md"].decode()
    assert "\ndate: Sun, 20 Apr 2025 23:19:14 GMT\n" in real
    assert "<p>标签：市场、观点</p>" in real and "中信证券（sh600030）" in real
    assert verify(archive) == []

    # Three new flashes on top: page 1 has them, page 2 is all archived: the walk ends there
    newer = [synthetic_flash(n, minute=100 + n) for n in (32, 31, 30)]
    replay.requests.clear()
    serve_live(replay, newer + flashes)
    result = crawl(replay, archive, config=config)
    assert f"{LIVE_NAME}: 3 new, 0 updated, 15 unchanged, 0 failed" in result.stdout
    assert [u for u in replay.requests if "zhibo" in u] == [
        LIVE.format(zhibo_id=152, page=n) for n in (1, 2)
    ]
    assert len(md_files(archive)) == 28

    # An edit at the source (update_time after the fetch) is fetched again, kept as a version
    time.sleep(1.1)
    edited_at = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.1)
    changed = dict(newer[0], rich_text="【第32条快讯】更正：第32家公司发布公告。")
    changed["update_time"] = edited_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    serve_live(replay, [changed, *newer[1:], *flashes])
    result = crawl(replay, archive, config=config)
    assert f"{LIVE_NAME}: 0 new, 1 updated, 17 unchanged, 0 failed" in result.stdout
    history = run_cli(replay, "archive", "history", "9000032", "--diff", "--archive", str(archive))
    assert "更正" in history.stdout, history.stdout


@pytest.mark.process
def test_the_live_feed_is_checked_and_configured(replay: ReplayServer, tmp_path: Path):
    serve_live(replay, [synthetic_flash(2), synthetic_flash(1)])
    config = live_config(tmp_path, zhibo_id=155)
    result = run_cli(replay, "check", "-c", str(config), *FAST, cwd=tmp_path)
    assert result.returncode == 1  # channel 155 is not served: its page 1 fails
    assert "DEGRADED: live feed unreadable: HTTP 404" in result.stdout
    result = run_cli(replay, "check", "-c", str(live_config(tmp_path)), *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"{LIVE_NAME}: ok; family 7x24; title '第2条快讯'; date 2026-11-30T00:02:00+00:00 "
        "(feed); body 77 chars, 0 images; author none; keywords 公司, 股票2 — "
        "https://finance.sina.com.cn/7x24/2026-11-30/doc-ilive0000002.shtml\n"
    )
    replay.add(LIVE.format(zhibo_id=152, page=1), Reply(200, live_body([{"x": 1}])))
    result = run_cli(replay, "check", "-c", str(live_config(tmp_path)), *FAST, cwd=tmp_path)
    assert result.returncode == 1 and "has it changed?" in result.stdout


def test_a_live_source_is_configured_by_its_channel():
    def source(**keys):
        raw = {"name": "快讯", "site": "新浪财经", "category": "7×24", "type": "sina_live", **keys}
        return parse_config({"sources": [raw]}, Path("feeds.yaml")).sources[0]

    assert (source().zhibo_id, source().pages, source().clean) == (152, 50, False)
    assert (source(zhibo_id=155, pages=3).zhibo_id, source(pages=3).pages) == (155, 3)
    with pytest.raises(ConfigError, match="'sina_live' source takes no url"):
        source(url="https://zhibo.sina.com.cn/api/zhibo/feed")
    with pytest.raises(ConfigError, match="key 'zhibo_id': must be 1 or more, not 0"):
        source(zhibo_id=0)
    with pytest.raises(ConfigError, match="key 'zhibo_id'"):
        source(zhibo_id="152")


@pytest.mark.process
def test_flashes_the_limit_held_back_are_had_next_run(replay: ReplayServer, tmp_path: Path):
    """A walk the limit stopped leaves its next page owed: the next run walks on past the
    pages it archived (all archived now, under ten new flashes) to the flashes it held."""
    older = [synthetic_flash(n) for n in range(29, -1, -1)]
    serve_live(replay, older)
    config, archive = live_config(tmp_path, limit=10), tmp_path / "archive"
    result = crawl(replay, archive, config=config)
    assert f"{LIVE_NAME}: 10 new," in result.stdout, result.stdout
    newer = [synthetic_flash(n, minute=200 + n) for n in range(39, 29, -1)]
    serve_live(replay, newer + older)
    result = crawl(replay, archive, "--limit", "100", config=config)
    assert f"{LIVE_NAME}: 30 new," in result.stdout, result.stdout
    assert len(md_files(archive)) == 40
    assert "WARNING" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("value", "kept"),
    [(0, True), ("0", True), (False, True), (None, True), ("", True), ("false", True)]
    + [(1, False), ("1", False), (True, False), ("true", False)],
)
def test_a_flash_is_deleted_only_when_it_says_so(value, kept):
    (kept_flash,) = parse_live(live_body([synthetic_flash(1)]))
    flashes = parse_live(live_body([synthetic_flash(2, is_delete=value), synthetic_flash(1)]))
    assert [f.id for f in flashes] == (["9000002", kept_flash.id] if kept else [kept_flash.id])


def test_a_feed_whose_delete_mark_changed_is_no_empty_feed():
    """`is_delete` of a shape no flash had: unread, so the drift alarm says so (a feed that
    reads as all deleted would end the walk with "0 new" and no word)."""
    changed = [synthetic_flash(n, is_delete=["no"]) for n in range(3)]
    with pytest.raises(RollError, match="has it changed"):
        parse_live(live_body(changed))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<b>加粗</b>与<a href='https://x.cn/'>链接</a><br>换行", None),  # kept as markup
        ("A<B股上涨", "A&lt;B股上涨"),
        ("注释 <!-- 之后", "注释 &lt;!-- 之后"),
        ("<textarea>吞掉后面", "&lt;textarea&gt;吞掉后面"),
        ("<div>未闭合", "&lt;div&gt;未闭合"),
        ("一</p>二", "一&lt;/p&gt;二"),
    ],
)
def test_a_flash_s_text_never_takes_in_the_lines_after_it(text, shown):
    (flash,) = parse_live(live_body([synthetic_flash(1, rich_text=text)]))
    body = flash_article(flash).body
    assert body.startswith(f"<p>{shown or text}</p>\n<p>时间：")
    assert "<p>标签：公司</p>" in body and "相关股票" in body
