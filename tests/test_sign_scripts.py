"""Signs in every language: each script drawn in a font that has it, Arabic shaped and
right to left, Chinese broken between characters, and the text layer reads as written."""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from pathlib import Path

import pytest

from builder.qr import make_code
from builder.shaping import layout, pieces
from builder.signs import render_pdf, sign_text
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES

from .support.fonts import cmap
from .support.prints import decoded, letters, pdf_text, rendered, word_boxes
from .support.signs import EVERY_LANGUAGE, OWN_WORDS, PRINTED, render


def bare(text: str) -> str:
    """NFKC (a presentation form is its letter again), without white space (lines break
    between Chinese characters where the string has no space) and without the bidi
    embedding controls pdftotext puts around right-to-left text."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


@pytest.mark.parametrize("kind", ["sign", "sticker"])
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_text_layer_reads_as_written_and_the_code_opens_the_language(
    tmp_path: Path, lang: str, kind: str
) -> None:
    text, pdf = render(lang, kind, tmp_path)
    extracted = pdf_text(pdf)
    for key in PRINTED:
        assert letters(getattr(text, key)) in letters(extracted), key
        # pdftotext reads "1-888-373-7888" in an Arabic line as "7888-373-888-1" (the
        # sign shows it left to right): numbers are checked group by group
        assert set(re.findall(r"\d+", getattr(text, key))) <= set(re.findall(r"\d+", extracted))
    assert text.url.endswith("/") and (lang == "en") != text.url.endswith(f"/{lang}/")
    copies = 4 if kind == "sticker" else 1
    assert decoded(pdf, tmp_path) == [text.url] * copies


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_character_is_drawn_in_a_face_that_has_it(tmp_path: Path, lang: str) -> None:
    """The language's own font has every letter of its strings; whatever a line draws in
    any face is in that face's cmap (a character outside it prints as .notdef)."""
    text, _ = render(lang, "sign", tmp_path)
    family = LANGUAGES[lang].sign_font
    for bold in (False, True):
        own = cmap(f"{family}-Bold" if bold else family)
        for key in PRINTED:
            value = unicodedata.normalize("NFC", getattr(text, key))
            letters = {c for c in value if unicodedata.category(c)[0] in "LM"}
            if key in OWN_WORDS:
                assert letters <= own, (key, sorted(letters - own))
            for face, run in layout(value, family, bold, text.rtl):
                assert set(run) <= cmap(face), (key, face, sorted(set(run) - cmap(face)))


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_word_is_inked_where_the_text_layer_puts_it(tmp_path: Path, lang: str) -> None:
    _, pdf = render(lang, "sign", tmp_path)
    dpi = 100
    image = rendered(pdf, tmp_path, dpi)
    words = word_boxes(pdf)
    assert len(words) > 10  # Chinese has few spaces: a "word" is a clause
    scale = dpi / 72
    for word, x0, y0, x1, y1 in words:
        box = (math.floor(x0 * scale), math.floor(y0 * scale), math.ceil(x1 * scale))
        darkest, _ = image.crop((*box, math.ceil(y1 * scale))).getextrema()
        assert darkest < 192, word  # ink, even for a middle dot
    # and nothing is drawn where there is no text, QR code or box: the margins are blank
    margin = math.floor(36 * scale)
    assert image.crop((0, 0, image.width, margin)).getextrema() == (255, 255)


def test_arabic_is_joined_and_laid_out_right_to_left() -> None:
    # seen, lam, alef, meem: seen joins the lam-alef ligature, meem stands alone; drawn
    # left to right, the word's last letter comes first
    assert layout("سلام", "NotoSansArabic", False, True) == (
        ("NotoSansArabic", "\u0645\ufefc\ufeb3"),  # an isolated meem is the letter itself
    )


def test_numbers_and_latin_words_stay_left_to_right_inside_arabic() -> None:
    line = layout("اتصل بالرقم 911 في Lincoln", "NotoSansArabic", False, True)
    assert line[0] == ("NotoSans", "Lincoln ")  # the last words, drawn first (leftmost)
    drawn = "".join(run for _, run in line)
    assert "911" in drawn and bare(drawn[::-1]).startswith(bare("اتصل"))


def test_vietnamese_is_composed_before_it_is_drawn() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn")
    assert layout(decomposed, "NotoSans", False, False) == (("NotoSans", "Nguyễn"),)


def test_chinese_breaks_between_characters_but_not_before_closing_punctuation() -> None:
    assert pieces("有危险？请拨打 911。") == ["有", "危", "险？", "请", "拨", "打 ", "911。"]
    assert pieces("Call 1-888-373-7888 now") == ["Call ", "1-888-373-7888 ", "now"]


@pytest.mark.parametrize("name", ["Trường Nguyễn", "مدرسة النور", "光明中学", "Школа № 5"])
def test_a_school_name_in_any_script_prints_on_every_sign(tmp_path: Path, name: str) -> None:
    school = EVERY_LANGUAGE.schools[0]._replace(name=name)
    deployment = dataclasses.replace(EVERY_LANGUAGE, schools=(school,))
    placement = deployment.placements_for(school.slug)[0]
    for lang in ("en", "ar", "zh-Hans"):
        text = sign_text(deployment, school, placement, lang)
        pdf = tmp_path / f"{lang}.pdf"
        pdf.write_bytes(render_pdf(text, make_code(text.url), "a4", "sign", "District"))
        assert bare(name) in bare(pdf_text(pdf)), lang
