"""What a state asks of the roster beyond the course: when training is due, and how long.

Each rests on a claim in the state's file (content/training/states/*.toml), which cites
its sources; docs/TRAINING.md lists the rules as a table and says which rest on a claim
not yet verified in a primary source:

- CA: every school year, within six weeks of its start (`[training] school_year_starts`);
- OH: at least four hours (the course's credited hours plus `--other-training`, such as
  the part taught by law enforcement); short of them the person is "partial";
- TX: new employees at new-employee orientation;
- FL: each employee's acknowledgment (here: the dated attestation, in the wording the
  course publishes or an older one of ours) is on file.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from keytool.errors import KeyToolError
from keytool.roster import (
    COMPLETE,
    NEW_HIRE,
    OVERDUE,
    REFRESHER_DUE,
    CourseInfo,
    OtherTraining,
    Person,
    Standing,
    _clean,
    _date,
    _person_key,
    read_csv,
)
from quietdoor.clock import Clock

PARTIAL = "partial"
CA_WEEKS = 6
OH_HOURS = 4.0
OTHER_COLUMNS = ("school", "hours", "on", "provider")  # and staff_id or name


def state_standing(
    person: Person, course: CourseInfo, today: datetime.date, base: Standing
) -> Standing:
    """The course's standing, adjusted by the state's own rule, which `rule` puts in words."""
    state = course.state_code
    done = base.status in (COMPLETE, REFRESHER_DUE)
    if state == "OH":
        hours = person.credited_hours(course)
        if hours >= OH_HOURS:
            return replace(base, rule=f"{_hours(hours)} of {_hours(OH_HOURS)} hours: met")
        rule = (
            f"partial: {_hours(hours)} of {_hours(OH_HOURS)} hours; "
            f"{_hours(OH_HOURS - hours)} hours remain (other trainings: --other-training)"
        )
        return replace(base, status=PARTIAL if done else base.status, rule=rule)
    if state == "CA" and course.school_year_starts:
        return _california(person, course, today, base, done)
    if state == "TX" and base.status == NEW_HIRE:
        return replace(base, rule="new hire: due at new-employee orientation")
    if state == "FL":
        return _florida(person, base, done)
    return base


def _florida(person: Person, base: Standing, done: bool) -> Standing:
    """The dated acknowledgment on file, in a wording the roster could check or an older one.

    A text that differs from the wording it names is not the acknowledgment the course
    asked for (a forged or altered record): it does not count, and the rule says why.
    """
    attestation = person.attestation
    if attestation is None:
        rule = "no dated acknowledgment on file"
        return replace(base, status=PARTIAL if done else base.status, rule=rule)
    if not attestation.check.counts:
        rule = f"acknowledgment not counted: {attestation.check.note}"
        return replace(base, status=PARTIAL if done else base.status, rule=rule)
    wording = f" ({attestation.wording} wording)" if attestation.wording else ""
    rule = f"acknowledged on {_day(attestation.on)}{wording}"
    return replace(base, rule="; ".join(x for x in (rule, attestation.check.note) if x))


def _california(
    person: Person, course: CourseInfo, today: datetime.date, base: Standing, done: bool
) -> Standing:
    """Trained within this school year, or due within its first six weeks."""
    month, day = (int(x) for x in course.school_year_starts.split("-"))
    start = _month_day(today.year, month, day)
    if start > today:
        start = _month_day(today.year - 1, month, day)
    window = start + datetime.timedelta(weeks=CA_WEEKS)
    passed = person.post_passed.taken_on if person.post_passed else ""
    if done and passed >= start.isoformat():
        following = _month_day(start.year + 1, month, day) + datetime.timedelta(weeks=CA_WEEKS)
        rule = f"trained this school year (from {_day(start)}); next by {_day(following)}"
        return replace(base, due_on=following.isoformat(), rule=rule)
    rule = f"not yet trained this school year (due within six weeks of {_day(start)})"
    if not done:
        return replace(base, rule=f"{rule}, by {_day(window)}")
    status = OVERDUE if today > window else REFRESHER_DUE
    return replace(base, status=status, rule=rule, due_on=window.isoformat())


def _month_day(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, min(day, 28) if month == 2 else day)


def _day(day: datetime.date | str) -> str:
    """A day as people read it, by the one clock helper."""
    return Clock.full_day(
        day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day)
    )


def _hours(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def load_other_training(path: Path, names: Mapping[str, str]) -> list[OtherTraining]:
    """A CSV of trainings outside the course: school, hours, on, provider, and staff_id or name."""
    reader, header = read_csv(path, "the list of other trainings")
    missing = [c for c in OTHER_COLUMNS if c not in header]
    if missing or not {"staff_id", "name"} & set(header):
        raise KeyToolError(
            f"{path}: the first line must name the columns {', '.join(OTHER_COLUMNS)} and "
            f"staff_id or name (missing: {', '.join(missing) or 'staff_id or name'})"
        )
    reader.fieldnames = header
    found = []
    for line, row in enumerate(reader, start=2):
        v = {c: _clean(row.get(c), 120) for c in (*OTHER_COLUMNS, "staff_id", "name")}
        if not any(v.values()):
            continue
        where = f"{path}: line {line}"
        if v["school"] not in names:
            raise KeyToolError(f"{where}: school {v['school']!r} is not one of your schools")
        if not (v["staff_id"] or v["name"]):
            raise KeyToolError(f"{where}: give the person's staff_id or name")
        try:
            hours = float(v["hours"])
        except ValueError:
            hours = -1.0
        if not 0 < hours <= 100:
            raise KeyToolError(f"{where}: hours {v['hours']!r} is not a number from 0 to 100")
        if not _date(v["on"]):
            raise KeyToolError(f"{where}: on {v['on']!r} is not a date such as 2026-08-15")
        found.append(
            OtherTraining(v["school"], v["name"], v["staff_id"], hours, v["on"], v["provider"])
        )
    return found


def attach_other_training(people: list[Person], other: list[OtherTraining]) -> list[str]:
    """Add each training to its person (by school and staff id, or name); the lines that
    matched nobody, in words."""
    by_key = {(p.school, _person_key(p.staff_id, p.name)): p for p in people}
    by_name = {(p.school, _person_key("", p.name)): p for p in people}
    unmatched = []
    for o in other:
        key = (o.school, _person_key(o.staff_id, o.name))
        person = by_key.get(key) or (
            by_name.get((o.school, _person_key("", o.name))) if o.name else None
        )
        if person is None:
            unmatched.append(f"{o.staff_id or o.name} at {o.school}: no such person on the roster")
        else:
            person.other.append(o)
    return unmatched
