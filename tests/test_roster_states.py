"""The roster follows each state: California's six weeks, Ohio's four hours, Texas' new-hire
orientation, Florida's acknowledgment; and hours from other trainings."""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from keytool.errors import KeyToolError
from keytool.roster import CourseInfo, StaffMember, completion, people, published_wordings
from keytool.roster_report import SUMMARY_COLUMNS, Roster, summary_rows, to_html
from keytool.roster_states import attach_other_training, load_other_training
from quietdoor import payloads
from quietdoor.course import CourseModule

from .support.envelopes import training_record

MODULES = {
    f"m0{n}": CourseModule(id=f"m0{n}", title=f"Module {n}", version="1", minutes=60)
    for n in (1, 2, 3)
}
NAMES = {"lincoln-high": "Lincoln High School"}


PUBLISHED = {"en": "I completed this training myself on {date}."}


def course(state: str, school_year_starts: str = "") -> CourseInfo:
    return CourseInfo(
        MODULES,
        60 if state == "OH" else 12,
        30,
        state,
        "",
        80,
        state,
        school_year_starts,
        wording=f"{state}.2",
        attestation=PUBLISHED,
    )


def finished(
    day: str, minutes: int = 30, attest: bool = True, state: str = "FL"
) -> payloads.Training:
    """A complete record: three modules of 60 nominal minutes, `minutes` measured on each."""
    base = training_record(
        "lincoln-high", "Ana Ruiz", [(m, "1", day) for m in MODULES], role="Teacher"
    )
    passed = payloads.CheckResult(10, 11, day)
    ack = payloads.Acknowledgment("I completed it and I report to the state line myself.", day)
    return dataclasses.replace(
        base,
        person=dataclasses.replace(base.person, staff_id="E-7"),
        modules=tuple(dataclasses.replace(m, seconds=minutes * 60) for m in base.modules),
        post=passed,
        post_passed=passed,
        acknowledgment=ack,
        attestation=payloads.Attestation(
            f"I completed this training myself on {day}.", day, f"{state}.2"
        )
        if attest
        else None,
    )


def row(info: CourseInfo, record: payloads.Training, today: str, **kw: object) -> dict[str, str]:
    found = people([completion("env0", today, record, published_wordings(info, []))], **kw)  # type: ignore[arg-type]
    roster = Roster(info, found, NAMES, datetime.date.fromisoformat(today))
    (values,) = summary_rows(roster)
    return dict(zip(SUMMARY_COLUMNS, values, strict=True))


@pytest.mark.parametrize(
    ("trained", "today", "status", "due", "note"),
    [
        ("2026-09-01", "2026-10-01", "complete", "2027-09-26", ""),
        ("2026-05-01", "2026-09-01", "refresher due", "2026-09-26", "six weeks of Sat 15 Aug 2026"),
        ("2026-05-01", "2026-10-01", "overdue", "2026-09-26", "not yet trained this school year"),
    ],
)
def test_california_trains_within_six_weeks_of_each_school_year(
    trained: str, today: str, status: str, due: str, note: str
) -> None:
    r = row(course("CA", "08-15"), finished(trained), today)
    assert (r["status"], r["due_on"]) == (status, due) and note in r["state_rule"]


def test_ohio_counts_hours_and_says_what_remains(tmp_path: Path) -> None:
    r = row(course("OH"), finished("2026-09-01", minutes=30), "2026-10-01")
    assert r["status"] == "partial" and r["hours_credited"] == "1.50"
    assert "partial: 1.5 of 4 hours; 2.5 hours remain" in r["state_rule"]
    # Measured time above a module's nominal time is not credited.
    r = row(course("OH"), finished("2026-09-01", minutes=500), "2026-10-01")
    assert r["hours_course"] == "3.00" and r["status"] == "partial"
    other = tmp_path / "other.csv"
    other.write_text(
        "staff_id,school,hours,on,provider\nE-7,lincoln-high,2.5,2026-09-20,County Sheriff\n"
    )
    found = people([completion("env0", "2026-10-01", finished("2026-09-01"))])
    assert attach_other_training(found, load_other_training(other, NAMES)) == []
    roster = Roster(course("OH"), found, NAMES, datetime.date(2026, 10, 1))
    r = dict(zip(SUMMARY_COLUMNS, summary_rows(roster)[0], strict=True))
    assert (r["status"], r["hours_other"], r["hours_credited"]) == ("complete", "2.50", "4.00")
    assert r["state_rule"] == "4 of 4 hours: met"


def test_texas_new_hires_train_at_orientation() -> None:
    staff = [StaffMember("Ben Okafor", "Aide", "lincoln-high", "2026-09-20", "E-9")]
    roster = Roster(
        course("TX"), people([], staff), NAMES, datetime.date(2026, 10, 1), staff_list=True
    )
    r = dict(zip(SUMMARY_COLUMNS, summary_rows(roster)[0], strict=True))
    assert r["status"] == "new hire, not yet trained" and r["staff_id"] == "E-9"
    assert "new-employee orientation" in r["state_rule"]


@pytest.mark.parametrize(("attest", "status"), [(True, "complete"), (False, "partial")])
def test_florida_needs_the_dated_acknowledgment(attest: bool, status: str) -> None:
    r = row(course("FL"), finished("2026-09-01", attest=attest), "2026-10-01")
    assert r["status"] == status
    assert r["attested_on"] == ("2026-09-01" if attest else "")
    assert r["attestation_wording"] == ("FL.2" if attest else "")
    signed = "acknowledged on Tue 1 Sep 2026 (FL.2 wording)"
    assert r["state_rule"] == (signed if attest else "no dated acknowledgment on file")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("school,hours,on\nlincoln-high,2,2026-09-01\n", "provider"),
        ("name,school,hours,on,provider\nAna,lincoln-high,lots,2026-09-01,x\n", "line 2: hours"),
        ("name,school,hours,on,provider\nAna,nowhere,2,2026-09-01,x\n", "not one of your"),
        ("name,school,hours,on,provider\nAna,lincoln-high,2,1 Sept,x\n", "line 2: on"),
    ],
)
def test_a_bad_other_training_list_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "other.csv"
    path.write_text(text)
    with pytest.raises(KeyToolError, match=message):
        load_other_training(path, NAMES)


@pytest.mark.parametrize(
    ("state", "rule"),
    [
        ("CA", "trained this school year (from Sat 15 Aug 2026)"),
        ("OH", "partial: 1.5 of 4 hours; 2.5 hours remain"),
        ("TX", ""),
        ("FL", "acknowledged on Tue 1 Sep 2026 (FL.2 wording)"),
    ],
)
def test_the_printable_roster_has_every_column_an_auditor_needs(state: str, rule: str) -> None:
    info = dataclasses.replace(
        course(state, "08-15" if state == "CA" else ""), provider="Riverside USD", version="c0ffee"
    )
    record = dataclasses.replace(finished("2026-09-01", state=state), course_version="c0ffee")
    found = people([completion("env0", "2026-10-01", record, published_wordings(info, []))])
    page = to_html(Roster(info, found, NAMES, datetime.date(2026, 10, 1)), "Roster")
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', page)
    for heading in ("Staff ID", "State rule", "Final: first", "Final: passed", "Hours"):
        assert heading in headings
    assert {"Attested", "Course version"} <= set(headings)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert "E-7" in cells and "10 of 11" in cells and "c0ffee" in cells
    assert "1.50" in cells and f"Tue 1 Sep 2026 ({state}.2)" in cells  # the clock's day format
    assert "Provider: Riverside USD. Course version: c0ffee." in page
    assert any(rule in c for c in cells)


@pytest.mark.browser
def test_the_printable_roster_fits_a_landscape_a4_page(browser: Browser, tmp_path: Path) -> None:
    """Printed by Chromium on A4 (the narrower of A4 and Letter once landscape), no table is
    wider than the page, even with a long name and every column filled."""
    info = dataclasses.replace(course("OH"), provider="Riverside Unified", version="3f9a1c2b7d4e")
    record = finished("2026-09-01")
    record = dataclasses.replace(
        record,
        person=dataclasses.replace(record.person, name="Maria-Fernanda Castellanos Oyelaran"),
        course_version="3f9a1c2b7d4e",
    )
    found = people([completion("0123456789abcdef0123", "2026-10-01", record)])
    page_file = tmp_path / "roster.html"
    page_file.write_text(to_html(Roster(info, found, NAMES, datetime.date(2026, 10, 1)), "R"))
    page = browser.new_page(viewport={"width": 1031, "height": 730})  # 273 mm at 96 dpi
    page.emulate_media(media="print")
    page.goto(page_file.as_uri())
    widths = page.locator("table").evaluate_all("ts => ts.map(t => t.scrollWidth)")
    page.close()
    assert len(widths) >= 3 and max(widths) <= 1031, widths
