"""No sign draws a missing glyph: every run a sign draws shapes without .notdef in its
face, and the PDF shows no glyph with code 0.

ReportLab draws a character a face lacks as code 0 of the font's subset, and code 0 is
the face's glyph for U+0000: empty and without width in every sign font. So the letter
silently vanishes, from the printed page and from the text layer alike, and there is
no box to find in pixels (poppler does not paint a TrueType .notdef either). The code
in the PDF is where a missing glyph can be seen; the text-layer check
(tests/test_sign_scripts.py) sees the letter gone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.pdfgen.canvas import Canvas

from builder.shaping import layout
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES

from .support.fonts import every_face, notdef_chars
from .support.prints import pdf_text, shown_strings
from .support.signs import PRINTED, render

MISSING = "\U0001f600"  # a character no sign font has
CONTROL = f"10{MISSING}01"


def missing_glyphs(pdf: Path) -> list[tuple[str, bytes]]:
    """The strings shown in a TrueType subset (ReportLab names it like "F2+0") that draw
    code 0; and the check cannot pass for want of text."""
    shown = [(font, codes) for font, codes in shown_strings(pdf) if "+" in font]
    assert shown, f"{pdf}: no text in a TrueType font"
    return [(font, codes) for font, codes in shown if 0 in codes]


def control_pdf(face: str, path: Path) -> Path:
    """A line with a character the face lacks, drawn as a sign draws its text."""
    canvas = Canvas(str(path), pagesize=(200, 60), invariant=True)
    canvas.setFont(face, 14)
    canvas.drawString(20, 20, CONTROL)
    canvas.showPage()
    canvas.save()
    return path


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_run_a_sign_draws_shapes_without_notdef(tmp_path: Path, lang: str) -> None:
    text, _ = render(lang, "sign", tmp_path)
    family = LANGUAGES[lang].sign_font
    for key in PRINTED:
        for bold in (False, True):
            for face, run in layout(getattr(text, key), family, bold, text.rtl):
                assert notdef_chars(face, run) == [], (key, face, run)


@pytest.mark.parametrize("face", every_face())
def test_the_shaping_check_sees_a_character_the_face_lacks(face: str) -> None:
    assert notdef_chars(face, CONTROL) == [MISSING]


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_no_sign_draws_a_missing_glyph(tmp_path: Path, lang: str) -> None:
    _, pdf = render(lang, "sign", tmp_path)
    assert missing_glyphs(pdf) == []


@pytest.mark.parametrize("face", every_face())
def test_a_missing_glyph_is_seen_in_the_pdf_and_lost_from_the_text(
    tmp_path: Path, face: str
) -> None:
    pdf = control_pdf(face, tmp_path / "control.pdf")
    assert [codes.count(0) for _, codes in missing_glyphs(pdf)] == [1]
    # what the text-layer check compares: the digits are read back, the character is not
    extracted = pdf_text(pdf)
    assert "1001" in extracted and MISSING not in extracted
