"""The sign fonts as fontTools and HarfBuzz read them: which characters each face has,
and which it would draw as .notdef."""

from __future__ import annotations

import functools

import uharfbuzz as hb
from fontTools.ttLib import TTFont

from builder.sign_fonts import FAMILIES, face_name, font_file


@functools.cache
def cmap(face: str) -> frozenset[str]:
    """The characters a registered face (e.g. "NotoSansArabic-Bold") has a glyph for."""
    file = font_file(face)
    with TTFont(file.path, fontNumber=file.index, lazy=True) as font:
        chars = frozenset(map(chr, font.getBestCmap()))
    # ReportLab draws a no-break space with the space glyph when a font has none
    # (reportlab/pdfbase/ttfonts.py), as WenQuanYi Zen Hei does.
    return chars | {"\xa0"} if " " in chars else chars


def notdef_chars(face: str, run: str) -> list[str]:
    """The characters of a run, as drawn (visual order), that HarfBuzz shapes to glyph 0
    (.notdef) in the face's own file."""
    buffer = hb.Buffer()
    buffer.add_str(run)
    buffer.guess_segment_properties()
    hb.shape(_harfbuzz_font(face), buffer, {})
    return [run[info.cluster] for info in buffer.glyph_infos if info.codepoint == 0]


@functools.cache
def _harfbuzz_font(face: str) -> hb.Font:
    file = font_file(face)
    return hb.Font(hb.Face(hb.Blob.from_file_path(str(file.path)), file.index))


def every_face() -> tuple[str, ...]:
    """Every registered face of the sign fonts, regular and bold."""
    return tuple(face_name(family, bold) for family in FAMILIES for bold in (False, True))
