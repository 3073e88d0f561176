"""The training roster: records read with limits, a row per person, statuses by date, staff."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest

from keytool.errors import KeyToolError
from keytool.roster import (
    COMPLETE,
    IN_PROGRESS,
    NEW_HIRE,
    OVERDUE,
    REFRESHER_DUE,
    Completion,
    CourseInfo,
    StaffMember,
    completion,
    load_course_info,
    load_staff,
    people,
    school_names,
    standing,
)
from keytool.roster_report import (
    DETAIL_COLUMNS,
    SUMMARY_COLUMNS,
    Roster,
    detail_rows,
    summary_rows,
    to_csv,
    to_html,
)
from quietdoor import payloads, protocol
from quietdoor.course import CourseModule

from .support.envelopes import training_record

COURSE = CourseInfo(
    modules={
        "m01": CourseModule(id="m01", title="What exploitation is", version="2"),
        "m02": CourseModule(id="m02", title="School life", version="2+TX.1"),
    },
    refresher_months=12,
    new_hire_days=30,
    state="Texas",
    base="",
)
NAMES = {"lincoln-high": "Lincoln High School", "riverside-middle": "Riverside Middle School"}


def record(
    name: str,
    *modules: tuple[str, str, str],
    role: str = "Teacher",
    pre: tuple[int, str] | None = None,
    post: tuple[int, str] | None = None,
    ack: str = "",
    school: str = "lincoln-high",
) -> payloads.Training:
    def check(value: tuple[int, str] | None) -> payloads.CheckResult | None:
        return payloads.CheckResult(value[0], 11, value[1]) if value else None

    return dataclasses.replace(
        training_record(school, name, modules, role=role),
        state="TX",
        pre=check(pre),
        post=check(post),
        post_passed=check(post),
        acknowledgment=payloads.Acknowledgment(ack, "2026-11-28") if ack else None,
    )


ACK = (
    "I completed the course and I know that I report to the state line myself, then tell the lead."
)
FULL = record(
    "Ana Ruiz",
    ("m01", "2", "2026-01-10"),
    ("m02", "2+TX.1", "2026-01-12"),
    pre=(5, "2026-01-09"),
    post=(10, "2026-01-12"),
    ack=ACK,
)


def parse(*records: payloads.Training) -> list[Completion]:
    return [completion(f"env{i}", "2026-11-28", r) for i, r in enumerate(records)]


def test_a_record_is_read_into_typed_fields() -> None:
    (c,) = parse(FULL)
    assert (c.record, c.school, c.name, c.role, c.state) == (
        "env0",
        "lincoln-high",
        "Ana Ruiz",
        "Teacher",
        "TX",
    )
    assert [m.id for m in c.modules] == ["m01", "m02"]
    assert c.pre is not None and (c.pre.score, c.pre.questions) == (5, 11)
    assert c.acknowledgment is not None and c.acknowledgment.text == ACK


def test_a_2_1_record_keeps_staff_id_answers_and_first_pass() -> None:
    answers = (payloads.Answer("own-report-1", 2), payloads.Answer("tampered-code-2", 0))
    first = payloads.CheckResult(1, 2, "2026-01-12", ("own-report",), answers)
    sent = dataclasses.replace(
        FULL,
        person=dataclasses.replace(FULL.person, staff_id="E-1042"),
        post=first,
        post_passed=dataclasses.replace(first, score=2, taken_on="2026-01-13"),
    )
    opened = payloads.parse_payload(payloads.encode(payloads.to_json(sent)))
    assert opened == sent
    (c,) = parse(sent)
    assert c.staff_id == "E-1042" and c.post is not None and c.post_passed is not None
    assert c.post.answers == (("own-report-1", 2), ("tampered-code-2", 0))
    (p,) = people([c])
    assert (p.post, p.post_passed) == (c.post, c.post_passed)
    failed = dataclasses.replace(sent, post_passed=None)
    (p,) = people(parse(failed))
    s = standing(p, COURSE, day("2026-06-01"))
    assert s.status == IN_PROGRESS and "final check not passed (pass mark 80%)" in s.note


def test_record_text_is_tidied_for_the_printed_roster() -> None:
    """Malformed records never get here (quietdoor.payloads refuses them); text is still tidied."""
    (c,) = parse(record("\x1b[2J\u202eEve\x07 " + "x" * 150, ("m01", "2", "2026-01-10")))
    assert "Eve" in c.name
    assert "\x1b" not in c.name and "\u202e" not in c.name and "\x07" not in c.name
    assert len(c.name) <= 120


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "pre",
            {"score": 12, "questions": 11, "taken_on": "2026-01-01", "skills_right": []},
            "more than the questions",
        ),
        (
            "post_passed",
            {
                "score": 1,
                "questions": 1,
                "taken_on": "2026-01-01",
                "skills_right": [],
                "answers": [{"item": "x-1", "chosen": 4}],
            },
            "from 0 to 3",
        ),
        (
            "post",
            {
                "score": 1,
                "questions": 2,
                "taken_on": "2026-01-01",
                "skills_right": [],
                "answers": [{"item": "x-1", "chosen": 0}],
            },
            "one answer per question",
        ),
        ("person", {"name": "A", "role": "", "school": "lincoln-high", "staff_id": ""}, "empty"),
        ("acknowledgment", {"text": 42, "on": "2026-11-28"}, "must be text"),
        ("acknowledgment", {"text": "", "on": "2026-11-28"}, "must not be empty"),
        ("state", "Texas", "postal code"),
        ("language", "Spanish", "a language code such as en or es"),
        ("language", "es-", "a language code such as en or es"),
        ("modules", [{"id": "m01", "version": 5}], "must be text"),
        (
            "modules",
            [
                {
                    "id": "m01",
                    "version": "2",
                    "score": True,
                    "questions": 4,
                    "completed_on": "2026-01-10",
                }
            ],
            "whole number",
        ),
    ],
)
def test_malformed_records_are_refused_when_opened(field: str, value: Any, problem: str) -> None:
    obj = payloads.to_json(FULL)
    obj[field] = value
    with pytest.raises(protocol.ProtocolError, match=problem):
        payloads.parse_payload(payloads.encode(obj))


def test_the_language_a_record_was_sent_from_is_read_and_kept() -> None:
    spanish = dataclasses.replace(FULL, language="es")
    opened = payloads.parse_payload(payloads.encode(payloads.to_json(spanish)))
    assert isinstance(opened, payloads.Training) and opened.language == "es"
    assert "language" not in payloads.to_json(FULL)  # a record from before 2.2 has none
    earlier, later = parse(FULL, spanish)
    assert (earlier.language, later.language) == ("", "es")
    (person,) = people([earlier, later])
    assert person.course_language == "es"


def test_one_person_from_several_records() -> None:
    earlier = record("ana ruiz", ("m01", "1", "2025-12-01"), pre=(4, "2025-12-01"))
    ana = people(parse(earlier, FULL))
    assert len(ana) == 1
    p = ana[0]
    assert p.modules["m01"].version == "2"  # the latest completion of a module counts
    assert p.pre is not None and p.pre.taken_on == "2025-12-01"  # the first check is the baseline
    assert p.records == ["env0", "env1"]


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("today", "refresher", "status", "due", "note"),
    [
        ("2026-06-01", 12, COMPLETE, "2027-01-10", ""),
        ("2026-12-20", 12, REFRESHER_DUE, "2027-01-10", "refresher due soon"),
        ("2027-02-01", 12, OVERDUE, "2027-01-10", "refresher overdue"),
        ("2027-02-01", 60, COMPLETE, "2031-01-10", ""),  # Ohio: every five years
    ],
)
def test_a_complete_person_is_due_again_after_the_refresher_interval(
    today: str, refresher: int, status: str, due: str, note: str
) -> None:
    course = CourseInfo(COURSE.modules, refresher, 30, "Texas", "")
    (p,) = people(parse(FULL))
    s = standing(p, course, day(today))
    assert (s.status, s.due_on, s.note, s.trained_on) == (status, due, note, "2026-01-10")


def test_a_changed_module_asks_for_a_refresher_of_that_module() -> None:
    changed = CourseInfo(
        {**COURSE.modules, "m02": CourseModule(id="m02", title="School life", version="2+TX.2")},
        12,
        30,
        "Texas",
        "",
    )
    (p,) = people(parse(FULL))
    s = standing(p, changed, day("2026-06-01"))
    assert (s.status, s.note) == (REFRESHER_DUE, "changed since read: m02")


def test_unfinished_training_says_what_is_missing() -> None:
    no_ack = dataclasses.replace(FULL, acknowledgment=None)
    (p,) = people(parse(record("Ben Okafor", ("m01", "2", "2026-01-10")), no_ack)[:1])
    s = standing(p, COURSE, day("2026-06-01"))
    assert s.status == IN_PROGRESS
    assert s.note == "modules to do: m02; final check not taken; no acknowledgment"


STAFF = [
    StaffMember("Ana Ruiz", "Teacher", "lincoln-high", "2025-08-15"),
    StaffMember("Cara Diaz", "Counselor", "lincoln-high", "2026-05-20"),
    StaffMember("Dev Patel", "Bus driver", "lincoln-high", "2025-08-15"),
]


def test_with_a_staff_list_new_hires_and_the_overdue_show() -> None:
    stray = record("Eli Moss", ("m01", "2", "2026-01-10"))
    roster = people(parse(FULL, stray), STAFF)
    result = {p.name: standing(p, COURSE, day("2026-06-01"), staff_list=True) for p in roster}
    assert result["Ana Ruiz"].status == COMPLETE
    assert (result["Cara Diaz"].status, result["Cara Diaz"].due_on) == (NEW_HIRE, "2026-06-19")
    assert (result["Dev Patel"].status, result["Dev Patel"].due_on) == (OVERDUE, "2025-09-14")
    assert result["Eli Moss"].status == IN_PROGRESS
    assert result["Eli Moss"].note.endswith("not on the staff list")
    roles = {p.name: p.role for p in roster}
    assert roles["Dev Patel"] == "Bus driver"


@pytest.mark.parametrize(("listed_id", "people_found"), [("", 3), ("E-9", 4)])
def test_a_record_with_a_staff_id_meets_its_name_on_a_list_without_ids(
    listed_id: str, people_found: int
) -> None:
    """The course asks for a staff id; a staff list may have none. The person is then one
    row, not an overdue listed name beside a record "not on the staff list". A listed id
    that differs is another person."""
    with_id = dataclasses.replace(FULL, person=dataclasses.replace(FULL.person, staff_id="E-12"))
    staff = [dataclasses.replace(STAFF[0], staff_id=listed_id), *STAFF[1:]]
    roster = people(parse(with_id), staff)
    assert len(roster) == people_found
    ana = [p for p in roster if p.name == "Ana Ruiz"]
    assert ana[0].on_staff_list and (ana[0].records != []) is (listed_id == "")


def roster_of(*payloads: dict[str, Any], staff: list[StaffMember] | None = None) -> Roster:
    return Roster(
        course=COURSE,
        people=people(parse(*payloads), staff or []),
        names=NAMES,
        today=day("2026-06-01"),
        staff_list=staff is not None,
    )


def test_one_summary_row_per_person_with_school_names_and_scores() -> None:
    roster = roster_of(FULL, record("Ben Okafor", ("m01", "2", "2026-02-01")))
    table = list(csv.DictReader(io.StringIO(to_csv(SUMMARY_COLUMNS, summary_rows(roster)))))
    assert [r["name"] for r in table] == ["Ana Ruiz", "Ben Okafor"]
    ana, ben = table
    assert ana["school"] == "Lincoln High School" and ana["school_slug"] == "lincoln-high"
    assert (ana["status"], ana["pre_score"], ana["post_score"], ana["due_on"]) == (
        COMPLETE,
        "5",
        "10",
        "2027-01-10",
    )
    assert ana["acknowledgment"] == ACK and ana["records"] == "env0"
    assert (ben["pre_score"], ben["post_score"], ben["modules_current"]) == ("", "", "1")


def test_modules_not_taken_are_blank_not_zero() -> None:
    roster = roster_of(record("Ben Okafor", ("m01", "2", "2026-02-01")))
    rows = list(csv.DictReader(io.StringIO(to_csv(DETAIL_COLUMNS, detail_rows(roster)))))
    assert [(r["module"], r["score"], r["completed_on"], r["module_status"]) for r in rows] == [
        ("m01", "3", "2026-02-01", "current"),
        ("m02", "", "", "not taken"),
    ]


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+1", "-1+1", "@SUM(A1)"])
def test_csv_cannot_smuggle_a_spreadsheet_formula(name: str) -> None:
    roster = roster_of(record(name, ("m01", "2", "2026-02-01")))
    row = list(csv.reader(io.StringIO(to_csv(SUMMARY_COLUMNS, summary_rows(roster)), newline="")))[
        1
    ]
    assert row[2] == "'" + name


def test_printable_page_escapes_names_and_flags_in_words() -> None:
    evil = record("<b>Eve</b>", ("m01", "1", "2026-02-01"), ack="<script>alert(1)</script> " * 3)
    page = to_html(roster_of(FULL, evil, staff=STAFF[:2]), "Staff training roster")
    assert "<b>Eve</b>" not in page and "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "<script>" not in page
    assert "Lincoln High School" in page and "older version" in page
    assert NEW_HIRE in page and "not on the staff list" in page
    assert "5 of 11" in page and "10 of 11" in page and "@media print" in page


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.mark.parametrize("field", ["name", "role", "school"])
def test_printable_page_escapes_hostile_text_from_the_staff_list(field: str) -> None:
    member = StaffMember("Cara Diaz", "Counselor", "lincoln-high", "2026-05-20")
    if field == "school":
        names = {**NAMES, "lincoln-high": HOSTILE}
    else:
        member = dataclasses.replace(member, **{field: HOSTILE})
        names = NAMES
    roster = dataclasses.replace(roster_of(FULL, staff=[member]), names=names)
    page = to_html(roster, "Staff training roster")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x" in page


def write_staff(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "staff.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_staff_list_names_schools_by_slug_or_name(tmp_path: Path) -> None:
    path = write_staff(
        tmp_path,
        "Name,Role,School,Start_Date\n"
        "Ana Ruiz,Teacher,lincoln-high,2025-08-15\n"
        "Cara Diaz,Counselor,riverside middle school,2026-05-20\n"
        ",,,\n",
    )
    staff = load_staff(path, NAMES)
    assert [(m.name, m.school) for m in staff] == [
        ("Ana Ruiz", "lincoln-high"),
        ("Cara Diaz", "riverside-middle"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,role,school\nA,B,lincoln-high\n", "missing: start_date"),
        ("name,role,school,start_date\nA,B,lincoln-high,15/08/2025\n", "line 2: start_date"),
        ("name,role,school,start_date\nA,B,nowhere-high,2025-08-15\n", "'nowhere-high' is not one"),
        ("name,role,school,start_date\n,B,lincoln-high,2025-08-15\n", "line 2: name is empty"),
    ],
)
def test_a_bad_staff_list_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KeyToolError, match=message):
        load_staff(write_staff(tmp_path, text), NAMES)


def test_two_schools_with_one_name_need_the_slug(tmp_path: Path) -> None:
    twins = {"a-high": "Central High", "b-high": "Central High"}
    path = write_staff(tmp_path, "name,role,school,start_date\nA,B,Central High,2025-08-15\n")
    with pytest.raises(KeyToolError, match="names two schools; use its slug"):
        load_staff(path, twins)


def test_course_info_and_school_names_from_a_built_site(tmp_path: Path) -> None:
    training = tmp_path / "training"
    (training / "schools").mkdir(parents=True)
    (training / "districts").mkdir()
    (training / "course.json").write_text(
        json.dumps(
            {
                "modules": [{"id": "m01", "title": "T", "version": "2", "path": "modules/01/"}],
                "refresher_months": 60,
                "new_hire_days": 14,
                "state": {"code": "OH", "name": "Ohio", "version": 1},
            }
        )
    )
    (training / "schools" / "lincoln-high.json").write_text(
        json.dumps({"slug": "lincoln-high", "name": "Lincoln High"})
    )
    (training / "districts" / "cedar.json").write_text(
        json.dumps(
            {
                "slug": "cedar",
                "name": "Cedar",
                "schools": [{"slug": "cedar-high", "name": "Cedar High"}],
            }
        )
    )
    course = load_course_info(str(tmp_path))
    assert course.modules == {
        "m01": CourseModule(id="m01", title="T", version="2", path="modules/01/")
    }
    assert (course.refresher_months, course.new_hire_days, course.state) == (60, 14, "Ohio")
    (training / "schools" / "odd-high.json").write_text(
        json.dumps({"slug": "odd-high", "name": "Odd High", "secret": 1})
    )
    names = school_names(course, ["lincoln-high", "gone-high", "odd-high"], ["cedar"])
    assert names == {
        "cedar-high": "Cedar High",
        "lincoln-high": "Lincoln High",
        "gone-high": "gone-high",
        "odd-high": "odd-high",  # a file outside the format names no school
    }
    with pytest.raises(KeyToolError, match="cannot read"):
        load_course_info(str(tmp_path / "nowhere"))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(KeyToolError, match="is not a Quiet Door"):
        load_course_info(str(tmp_path / "bad.json"))
