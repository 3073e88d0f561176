"""The language table: every row has its translations, and the builder and desk read it."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from builder.i18n import TranslationError, case_calendar, locale, refuse_drafts, review
from builder.plan import deployment_problems
from builder.sign_fonts import FAMILIES
from builder.signs import SignText
from quietdoor.config import load_config
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES, Language, english_name

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "site" / "i18n"
DEMO = load_config(ROOT / "examples" / "demo.toml")


def test_every_row_has_its_translation_files_and_every_file_a_row() -> None:
    for folder in (I18N, I18N / "print"):
        assert sorted(p.stem for p in folder.glob("*.toml")) == sorted(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_a_row_is_complete_and_usable(code: str) -> None:
    row = LANGUAGES[code]
    assert row.code == code
    assert row.english and row.native
    assert row.direction in ("ltr", "rtl")
    assert row.sign_font in FAMILIES  # the TrueType families builder/sign_fonts.py registers
    assert re.fullmatch("[a-z]{2}", row.payload_lang)  # a report's `lang` (PROTOCOL.md)
    strings = tomllib.loads((I18N / f"{code}.toml").read_text(encoding="utf-8"))
    assert "language_name" not in strings  # the table names the language, not its strings
    assert ("calendar" in strings) is not row.cldr  # CLDR's words, or the file's own


def test_the_right_to_left_and_chinese_rows() -> None:
    assert [c for c, row in LANGUAGES.items() if row.direction == "rtl"] == ["ar"]
    assert LANGUAGES["zh-Hans"].payload_lang == "zh" and LANGUAGES["ar"].payload_lang == "ar"
    assert english_name("zh") == english_name("zh-Hans") == "Chinese (Simplified)"


def test_staff_read_the_english_name_and_an_unknown_code_as_itself() -> None:
    assert english_name("es") == "Spanish"
    assert english_name("xx") == "xx"


def test_the_readiness_report_names_a_language_left_out_from_the_table() -> None:
    d = dataclasses.replace(DEMO, languages=("en",))
    [missing] = [f for f in deployment_problems(d) if f.check == "language-missing"]
    assert missing.message.startswith("Translated but not offered: Spanish (es), Arabic (ar)")
    assert "Ukrainian (uk)." in missing.message


def test_a_school_offered_a_language_is_not_reported_missing() -> None:
    d = dataclasses.replace(
        DEMO, languages=("en",), school_languages={"lincoln-high": ("es", "en")}
    )
    [missing] = [f for f in deployment_problems(d) if f.check == "language-missing"]
    assert "Spanish" not in missing.message


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


def test_the_build_refuses_a_draft_language_unless_the_config_allows_it() -> None:
    refuse_drafts(DEMO)  # examples/demo.toml allows them
    strict = dataclasses.replace(DEMO, allow_draft_languages=False)
    with pytest.raises(TranslationError, match=r"languages: es is a draft \(review.status"):
        refuse_drafts(strict)
    refuse_drafts(dataclasses.replace(strict, languages=("en",)))  # English is the source


def test_build_py_says_which_languages_are_drafts(tmp_path: Path) -> None:
    config = tmp_path / "demo.toml"
    text = (ROOT / "examples" / "demo.toml").read_text(encoding="utf-8")
    config.write_text(
        text.replace('languages = ["en", "es"]', 'languages = ["en", "ar", "vi"]').replace(
            "allow_draft_languages = true", "allow_draft_languages = false"
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "build.py", "--config", str(config), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("build: languages: ar, vi are drafts")
    assert not (tmp_path / "out" / "s").exists()  # nothing half-built


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_every_file_states_its_review_honestly(code: str) -> None:
    found = review(code)
    # Nobody has reviewed a translation yet: each says so (docs/LANGUAGES.md).
    assert found.status == ("source" if code == "en" else "draft")
    assert (found.reviewer, found.date) == ("", "")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('status = "done"', "review.status: 'done' is not one of source, draft, reviewed"),
        ('status = "reviewed"\nreviewer = ""', "review.reviewer: a reviewed file names"),
        ('status = "reviewed"\nreviewer = "A. B."\ndate = "May 3"', "review.date: 'May 3'"),
        ("status = 1", "review.status: expected text, got 1"),
        ('status = "source"', "review.status: 'source' is the English file's status"),
    ],
)
def test_a_wrong_review_table_is_refused(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "vi.toml").write_text(f"x = 'y'\n[review]\n{table}\n", encoding="utf-8")
    with pytest.raises(TranslationError, match=re.escape(f"vi.toml: {message}")):
        review("vi", tmp_path)


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_the_case_page_carries_a_calendar_only_where_intl_has_no_words(code: str) -> None:
    calendar = case_calendar(code)
    if LANGUAGES[code].cldr:
        assert calendar == ""  # the page asks Intl
    else:
        words = json.loads(calendar)
        assert len(words["days"]) == 7 and len(words["months"]) == 12
        assert "{weekday}" in words["date"] and "{month}" in words["date"]


def test_somalis_own_words_are_cldrs() -> None:
    """Chromium's Intl has no Somali; Babel's CLDR does, and the file says the same."""
    words = json.loads(case_calendar("so"))
    cldr = locale("so")
    assert words["days"] == [cldr.days["format"]["wide"][day] for day in range(7)]
    assert words["months"] == [cldr.months["format"]["wide"][month] for month in range(1, 13)]
