"""A line of sign text as the PDF draws it: in visual order, shaped, each run in a font
that has its letters.

ReportLab draws characters left to right, one glyph each. So python-bidi first puts
the line in visual order (the Unicode bidi algorithm: an Arabic line right to
left, with its numbers and Latin words left to right inside it); each
right-to-left run is then shaped by HarfBuzz (uharfbuzz), which picks each Arabic
letter's joined form and the lam-alef ligature. Every glyph is written as the
character the font's cmap gives it (a presentation form), so the PDF's text
layer still reads as the letters typed (after NFKC). Latin, Cyrillic, Vietnamese
(composed with NFC first) and Chinese need no shaping in these fonts: one
character, one glyph.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import uharfbuzz as hb
from bidi import get_display
from reportlab.pdfbase.pdfmetrics import stringWidth

from builder.sign_fonts import covered, face_name, font_chain, font_file, glyph_chars

Segment = tuple[str, str]  # a registered face name, and text in visual order
RTL_CLASSES = frozenset({"R", "AL"})
# Where Chinese may break: between two ideographs, never before closing punctuation
# or after opening punctuation. Latin words inside keep breaking at spaces.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CLOSE = "\u3001\u3002\uff0c\uff01\uff1f\uff1a\uff1b\uff09\u300d\u300f\u300b\u3009\u3011\u201d"
_OPEN = "\uff08\u300c\u300e\u300a\u3008\u3010\u201c"
PIECE = re.compile(f"[{_OPEN}]*(?:[{_CJK}]|[^ {_CJK}{_CLOSE}{_OPEN}]+)?[{_CLOSE}]* *")


def pieces(text: str) -> list[str]:
    """The text cut where a line may break: after a space, or between two ideographs.
    A piece keeps its trailing space; the line that ends with it drops it."""
    return [piece for piece in PIECE.findall(text) if piece]


@functools.lru_cache(maxsize=16384)
def layout(text: str, family: str, bold: bool, rtl: bool) -> tuple[Segment, ...]:
    """The line's segments, left to right, ready for drawString one after another."""
    chain = font_chain(family)
    visual = get_display(
        _drawable(unicodedata.normalize("NFC", text), chain), base_dir="R" if rtl else "L"
    )
    segments: list[Segment] = []
    for run_family, run_rtl, run in _runs(visual, chain):
        name = face_name(run_family, bold)
        piece = _shaped(run, name) if run_rtl else run
        if segments and segments[-1][0] == name:
            segments[-1] = (name, segments[-1][1] + piece)
        else:
            segments.append((name, piece))
    return tuple(segments)


def width(text: str, family: str, bold: bool, rtl: bool, size: float) -> float:
    return sum(stringWidth(run, name, size) for name, run in layout(text, family, bold, rtl))


def _drawable(text: str, chain: tuple[str, ...]) -> str:
    """Characters no font of the chain has lose their accents, or become "?"."""
    out = []
    for char in text:
        if any(ord(char) in covered(family) for family in chain):
            out.append(char)
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if c.isascii()) or "?")
    return "".join(out)


def _runs(visual: str, chain: tuple[str, ...]) -> list[tuple[str, bool, str]]:
    """(family, right to left, text) runs: a character stays in the run before it when
    that run's font has it and its direction is the same."""
    runs: list[tuple[str, bool, str]] = []
    for char in visual:
        kind = unicodedata.bidirectional(char)
        # A mark comes before its letter once reversed: an Arabic mark is right to left.
        rtl = kind in RTL_CLASSES or (kind == "NSM" and "ARABIC" in unicodedata.name(char, ""))
        if runs and ord(char) in covered(runs[-1][0]) and runs[-1][1] == rtl:
            runs[-1] = (runs[-1][0], rtl, runs[-1][2] + char)
            continue
        family = next(f for f in chain if ord(char) in covered(f))
        runs.append((family, rtl, char))
    return runs


def _shaped(run: str, name: str) -> str:
    """A right-to-left run (given in visual order) shaped by HarfBuzz, in visual order;
    the run as it was when the font has no character for one of the glyphs."""
    buffer = hb.Buffer()
    buffer.add_str(run[::-1])  # back to the order it is read in
    buffer.guess_segment_properties()
    hb.shape(_harfbuzz_font(name), buffer, {})
    chars = glyph_chars(name)
    glyphs = [chars.get(info.codepoint) for info in buffer.glyph_infos]
    return run if None in glyphs else "".join(c for c in glyphs if c is not None)


@functools.cache
def _harfbuzz_font(name: str) -> hb.Font:
    file = font_file(name)
    return hb.Font(hb.Face(hb.Blob.from_file_path(str(file.path)), file.index))
