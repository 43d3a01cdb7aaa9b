"""File and folder names: the reference STEM rule, made safe on every file system."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterator

STEM_MAX_BYTES = 240
_REPLACED = re.compile(r"[:/\\?*“”<>|\[\]]")
_REMOVED = re.compile(r"[\n#.]")
# Every spelling Windows reserves (Python's ntpath.isreserved: the superscript digits, COM0 and
# LPT0, the console's CONIN$ and CONOUT$), whatever follows the name's first dot: a STEM holds
# none, and the trailing spaces Windows also ignores are trimmed already.
_DEVICE = re.compile(r"(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])", re.I)


def stem_for(title: str) -> str:
    """The reference rule (`: / \\ ? * “ ” < > | [ ]` → `_`; newline, `#`, `.` dropped), then
    control and format characters dropped, spaces and dots trimmed, devices and length fixed.

    Leading underscores go too: Hexo never loads a file or folder whose name starts with `_`
    (the reference archive lost its “…”-titled posts that way)."""
    stem = _REMOVED.sub("", _REPLACED.sub("_", title))
    stem = "".join(c for c in stem if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    stem = stem.lstrip(" ._").rstrip(" .")
    if not stem:
        return "untitled"
    if _DEVICE.fullmatch(stem):
        stem += "_"
    return _cut(stem, STEM_MAX_BYTES).rstrip(" .")


def name_key(name: str) -> str:
    """What a case-insensitive file system that does not tell Unicode normalizations apart
    (macOS; Windows as to case) sees of a name: two names with one key are one file there."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _cut(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def collision_stem(stem: str, item_id: str) -> str:
    """The name a second item with the same STEM gets."""
    digest = hashlib.sha1(item_id.encode("utf-8", "surrogatepass"))  # a feed's id: any text
    return f"{stem}_{digest.hexdigest()[:8]}"


def collision_stems(stem: str, item_id: str) -> Iterator[str]:
    """The names an item may take, in turn, without end: its STEM, its collision name, then
    `<STEM>_<sha1[:8]>_<n>` for n = 2, 3, …, the STEM cut so that each name with `.md` fits
    in 255 bytes (ids and titles are a feed's: any number of names may be taken already)."""
    yield stem
    first = collision_stem(stem, item_id)
    yield first
    for n in itertools.count(2):
        suffix = f"{first[len(stem) :]}_{n}"
        yield _cut(stem, STEM_MAX_BYTES + 9 - len(suffix.encode())).rstrip(" .") + suffix
