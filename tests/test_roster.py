"""The training roster: CSV columns, the refresher flag, the printable page."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from keytool.errors import KeyToolError
from keytool.roster import COLUMNS, Module, load_modules, missing_rows, roster_rows, to_csv, to_html
from quietdoor.payloads import Training

from .helpers import training_record

MODULES = {
    "m01": Module(id="m01", title="What exploitation is", version="aaaa"),
    "m02": Module(id="m02", title="School life", version="bbbb"),
}


def record(name: str, *modules: tuple[str, str, str], role: str = "Teacher") -> Training:
    return training_record("lincoln-high", name, modules, role=role)


def test_current_refresher_and_retired_modules() -> None:
    rows = roster_rows(
        [
            record("Ana Ruiz", ("m01", "aaaa", "2026-11-01"), ("m02", "old1", "2026-10-01")),
            record("Ana Ruiz", ("m09", "zzzz", "2026-09-01")),
        ],
        MODULES,
    )
    status = {(r.name, r.module): r.status for r in rows}
    assert status == {
        ("Ana Ruiz", "m01"): "current",
        ("Ana Ruiz", "m02"): "refresher needed",
        ("Ana Ruiz", "m09"): "module retired",
    }


def test_the_latest_completion_of_a_module_counts() -> None:
    rows = roster_rows(
        [
            record("Ben Okafor", ("m02", "old1", "2026-10-01")),
            record("ben okafor", ("m02", "bbbb", "2026-11-20")),
        ],
        MODULES,
    )
    assert [(r.module, r.version, r.status) for r in rows] == [("m02", "bbbb", "current")]


def test_csv_columns_and_not_completed_rows() -> None:
    rows = roster_rows([record("Ana Ruiz", ("m01", "aaaa", "2026-11-01"))], MODULES)
    rows += missing_rows(rows, MODULES)
    table = list(csv.reader(io.StringIO(to_csv(rows))))
    assert (
        table[0]
        == COLUMNS
        == [
            "school",
            "name",
            "role",
            "module",
            "module_title",
            "version",
            "score",
            "questions",
            "completed_on",
            "status",
        ]
    )
    assert table[1] == [
        "lincoln-high",
        "Ana Ruiz",
        "Teacher",
        "m01",
        "What exploitation is",
        "aaaa",
        "3",
        "4",
        "2026-11-01",
        "current",
    ]
    assert table[2][3] == "m02" and table[2][-1] == "not completed"


def test_csv_cannot_smuggle_a_spreadsheet_formula() -> None:
    rows = roster_rows([record('=HYPERLINK("x")', ("m01", "aaaa", "2026-11-01"))], MODULES)
    assert list(csv.reader(io.StringIO(to_csv(rows))))[1][1] == '\'=HYPERLINK("x")'


def test_printable_page_escapes_and_flags_in_words() -> None:
    rows = roster_rows([record("<b>Eve</b>", ("m02", "old1", "2026-10-01"))], MODULES)
    page = to_html(rows, "Staff training roster", "2026-11-28")
    assert "<b>Eve</b>" not in page and "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "refresher needed" in page and "@media print" in page


def test_load_modules_from_a_built_site_and_its_errors(tmp_path: Path) -> None:
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "course.json").write_text(
        json.dumps(
            {"modules": [{"id": "m01", "title": "T", "version": "v1", "path": "modules/01/"}]}
        )
    )
    assert load_modules(str(tmp_path)) == {"m01": Module(id="m01", title="T", version="v1")}
    with pytest.raises(KeyToolError, match="cannot read"):
        load_modules(str(tmp_path / "nowhere"))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(KeyToolError, match="is not a Quiet Door"):
        load_modules(str(tmp_path / "bad.json"))
