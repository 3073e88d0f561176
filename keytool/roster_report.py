"""The roster as an auditor reads it: a CSV row per person, a CSV row per module taken or not,
and a printable page per school.

Modules a person has not taken are blank, never zero; statuses are words, never colours.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keytool.page_templates import PAGES
from keytool.roster import (
    COMPLETE,
    IN_PROGRESS,
    NEW_HIRE,
    OVERDUE,
    REFRESHER_DUE,
    CourseInfo,
    Person,
    Standing,
    TestResult,
    standing,
)
from keytool.roster_states import PARTIAL, state_standing
from quietdoor.clock import Clock
from quietdoor.csvcells import cells

SUMMARY_COLUMNS = [
    "school",
    "school_slug",
    "name",
    "staff_id",
    "role",
    "start_date",
    "status",
    "note",
    "state_rule",
    "trained_on",
    "due_on",
    "modules_current",
    "modules_total",
    "pre_score",
    "pre_questions",
    "pre_taken_on",
    "post_score",
    "post_questions",
    "post_taken_on",
    "post_passed_score",
    "post_passed_questions",
    "post_passed_taken_on",
    "answer_key",
    "hours_course",
    "hours_other",
    "hours_credited",
    "course_version",
    "provider",
    "course_language",
    "attested_on",
    "attestation_wording",
    "attestation_check",
    "attestation",
    "acknowledged_on",
    "acknowledgment",
    "records",
]
DETAIL_COLUMNS = [
    "school",
    "school_slug",
    "name",
    "role",
    "module",
    "module_title",
    "version",
    "current_version",
    "score",
    "questions",
    "completed_on",
    "module_status",
]
STATUS_ORDER = (OVERDUE, NEW_HIRE, REFRESHER_DUE, PARTIAL, IN_PROGRESS, COMPLETE)


@dataclass(frozen=True)
class Roster:
    course: CourseInfo
    people: list[Person]
    names: Mapping[str, str]  # school slug -> name
    today: datetime.date
    staff_list: bool = False
    state: str = ""  # the deployment's state, by name ("" when it names none)
    as_of: str = ""  # `today` as a person reads it, with its time zone

    @property
    def state_rules(self) -> str:
        """Whose rules the course shows, by the state's name."""
        if self.course.state:
            return self.course.state
        if self.state:
            return f"{self.state} (but this course shows the general rules: rebuild it)"
        return "none: the deployment names no state, so the course shows the general rules"

    def standing(self, person: Person) -> Standing:
        base = standing(person, self.course, self.today, staff_list=self.staff_list)
        return state_standing(person, self.course, self.today, base)

    def school(self, slug: str) -> str:
        return self.names.get(slug, slug)

    def counts(self) -> dict[str, int]:
        found = {s: 0 for s in STATUS_ORDER}
        for p in self.people:
            found[self.standing(p).status] += 1
        return found


def summary_rows(roster: Roster) -> list[list[str]]:
    rows = []
    modules = list(roster.course.modules.values())
    for p in roster.people:
        s = roster.standing(p)
        current = sum(
            1 for m in modules if m.id in p.modules and p.modules[m.id].version == m.version
        )
        ack = p.acknowledgment
        cells = {
            "school": roster.school(p.school),
            "school_slug": p.school,
            "name": p.name,
            "staff_id": p.staff_id,
            "role": p.role,
            "start_date": p.start_date,
            "status": s.status,
            "note": s.note,
            "state_rule": s.rule,
            "trained_on": s.trained_on,
            "due_on": s.due_on,
            "modules_current": str(current),
            "modules_total": str(len(modules)),
            **_test_cells("pre", p.pre),
            **_test_cells("post", p.post),
            **_test_cells("post_passed", p.post_passed),
            "answer_key": " | ".join(p.flags),
            "hours_course": f"{p.measured_hours(roster.course):.2f}",
            "hours_other": f"{sum(o.hours for o in p.other):.2f}",
            "hours_credited": f"{p.credited_hours(roster.course):.2f}",
            "course_version": p.course_version,
            "provider": roster.course.provider,
            "course_language": p.course_language,
            "attested_on": p.attestation.on if p.attestation else "",
            "attestation_wording": p.attestation.wording if p.attestation else "",
            "attestation_check": p.attestation.check.note if p.attestation else "",
            "attestation": p.attestation.text if p.attestation else "",
            "acknowledged_on": ack.on if ack else "",
            "acknowledgment": ack.text if ack else "",
            "records": " ".join(p.records),
        }
        rows.append([cells[c] for c in SUMMARY_COLUMNS])
    return rows


def detail_rows(roster: Roster) -> list[list[str]]:
    """A row per person and module of the course (blank when not taken), then retired ones."""
    rows = []
    for p in roster.people:
        ids = list(roster.course.modules) + sorted(set(p.modules) - set(roster.course.modules))
        for module_id in ids:
            current = roster.course.modules.get(module_id)
            taken = p.modules.get(module_id)
            if taken is None:
                status = "not taken"
            elif current is None:
                status = "module retired"
            else:
                status = "current" if taken.version == current.version else "older version"
            rows.append(
                [
                    roster.school(p.school),
                    p.school,
                    p.name,
                    p.role,
                    module_id,
                    current.title if current else "",
                    taken.version if taken else "",
                    current.version if current else "",
                    _num(taken.score if taken else None),
                    _num(taken.questions if taken else None),
                    taken.completed_on if taken else "",
                    status,
                ]
            )
    return rows


def to_csv(columns: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(cells(row))
    return buffer.getvalue()


def to_html(roster: Roster, title: str) -> str:
    """A printable page: per school, the people, the modules they took, and their words."""
    by_school: dict[str, list[Person]] = {}
    for p in roster.people:
        by_school.setdefault(p.school, []).append(p)
    modules = list(roster.course.modules.values())
    schools = [
        _school_view(roster, slug, school_people)
        for slug, school_people in sorted(by_school.items(), key=lambda kv: roster.school(kv[0]))
    ]
    return PAGES.get_template("roster.html.j2").render(
        title=title,
        as_of=roster.as_of or roster.today.isoformat(),
        state=roster.state_rules,
        provider=roster.course.provider or "not named in the course",
        course_version=roster.course.version or "not named in the course",
        refresher_months=roster.course.refresher_months,
        new_hire_days=roster.course.new_hire_days,
        modules=modules,
        schools=schools,
    )


def _school_view(roster: Roster, slug: str, people: list[Person]) -> dict[str, Any]:
    """What the template shows of one school, every cell already a plain string."""
    counts = {s: 0 for s in STATUS_ORDER}
    rows = []
    for p in people:
        s = roster.standing(p)
        counts[s.status] += 1
        rows.append(
            {
                "name": p.name,
                "staff_id": p.staff_id,
                "role": p.role,
                "status": s.status,
                "flag": s.status != COMPLETE,
                "note": s.note,
                "rule": s.rule,
                "trained_on": _day(s.trained_on),
                "due_on": _day(s.due_on),
                "pre": _score(p.pre),
                "post": _score(p.post),
                "post_passed": _score(p.post_passed),
                "hours": _hours_cell(roster, p),
                "attested": _attested(p),
                "course_version": p.course_version,
                "records": " ".join(p.records),
                "modules": [
                    _module_cell(p, m.id, m.version) for m in roster.course.modules.values()
                ],
            }
        )
    return {
        "name": roster.school(slug),
        "people": rows,
        "summary": ", ".join(f"{n} {s}" for s, n in counts.items() if n),
        "acknowledgments": [
            (p.name, _day(p.acknowledgment.on), p.acknowledgment.text)
            for p in people
            if p.acknowledgment
        ],
        "attestations": [
            (
                p.name,
                _day(p.attestation.on),
                p.attestation.wording,
                p.attestation.check.note or "matches the published wording",
                p.attestation.text,
            )
            for p in people
            if p.attestation
        ],
    }


def _day(iso: str) -> str:
    """A record's day as people read it (quietdoor.clock's format); the day itself is the
    one the record gives, written in the school's zone."""
    return Clock.full_day(datetime.date.fromisoformat(iso)) if iso else ""


def _hours_cell(roster: Roster, p: Person) -> str:
    other = sum(o.hours for o in p.other)
    text = f"{p.credited_hours(roster.course):.2f}"
    if other:
        text += f" ({p.measured_hours(roster.course):.2f} here, {other:.2f} other)"
    return text


def _attested(p: Person) -> str:
    if p.attestation is None:
        return ""
    wording = f" ({p.attestation.wording})" if p.attestation.wording else ""
    check = f": {p.attestation.check.note}" if p.attestation.check.note else ""
    return _day(p.attestation.on) + wording + check


def _module_cell(person: Person, module_id: str, version: str) -> str:
    taken = person.modules.get(module_id)
    if taken is None:
        return ""
    text = f"{_num(taken.score)}/{_num(taken.questions)} {_day(taken.completed_on)}"
    return text if taken.version == version else f"{text} (older version)"


def _test_cells(prefix: str, t: TestResult | None) -> dict[str, str]:
    return {
        f"{prefix}_score": str(t.score) if t else "",
        f"{prefix}_questions": str(t.questions) if t else "",
        f"{prefix}_taken_on": t.taken_on if t else "",
    }


def _score(t: TestResult | None) -> str:
    return f"{t.score} of {t.questions}" if t else ""


def _num(value: int | None) -> str:
    return "" if value is None else str(value)
