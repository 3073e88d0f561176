"""Placement plan and readiness report: planted problems are found, a clean config has none."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from builder.course_language import all_course_languages
from builder.plan import (
    course_draft_findings,
    deployment_problems,
    district_problems,
    longest_wait,
    plan_csv,
    render_school_plan,
    school_problems,
)
from builder.site import TRAINING_SOURCE, write_rollout
from quietdoor.config import Deployment, Placement, ReadHours, Recipient, load_config
from quietdoor.config.ladder import Escalation

from .support.paths import EXAMPLE

BASE = load_config(EXAMPLE)
# The relay on this machine, as the demo runs it: the example's alert channel listens here.
AS_THE_DEMO_RUNS_IT = dataclasses.replace(BASE, relay_url="http://127.0.0.1:8000")


def clean() -> Deployment:
    """The example with a second reader at every school and a private code everywhere."""
    extra = Recipient(
        id="cedar-lead",
        name="Ana Ruiz",
        x25519=bytes(range(32)),
        ed25519=bytes(range(1, 33)),
        schools=("riverside-middle", "cedar-valley-high"),
    )
    return dataclasses.replace(AS_THE_DEMO_RUNS_IT, recipients=(*BASE.recipients, extra))


def problems(d: Deployment) -> set[tuple[str, str, str]]:
    found = deployment_problems(d) + district_problems(d)
    for school in d.schools:
        found += school_problems(d, school)
    return {(f.check, f.district, f.school) for f in found if f.level == "problem"}


def test_a_clean_config_has_no_problems_only_weekend_notes() -> None:
    d = clean()
    assert problems(d) == set()
    notes = [f for s in d.schools for f in school_problems(d, s) if f.level == "note"]
    assert [(f.check, f.school) for f in notes] == [
        ("weekend-wait", "lincoln-high"),
        ("weekend-wait", "riverside-middle"),
    ]
    assert "63 hours (until Monday 7:30 AM)" in notes[0].message


def test_planted_problems_are_each_found() -> None:
    d = clean()
    lincoln, middle, cedar = d.schools
    planted = dataclasses.replace(
        d,
        languages=("en",),
        # Cedar Valley: read only by its own lead, an hour on Mondays; no district recipient.
        schools=(
            lincoln,
            middle,
            cedar._replace(read_hours=ReadHours(False, (0,), "08:00", "09:00")),
        ),
        recipients=tuple(r for r in d.recipients if r.id != "ruth-nakamura"),
        escalation=Escalation(),  # the example's ladders name Ruth; ladders have their own tests
        # Lincoln: only a public sign; Riverside Middle: none at all.
        placements=(
            Placement(school="lincoln-high", id="hall", location="Front hall"),
            Placement(school="cedar-valley-high", id="gym", location="Gym", private=True),
        ),
    )
    assert problems(planted) == {
        ("district-without-recipient", "cedar-valley", ""),
        ("no-district-recipient", "cedar-valley", "cedar-valley-high"),
        ("single-recipient", "cedar-valley", "cedar-valley-high"),
        ("long-wait", "cedar-valley", "cedar-valley-high"),
        ("no-private-placement", "riverside-unified", "lincoln-high"),
        ("no-placement", "riverside-unified", "riverside-middle"),
    }


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (ReadHours(True), None),
        (
            ReadHours(False, (0, 1, 2, 3, 4), "07:30", "16:30"),
            (63, "Friday 4:30 PM", "Monday 7:30 AM"),
        ),
        (
            ReadHours(False, tuple(range(7)), "08:00", "20:00"),
            (12, "Monday 8:00 PM", "Tuesday 8:00 AM"),
        ),
        (
            ReadHours(False, (2,), "09:00", "10:00"),
            (167, "Wednesday 10:00 AM", "Wednesday 9:00 AM"),
        ),
    ],
)
def test_longest_wait(hours: ReadHours, expected: tuple[int, str, str] | None) -> None:
    assert longest_wait(hours) == expected


def test_school_plan_lists_placements_files_checklists_and_findings() -> None:
    d = BASE
    school = d.schools[1]
    html = render_school_plan(d, school, school_problems(d, school))
    for text in (
        "Placement plan: Riverside Middle School",
        "<code>nurse</code>",
        "nurse-en.pdf",
        "nurse-es.pdf",
        "Only Marcus Lee can read",
        "Monthly check",
        "No other code on it",
        "Scans to the printed address",
        "https://report.riverside.example/s/riverside-middle/",
        "Letter paper at 100%",
    ):
        assert text in html


def test_plan_csv_has_a_row_per_printed_file() -> None:
    rows = list(csv.DictReader(io.StringIO(plan_csv(BASE))))
    assert len(rows) == len(BASE.placements) * len(BASE.languages)
    assert rows[0] == {
        "district": "riverside-unified",
        "school": "lincoln-high",
        "school_name": "Lincoln High School",
        "placement": "stalls-2f",
        "kind": "sticker",
        "private": "yes",
        "location": "Inside each stall door, second-floor restrooms",
        "language": "en",
        "paper": "letter",
        "file": "schools/lincoln-high/stalls-2f-en.pdf",
        "landing_url": "https://report.riverside.example/s/lincoln-high/",
    }
    assert rows[1]["language"] == "es"
    assert rows[1]["landing_url"] == "https://report.riverside.example/s/lincoln-high/es/"


def test_readiness_files_per_deployment_and_district(tmp_path: Path) -> None:
    write_rollout(AS_THE_DEMO_RUNS_IT, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "districts",
        "districts/cedar-valley.html",
        "districts/riverside-unified.html",
        "plan.csv",
        "readiness.csv",
        "readiness.html",
    ]
    district = (tmp_path / "districts" / "cedar-valley.html").read_text()
    assert "cedar-valley-high" in district and "riverside-middle" not in district
    assert 'href="../schools/cedar-valley-high/plan.html"' in district
    assert "1 problem at 1 school." in district
    overview = (tmp_path / "readiness.html").read_text()
    assert (
        '<tr><td><a href="districts/riverside-unified.html">Riverside Unified School District</a>'
        "</td><td>2</td><td>1</td><td>1</td></tr>"
    ) in overview
    with (tmp_path / "readiness.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["level"], r["check"], r["school"]) for r in rows] == [
        ("note", "language-missing", ""),
        ("note", "language-draft", ""),  # Spanish: examples/demo.toml allows drafts
        ("problem", "single-recipient", "cedar-valley-high"),
        ("note", "weekend-wait", "lincoln-high"),
        ("problem", "single-recipient", "riverside-middle"),
        ("note", "weekend-wait", "riverside-middle"),
    ]


@pytest.mark.parametrize(
    ("allowed", "said"),
    [(True, "it is published because allow_draft_languages = true"), (False, "not published")],
)
def test_the_readiness_report_lists_a_draft_translation_of_the_staff_course(
    tmp_path: Path, allowed: bool, said: str
) -> None:
    deployment = dataclasses.replace(BASE, allow_draft_languages=allowed)
    languages = all_course_languages(TRAINING_SOURCE)
    write_rollout(deployment, tmp_path, languages)
    with (tmp_path / "readiness.csv").open() as f:
        [row] = [r for r in csv.DictReader(f) if r["check"] == "course-language-draft"]
    assert "The staff course in Español (es) is a draft translation" in row["message"]
    assert said in row["message"]
    assert "course-language-draft" in (tmp_path / "readiness.html").read_text()
    reviewed = dataclasses.replace(languages[0], review="reviewed", reviewer="A", reviewed="x")
    assert course_draft_findings(deployment, (reviewed,)) == []
