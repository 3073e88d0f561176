"""Every CSV the project writes keeps a hostile name as text, never a spreadsheet formula."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io

import pytest

from builder.plan import Finding, plan_csv, readiness_csv
from keytool.stats import MonthStats, Stats
from keytool.stats_report import to_csv as stats_csv
from quietdoor.config import load_config
from quietdoor.csvcells import cell

from .support.paths import EXAMPLE

HOSTILE = ['=HYPERLINK("https://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
HOSTILE += ["\t=1+1", "\r=1+1", "\n=1+1"]


def neutral(name: str) -> str:
    return "'" + name.replace("\r", "\n")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_cell_that_starts_like_a_formula_is_text(name: str) -> None:
    assert cell(name) == neutral(name)


@pytest.mark.parametrize("value", ["Lincoln High", "", "a=b", "O'Neil", 3, -1, None])
def test_other_cells_are_left_as_they_are(value: object) -> None:
    assert cell(value) == value


def test_a_carriage_return_cannot_start_a_row() -> None:
    finding = Finding("note", "x", "d", "s", "a\r=1+1\r\nb")
    assert read(readiness_csv([finding])) == [
        {"level": "note", "check": "x", "district": "d", "school": "s", "message": "a\n=1+1\nb"}
    ]


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", HOSTILE)
def test_plan_csv(name: str) -> None:
    base = load_config(EXAMPLE)
    school = base.schools[0]
    deployment = dataclasses.replace(base, schools=(school._replace(name=name), *base.schools[1:]))
    rows = [r for r in read(plan_csv(deployment)) if r["school"] == school.slug]
    assert rows and {r["school_name"] for r in rows} == {neutral(name)}


@pytest.mark.parametrize("name", HOSTILE)
def test_readiness_csv(name: str) -> None:
    finding = Finding("problem", "single-recipient", "district", "lincoln-high", name)
    assert read(readiness_csv([finding]))[0]["message"] == neutral(name)


@pytest.mark.parametrize("name", HOSTILE)
def test_stats_csv(name: str) -> None:
    stats = Stats(
        months=("2026-01",),
        schools={"lincoln-high": {"2026-01": MonthStats(reports=1)}},
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 1, 31),
    )
    rows = read(stats_csv(stats, lambda slug: name))
    assert [r["school"] for r in rows] == [neutral(name)] * 2
    assert rows[0]["reports"] == "1"
