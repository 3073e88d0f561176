"""The sign fonts as fontTools reads them: which characters each face has."""

from __future__ import annotations

import functools

from fontTools.ttLib import TTFont

from builder.sign_fonts import font_file


@functools.cache
def cmap(face: str) -> frozenset[str]:
    """The characters a registered face (e.g. "NotoSansArabic-Bold") has a glyph for."""
    file = font_file(face)
    with TTFont(file.path, fontNumber=file.index, lazy=True) as font:
        chars = frozenset(map(chr, font.getBestCmap()))
    # ReportLab draws a no-break space with the space glyph when a font has none
    # (reportlab/pdfbase/ttfonts.py), as WenQuanYi Zen Hei does.
    return chars | {"\xa0"} if " " in chars else chars
