"""Printed signs and sticker sheets: the QR decodes from print, the printed URL is right."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from builder.i18n import clock, day_names
from builder.landing import LandingError, load_catalogs
from builder.qr import make_code
from builder.signs import PRINT_CATALOGS, render_pdf, sign_text
from quietdoor.config import Deployment, Placement, load_config
from quietdoor.languages import SUPPORTED_LANGUAGES

from .support.paths import EXAMPLE
from .support.prints import decoded, font_sizes, pdf_text

PAGE_SIZES = {"letter": "612 x 792 pts (letter)", "a4": "595.276 x 841.89 pts (A4)"}
EXAMPLE_DEPLOYMENT = load_config(EXAMPLE)


def render(deployment: Deployment, placement: Placement, lang: str, paper: str, tmp: Path) -> Path:
    school = deployment.school(placement.school)
    assert school is not None
    text = sign_text(deployment, school, placement, lang)
    code = make_code(text.url)
    path = tmp / f"{placement.id}-{lang}-{paper}.pdf"
    path.write_bytes(render_pdf(text, code, paper, placement.kind, deployment.organisation))
    return path


@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("placement", EXAMPLE_DEPLOYMENT.placements, ids=lambda p: p.id)
def test_every_code_decodes_to_the_printed_url(
    tmp_path: Path, placement: Placement, lang: str, paper: str
) -> None:
    d = dataclasses.replace(EXAMPLE_DEPLOYMENT, paper=paper)
    pdf = render(d, placement, lang, paper, tmp_path)
    url = d.landing_url(placement.school, lang)
    assert url.endswith("/es/") == (lang == "es")  # a Spanish sign opens the Spanish page
    copies = 4 if placement.kind == "sticker" else 1
    assert decoded(pdf, tmp_path) == [url] * copies
    text = pdf_text(pdf)
    assert re.findall(r"https?://\S+", text) == [url] * copies
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert f"Page size:       {PAGE_SIZES[paper]}" in info.stdout
    assert "Pages:           1" in info.stdout


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("kind", ["sign", "sticker"])
def test_no_small_print_is_under_7_pt(tmp_path: Path, lang: str, kind: str) -> None:
    d = EXAMPLE_DEPLOYMENT
    placement = dataclasses.replace(d.placements[1], kind=kind)
    sizes = font_sizes(render(d, placement, lang, "letter", tmp_path))
    assert sizes and min(sizes) >= 7.0, sorted(set(sizes))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("kind", ["sign", "sticker"])
def test_sign_says_what_a_student_needs_and_nothing_alarming(
    tmp_path: Path, lang: str, kind: str
) -> None:
    d = EXAMPLE_DEPLOYMENT
    placement = dataclasses.replace(d.placements[1], kind=kind)
    text = " ".join(pdf_text(render(d, placement, lang, "letter", tmp_path)).split())
    strings = load_catalogs(PRINT_CATALOGS)[lang]
    for expected in (strings["headline"], strings["no_name"], strings["danger"], "1-888-373-7888"):
        assert expected in text
    assert "233733" in text
    hours = (day_names(lang)[0], clock("07:30", lang).replace("\u00a0", " "))
    assert all(words in text for words in hours)  # when the school reads messages
    assert "Lincoln High School · counseling" in text  # the placement id, for the monthly check
    assert not re.search(r"traffick|trata|abus|sex|explot", text, re.IGNORECASE)


def test_a_long_url_breaks_after_a_slash_and_still_decodes(tmp_path: Path) -> None:
    slug = "a-very-long-school-name-that-a-state-directory-might-well-use-x"
    school = EXAMPLE_DEPLOYMENT.schools[0]._replace(slug=slug)
    d = dataclasses.replace(
        EXAMPLE_DEPLOYMENT,
        schools=(school,),
        placements=(Placement(school=slug, id="a1", location="Hall", kind="sticker"),),
    )
    pdf = render(d, d.placements[0], "en", "letter", tmp_path)
    url = d.landing_url(slug)
    assert decoded(pdf, tmp_path) == [url] * 4
    lines = pdf_text(pdf).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("https://"))
    assert lines[start] != url and lines[start].endswith("/")
    assert lines[start] + lines[start + 1] == url


def test_same_input_same_bytes(tmp_path: Path) -> None:
    placement = EXAMPLE_DEPLOYMENT.placements[0]
    first = render(EXAMPLE_DEPLOYMENT, placement, "es", "a4", tmp_path).read_bytes()
    second = render(EXAMPLE_DEPLOYMENT, placement, "es", "a4", tmp_path).read_bytes()
    assert first == second


def test_print_catalogs_must_have_the_same_keys(tmp_path: Path) -> None:
    for lang in SUPPORTED_LANGUAGES:
        text = (PRINT_CATALOGS / f"{lang}.toml").read_text(encoding="utf-8")
        if lang == "es":
            text = text.replace("\nleave =", "\n# leave =")
        (tmp_path / f"{lang}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LandingError, match=r"es\.toml: missing 'leave'"):
        load_catalogs(tmp_path)
