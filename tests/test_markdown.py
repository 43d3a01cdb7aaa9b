"""`body_format: markdown`: markdownify's Markdown under the same front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.store import ProvenanceIndex
from crawler.store.body import to_markdown
from crawler.store.template import parse
from crawler.store.verify import check_file, verify

from replay import ReplayServer
from runner import crawl, run_cli
from sina_cases import REFERENCE_MARKDOWN, reference_markdown, sina_cases, without_guessed_date
from sina_replay import md_files, real_articles, reference_articles, serve_sina, sina_config


def test_markdown_keeps_images_links_tables_and_drops_the_rest():
    html = (
        "<!-- 广告 --><style>.a{color:red}</style><p>　　正文<a href='https://x.test/a?b=1&amp;c=2'>"
        '链接</a></p><p><img src="https://n.sinaimg.cn/a.jpg" alt="图" '
        'referrerpolicy="no-referrer"></p><table><tr><th>指标</th><th>数值</th></tr>'
        "<tr><td>GDP</td><td><img src='https://n.sinaimg.cn/t.png'></td></tr></table>"
    )
    assert to_markdown(html) == (
        "正文[链接](https://x.test/a?b=1&c=2)\n\n"
        "![图](https://n.sinaimg.cn/a.jpg)\n\n"
        "| 指标 | 数值 |\n| --- | --- |\n| GDP | ![](https://n.sinaimg.cn/t.png) |"
    )


def test_markdown_text_never_becomes_markup():
    markdown = to_markdown(
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; AT&amp;T</p><pre>a &lt; b</pre>"
    )
    assert "<script" not in markdown
    assert markdown.startswith("&lt;script>alert(1)&lt;/script> AT&amp;T")
    assert "a < b" in markdown  # code is shown as code


def test_reference_posts_in_markdown_match_their_expected_files():
    """In process: each reference post's page, archived in Markdown (tests/regen.py)."""
    for article in reference_articles():
        path, data = reference_markdown(article)
        assert data == (REFERENCE_MARKDOWN / path).read_bytes(), path


@pytest.mark.process
def test_sina_pages_in_markdown_match_expected_files(replay: ReplayServer, tmp_path: Path):
    """A crawl in Markdown writes the files the cases and the reference posts expect, with
    the front matter a crawl in HTML writes."""
    serve_sina(replay, reference_articles() + real_articles())
    html = crawl(replay, tmp_path / "html", config=sina_config(tmp_path / "h"))
    markdown = crawl(
        replay, tmp_path / "md", config=sina_config(tmp_path / "m", body_format="markdown")
    )
    assert html.returncode == 0 and markdown.returncode == 0, markdown.stderr
    as_html, as_markdown = md_files(tmp_path / "html"), md_files(tmp_path / "md")
    assert as_html.keys() == as_markdown.keys()
    index = ProvenanceIndex.open(tmp_path / "md")
    try:
        records = {r.path: r for r in index.records()}
    finally:
        index.close()
    expected = {c.expected()["path"]: c.expected_file("markdown") for c in sina_cases()}
    for path, data in as_markdown.items():
        text, record = data.decode("utf-8"), records[path]
        parsed, original = parse(text), parse(as_html[path].decode("utf-8"))
        assert parsed.body_format == "markdown" and original.body_format == "html"
        if not record.date_guessed:
            assert parsed.front == original.front, path  # the same front matter
        assert check_file(data) == [], path
        assert "<div>" not in parsed.body and "<!--" not in parsed.body, path
        assert "{" not in parsed.body and "}" not in parsed.body, path
        want = expected.get(path) or (REFERENCE_MARKDOWN / path).read_bytes()
        assert without_guessed_date(data, record) == without_guessed_date(want, record), path
    assert verify(tmp_path / "md") == []
    path = next(p for p in as_markdown if p.endswith("1-7月 西安市经济延续稳定恢复态势.md"))
    shown = run_cli(None, "archive", "show", path, "--archive", str(tmp_path / "md"))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip().endswith("两年平均增长2.5%。\n\n责任编辑：徐小曼")
    assert "新浪财经APP" not in shown.stdout  # clean: true, a Sina source's default


def test_an_escaped_colon_makes_no_script_link_in_markdown():
    """marked reads `javascript\\:` as `javascript:` (a backslash escape) and makes a link of
    any destination: the judge renders as it does, and the colon is broken."""
    from crawler.store.judge import safe_markdown, unsafe_markup

    assert unsafe_markup("[y](javascript\\:alert(2))", markdown=True) != []
    markdown, sanitized = safe_markdown(
        "<p>[y](javascript\\:alert(2)) [z](JaVa&#x09;script\\:x)</p>"
    )
    assert unsafe_markup(markdown, markdown=True) == [] and not sanitized
    assert "javascript\\" not in markdown.lower() and "\uff1a" in markdown


def test_markdown_the_judge_finds_unsafe_is_written_as_text(monkeypatch):
    from crawler.store import judge

    made = iter(["[x](vbscript&#x3a;alert(1)) <img src=x onerror=alert(1)>"])
    real = judge.to_markdown
    monkeypatch.setattr(judge, "to_markdown", lambda html: next(made, None) or real(html))
    markdown, sanitized = judge.safe_markdown("<p>正文 <b>粗体</b></p>")
    assert sanitized and markdown == "正文 粗体"
