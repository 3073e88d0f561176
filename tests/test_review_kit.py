"""A translation's review: the kit a native speaker reads, the CSV they send back, applied."""

from __future__ import annotations

import csv
import datetime
import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from builder import cli
from builder.i18n import I18N_DIR, review
from builder.landing import load_catalogs
from builder.review_kit import COLUMNS, ReviewError, apply_review, entries, write_kit

TODAY = datetime.date(2026, 12, 6)
Rows = list[list[str]]


@pytest.fixture
def i18n(tmp_path: Path) -> Path:
    """A copy of the translation files that a review may change."""
    folder = tmp_path / "i18n"
    folder.mkdir()
    for source in I18N_DIR.glob("*.toml"):
        shutil.copy(source, folder / source.name)
    return folder


def sheet(tmp_path: Path, lang: str, edit: Callable[[Rows], None]) -> Path:
    """The kit's CSV for a language, as a reviewer sends it back after `edit`."""
    _, path = write_kit(lang, tmp_path / "kit")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    edit(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def signed(rows: Rows) -> None:
    rows[2][3] = "Amal Haddad"


def correct(key: str, text: str) -> Callable[[Rows], None]:
    def edit(rows: Rows) -> None:
        signed(rows)
        next(row for row in rows if row[0] == key)[3] = text

    return edit


def test_the_kit_shows_english_beside_the_translation_with_context_and_limits(
    tmp_path: Path,
) -> None:
    page, path = write_kit("ar", tmp_path)
    html = page.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == COLUMNS and rows[1][:3] == ["#language", "", "ar"]
    strings = load_catalogs()["ar"]
    assert [row[0] for row in rows[3:]] == list(strings)
    assert html.count('<td lang="ar" dir="rtl">') == len(strings)
    by_key = {e.key: e for e in entries("ar")}
    exit_button = by_key["exit_button"]
    assert "the top bar" in exit_button.places and "a button" in exit_button.places
    assert exit_button.limit < len(exit_button.english) * 1.5
    assert "the case page, shown by its script" in by_key["code_no_match"].places
    assert "inbox_full shows above the hotline" in by_key["inbox_full"].about
    assert f"<td>{exit_button.limit}</td>" in html and strings["heading"] in html


def test_a_review_brings_corrections_back_and_records_who_and_when(
    tmp_path: Path, i18n: Path
) -> None:
    before = (i18n / "ar.toml").read_text(encoding="utf-8")
    path = sheet(tmp_path, "ar", correct("heading", "قل لنا ماذا يحدث"))
    assert apply_review(path, TODAY, i18n) == "ar"
    after = (i18n / "ar.toml").read_text(encoding="utf-8")
    assert after.splitlines()[:3] == before.splitlines()[:3]  # comments kept
    assert load_catalogs(i18n)["ar"]["heading"] == "قل لنا ماذا يحدث"
    found = review("ar", i18n)
    assert (found.status, found.reviewer, found.date) == ("reviewed", "Amal Haddad", "2026-12-06")
    assert found.publishable_as_is
    assert load_catalogs(i18n)["ar"]["title"] == load_catalogs()["ar"]["title"]  # the rest kept


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: None, "line 3: #reviewer: put your name"),
        (correct("title", "رسالة"), "title: correction must keep exactly ['school']"),
        (correct("title", "رسالة {school} {name}"), "title: correction must keep exactly"),
        (correct("send", "أرسل " * 20), "send: correction is 99 characters; at most 20 fit"),
        (correct("heading", "أخبرنا\x07"), "heading: correction has a control character"),
        (correct("heading", "{"), "heading: correction must keep exactly no {placeholders}"),
        (lambda rows: (signed(rows), rows.pop()), "rows missing for conversation_ends"),
        (lambda rows: (signed(rows), rows.append(["nope", "", "", "x", ""])), "'nope' is unknown"),
        (lambda rows: (signed(rows), rows.append(rows[5])), "is unknown or repeated"),
        (lambda rows: rows[0].reverse(), "line 1: expected the columns key, english"),
        (lambda rows: rows[1].__setitem__(2, "en"), "line 2: #language: 'en' is not"),
        (lambda rows: (signed(rows), rows[6].pop()), "line 7: expected 5 cells, got 4"),
    ],
)
def test_a_bad_sheet_changes_nothing_and_says_where(
    tmp_path: Path, i18n: Path, edit: Callable[[Rows], None], message: str
) -> None:
    before = {p.name: p.read_bytes() for p in i18n.iterdir()}
    path = sheet(tmp_path, "ar", edit)
    with pytest.raises(ReviewError, match=f"{re.escape(str(path))}: .*{re.escape(message)}"):
        apply_review(path, TODAY, i18n)
    assert {p.name: p.read_bytes() for p in i18n.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--review-kit", "xx", "out"], "build: --review-kit: 'xx' is not a translated language"),
        (["--apply-review", "missing.csv"], "build: missing.csv: cannot read (No such file"),
        (["--review-kit", "vi", "pyproject.toml"], "build: --review-kit: cannot write into"),
    ],
)
def test_build_py_says_what_is_wrong_without_a_traceback(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and "Traceback" not in err


def test_build_py_writes_the_kit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["--review-kit", "zh-Hans", str(tmp_path)]) == 0
    assert (tmp_path / "review-zh-Hans.csv").is_file()
    assert "fill in" in capsys.readouterr().out
