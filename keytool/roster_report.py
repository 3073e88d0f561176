"""The roster as an auditor reads it: a CSV row per person, a CSV row per module taken or not,
and a printable page per school.

Modules a person has not taken are blank, never zero; statuses are words, never colours.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass

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

SUMMARY_COLUMNS = [
    "school",
    "school_slug",
    "name",
    "role",
    "start_date",
    "status",
    "note",
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
STATUS_ORDER = (OVERDUE, NEW_HIRE, REFRESHER_DUE, IN_PROGRESS, COMPLETE)


@dataclass(frozen=True)
class Roster:
    course: CourseInfo
    people: list[Person]
    names: Mapping[str, str]  # school slug -> name
    today: datetime.date
    staff_list: bool = False

    def standing(self, person: Person) -> Standing:
        return standing(person, self.course, self.today, staff_list=self.staff_list)

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
            "role": p.role,
            "start_date": p.start_date,
            "status": s.status,
            "note": s.note,
            "trained_on": s.trained_on,
            "due_on": s.due_on,
            "modules_current": str(current),
            "modules_total": str(len(modules)),
            **_test_cells("pre", p.pre),
            **_test_cells("post", p.post),
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
        writer.writerow([_csv_safe(v) for v in row])
    return buffer.getvalue()


def to_html(roster: Roster, title: str) -> str:
    """A printable page: per school, the people, the modules they took, and their words."""
    by_school: dict[str, list[Person]] = {}
    for p in roster.people:
        by_school.setdefault(p.school, []).append(p)
    modules = list(roster.course.modules.values())
    state = roster.course.state or "no state set"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>As of {_e(roster.today.isoformat())}, from encrypted completion records. "
        f"State rules in the course: {_e(state)}. A refresher is due "
        f"{roster.course.refresher_months} months after the oldest current module "
        f"completion; new hires are expected to train within {roster.course.new_hire_days} "
        "days of their start date.</p>",
        "<p><b>Due</b> is the date the next refresher is due or, for a new hire, the date by "
        "which they should have trained. A blank module cell means the module was not taken; "
        "“older version” means the module changed after the person read it. “Before” and "
        "“after” are the scores in the check before the course and the final check.</p>",
    ]
    for slug, school_people in sorted(by_school.items(), key=lambda kv: roster.school(kv[0])):
        counts = {s: 0 for s in STATUS_ORDER}
        for p in school_people:
            counts[roster.standing(p).status] += 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        parts.append(f"<section><h2>{_e(roster.school(slug))}</h2>")
        parts.append(f"<p>{len(school_people)} people: {_e(summary)}.</p>")
        parts.append(
            "<table><thead><tr>"
            + "".join(
                f"<th scope='col'>{h}</th>"
                for h in (
                    "Name",
                    "Role",
                    "Status",
                    "Note",
                    "Trained",
                    "Due",
                    "Before",
                    "After",
                    "Records",
                )
            )
            + "</tr></thead><tbody>"
        )
        for p in school_people:
            s = roster.standing(p)
            flag = "" if s.status == COMPLETE else " class='flag'"
            cells = [
                p.name,
                p.role,
                s.status,
                s.note,
                s.trained_on,
                s.due_on,
                _score(p.pre),
                _score(p.post),
                " ".join(p.records),
            ]
            parts.append(
                "<tr>"
                + "".join(f"<td{flag if i == 2 else ''}>{_e(c)}</td>" for i, c in enumerate(cells))
                + "</tr>"
            )
        parts.append("</tbody></table>")
        parts.append(
            "<table class='grid'><caption>Modules: score on the first try and date</caption>"
            "<thead><tr><th scope='col'>Name</th>"
            + "".join(f"<th scope='col' title='{_e(m.title)}'>{_e(m.id)}</th>" for m in modules)
            + "</tr></thead><tbody>"
        )
        for p in school_people:
            cells = []
            for m in modules:
                t = p.modules.get(m.id)
                if t is None:
                    cells.append("")
                    continue
                text = f"{_num(t.score)}/{_num(t.questions)} {t.completed_on}"
                cells.append(text if t.version == m.version else f"{text} (older version)")
            parts.append(
                f"<tr><th scope='row'>{_e(p.name)}</th>"
                + "".join(f"<td>{_e(c)}</td>" for c in cells)
                + "</tr>"
            )
        parts.append("</tbody></table>")
        acks = [(p, p.acknowledgment) for p in school_people if p.acknowledgment]
        if acks:
            parts.append(
                "<table><caption>Acknowledgments, in each person's own words</caption><thead><tr>"
                "<th scope='col'>Name</th><th scope='col'>Date</th>"
                "<th scope='col'>Acknowledgment</th></tr></thead><tbody>"
            )
            for p, a in acks:
                parts.append(
                    f"<tr><td>{_e(p.name)}</td><td>{_e(a.on)}</td><td>{_e(a.text)}</td></tr>"
                )
            parts.append("</tbody></table>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


STYLE = (
    "body{font:11pt system-ui,sans-serif;margin:2em}table{border-collapse:collapse;"
    "width:100%;margin-bottom:1.5em}th,td{border:1px solid #999;padding:4px 6px;"
    "text-align:left;vertical-align:top}th{background:#eee}caption{text-align:left;"
    "font-weight:bold;padding:4px 0}.grid td{font-size:9pt;white-space:nowrap}"
    ".flag{font-weight:bold}@media print{body{margin:0}section{break-before:page}"
    "section:first-of-type{break-before:auto}tr{break-inside:avoid}}"
)


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


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _csv_safe(value: str) -> str:
    """Stop a spreadsheet from running a name like '=HYPERLINK(...)' as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
