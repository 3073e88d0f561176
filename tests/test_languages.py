"""The language table: every row has its translations, and the builder and desk read it."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from builder.plan import deployment_problems
from builder.sign_fonts import FAMILIES
from builder.signs import SignText
from quietdoor.config import load_config
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES, Language, english_name

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "site" / "i18n"


def test_every_row_has_its_translation_files_and_every_file_a_row() -> None:
    for folder in (I18N, I18N / "print"):
        assert sorted(p.stem for p in folder.glob("*.toml")) == sorted(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_a_row_is_complete_and_usable(code: str) -> None:
    row = LANGUAGES[code]
    assert row.code == code
    assert row.english and row.native
    assert row.direction in ("ltr", "rtl")
    assert row.sign_font in FAMILIES
    strings = tomllib.loads((I18N / f"{code}.toml").read_text(encoding="utf-8"))
    assert "language_name" not in strings  # the table names the language, not its strings


def test_staff_read_the_english_name_and_an_unknown_code_as_itself() -> None:
    assert english_name("es") == "Spanish"
    assert english_name("xx") == "xx"


def test_the_readiness_report_names_a_language_left_out_from_the_table() -> None:
    d = dataclasses.replace(load_config(ROOT / "examples" / "demo.toml"), languages=("en",))
    messages = [f.message for f in deployment_problems(d)]
    assert len(messages) == len(SUPPORTED_LANGUAGES) - 1
    assert messages[0].startswith("Spanish (es) is translated but not offered")


def test_signs_take_their_font_from_the_table() -> None:
    text = SignText("es", *[""] * 11)
    assert (text.font, text.rtl) == ("NotoSans", False)


@pytest.mark.parametrize("row", LANGUAGES.values(), ids=SUPPORTED_LANGUAGES)
def test_no_part_keeps_its_own_copy_of_a_language_name(row: Language) -> None:
    names = {f'"{row.english}"', f'"{row.native}"'}
    for part in ("quietdoor", "builder", "relay", "keytool", "demo"):
        for source in (ROOT / part).rglob("*.py"):
            if source.name != "languages.py":
                text = source.read_text(encoding="utf-8")
                assert not [n for n in names if n in text], source
