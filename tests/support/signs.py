"""Signs in every language, rendered as the builder renders them, for the tests that
read them back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from builder.qr import make_code
from builder.signs import SignText, render_pdf, sign_text
from quietdoor.config import load_config
from quietdoor.languages import SUPPORTED_LANGUAGES

from .paths import EXAMPLE

EVERY_LANGUAGE = dataclasses.replace(load_config(EXAMPLE), languages=SUPPORTED_LANGUAGES)
# What a panel prints in the language's own words (the label adds the school's name).
OWN_WORDS = ("headline", "lead", "scan", "no_name", "danger", "helpline", "leave", "hours")
PRINTED = (*OWN_WORDS, "label")


def render(lang: str, kind: str, tmp: Path) -> tuple[SignText, Path]:
    placement = dataclasses.replace(EVERY_LANGUAGE.placements[1], kind=kind)
    school = EVERY_LANGUAGE.school(placement.school)
    assert school is not None
    text = sign_text(EVERY_LANGUAGE, school, placement, lang)
    pdf = tmp / f"{kind}-{lang}.pdf"
    code = make_code(text.url)
    pdf.write_bytes(render_pdf(text, code, "letter", kind, EVERY_LANGUAGE.organisation))
    return text, pdf
