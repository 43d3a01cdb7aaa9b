"""What in a body is active content (docs/FORMAT.md edit 1): one set of rules for the in-place
edits (body.py), the browser-grade judge (judge.py) and `archive verify`.

Values given to these functions are decoded already (entities resolved), as a browser sees them.
"""

from __future__ import annotations

import re

import ada_url

from .. import urls

# Elements removed with everything inside them. `<meta http-equiv=refresh>` and a `<style>`
# that loads something go too (is_refresh, css_loads).
ACTIVE_ELEMENTS = frozenset(
    {"script", "iframe", "frame", "object", "embed", "applet", "portal", "form", "base", "link"}
)
# Attributes that hold a URL a browser may navigate to or load (SVG's and SMIL's included).
URL_ATTRS = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "poster",
        "background",
        "lowsrc",
        "dynsrc",
        "cite",
        "longdesc",
        "codebase",
        "usemap",
        "ping",
        "manifest",
        "srcdoc",
        "srcset",
        "imagesrcset",
        "values",
        "to",
        "from",
        "by",
        "attributionsrc",  # Chromium's Attribution Reporting: a request of its own
    }
)
# Attributes holding a list: a dangerous URL anywhere in the list counts.
_URL_LISTS = re.compile(r"[;,\s]+")
_LISTS = frozenset({"srcset", "imagesrcset", "values", "ping", "attributionsrc"})
# Attributes whose only use is a request of their own to wherever they say (a click's ping,
# Chromium's attribution reports): never an article's, removed whatever their value.
_REQUESTS = frozenset({"ping", "attributionsrc"})

# The only schemes a URL may have (docs/FORMAT.md edit 1): what the saved Sina pages and the
# feed corpora use (http, https, mailto; relative URLs), and raster data: images. Any other
# scheme, known or not (`x:` keeps `"<>` in img.src for a theme's script to paste), is removed.
URL_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")  # a URL that names its scheme
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_PASTE_BREAKERS = re.compile(r"[\"<>`]")
_BASE = "https://base.invalid/"  # what a relative URL is read against to see that it parses
_RASTER_DATA = re.compile(r"data:image/(?:png|gif|jpe?g|webp)[;,]", re.I)
_RASTER_URL = re.compile(r"[^?#]*\.(?:gif|png|jpe?g|webp)(?:[?#].*)?", re.I | re.S)
# Browsers drop tab and newline anywhere in a URL, and C0 and space around it.
_URL_NOISE = re.compile(r"[\x00-\x20]")


# Themes build markup from an image's alt text: Hexo's default theme (landscape) inserts it as
# HTML in a caption and between double quotes in a link (its script.js); so does fancybox.
_MARKUP_IN_TEXT = re.compile(r'[<>"]')


def is_active_attribute(name: str, value: str | None) -> bool:
    """An event handler; a URL attribute holding anything but an http(s), mailto, relative or
    raster data URL; a style attribute that loads something; any other attribute whose
    `url(…)` would load something (SVG's `fill`, `mask`, `clip-path`, `marker-end` are CSS);
    or alt text that a theme would turn into markup."""
    if name.startswith("on") or name in _REQUESTS:
        return True
    if value is None:
        return False
    if name == "alt" and _MARKUP_IN_TEXT.search(value):
        return True
    if name in URL_ATTRS:
        if name in _LISTS or name in ("to", "from", "by"):
            return any(is_dangerous_url(part) for part in _URL_LISTS.split(value))
        return is_dangerous_url(value)
    if name == "style":
        return css_loads(value) or css_leaves_the_flow(value)
    return css_urls_load(value)


def is_dangerous_url(url: str) -> bool:
    """Whether `url` is anything but http(s), mailto, a raster data: image or a relative URL,
    or does not parse as a browser parses it (WHATWG, by ada: `http://a b/`, `https://%zz/`;
    Chromium keeps such a URL's raw text in img.src, and a theme's script pastes it into
    markup) or as our own resolving does (urllib)."""
    stripped = _URL_NOISE.sub("", url)
    if (m := URL_SCHEME.match(stripped)) and m.group(1).lower() not in SAFE_SCHEMES:
        return not _RASTER_DATA.match(stripped)
    if urls.split(url) is None:  # a bad IPv6 host, port or NFKC-invalid host
        return True
    try:
        parsed = ada_url.URL(url, _BASE)  # strips and drops tab and newline as browsers do
    except ValueError:
        return True
    # A theme's script pastes img.src and a.href into markup (between double quotes): the URL
    # a browser makes of it must hold no double quote, angle bracket or backtick. http(s)
    # percent-encodes them; mailto: (an opaque path) keeps them as written (the fuzzer's
    # `mailto:"><details ontoggle=…>`).
    return parsed.protocol[:-1] not in SAFE_SCHEMES or bool(_PASTE_BREAKERS.search(parsed.href))


def url_scheme(url: str) -> str | None:
    """The scheme of `url` as a browser (or Node.js: `new URL(url, base)`) parses it, a
    relative URL read against an https page; None when it does not parse."""
    try:
        return ada_url.URL(url, _BASE).protocol[:-1]
    except ValueError:
        return None


def is_refresh(http_equiv: str | None) -> bool:
    return http_equiv is not None and http_equiv.strip(" \t\n\r\f").lower() == "refresh"


_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.S)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(.))", re.S)
_CSS_ACTIVE = re.compile(r"@import|expression\s*\(|behavior\s*:|-moz-binding|image-set\s*\(")
_CSS_URL = re.compile(r"url\s*\(\s*(?:\"([^\"]*)\"?|'([^']*)'?|([^)]*))", re.S)


def css_loads(css: str) -> bool:
    """Whether a style sheet or style attribute loads anything but a raster image, or runs
    script (`@import`, `url(` to a non-image, `expression(`, `behavior`, `-moz-binding`)."""
    css = _plain_css(css)
    return bool(_CSS_ACTIVE.search(css)) or _urls_load(css)


# A style attribute that takes its element out of the article's flow, over the blog's own
# header, menu and sidebar (feedvalidator's platypus.xml: `position:absolute; width:100%;
# height:100%; z-index:1`). Only these positions leave an element where the article put it.
_POSITION = re.compile(r"(?<![\w-])position\s*:\s*([^;!]*)")
_IN_FLOW = frozenset({"", "static", "relative", "initial", "inherit", "unset", "revert"})


def css_leaves_the_flow(style: str) -> bool:
    """Whether a style attribute positions its element out of the flow (fixed, absolute,
    sticky, or a value we cannot tell: `var(…)`)."""
    if "position" not in style.lower() and "\\" not in style:
        return False
    css = _plain_css(style)
    return any(m.group(1).strip() not in _IN_FLOW for m in _POSITION.finditer(css))


def css_urls_load(value: str) -> bool:
    """Whether a CSS value (an SVG presentation attribute) has a `url(…)` that loads anything
    but a raster image; `url(#id)`, a reference inside the page, loads nothing."""
    if "url" not in value.lower() and "\\" not in value:
        return False
    return _urls_load(_plain_css(value))


def _plain_css(css: str) -> str:
    """CSS with its escapes resolved and comments dropped, lower-cased."""
    if "\\" in css:
        css = _CSS_ESCAPE.sub(_unescape_css, css)
    return _CSS_COMMENT.sub("", css).lower()


def _urls_load(css: str) -> bool:
    for m in _CSS_URL.finditer(css):
        url = _URL_NOISE.sub("", m.group(1) or m.group(2) or m.group(3) or "")
        if url.startswith("#"):
            continue
        if not (
            _RASTER_DATA.match(url) or (not is_dangerous_url(url) and _RASTER_URL.fullmatch(url))
        ):
            return True
    return False


def _unescape_css(m: re.Match) -> str:
    if m.group(1):
        code = int(m.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    return "" if m.group(2) == "\n" else m.group(2)
