"""The training roster: who completed which module version and when, from decrypted records.

A module's version is the hash of its Markdown source, published by the builder
in training/course.json. A completion of an older version than the one
published now means the person needs a refresher of that module.
"""

from __future__ import annotations

import csv
import html
import io
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from keytool.errors import KeyToolError
from quietdoor import strictjson
from quietdoor.payloads import Training

MAX_COURSE_BYTES = 8 * 1024 * 1024

COLUMNS = [
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


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    version: str


@dataclass(frozen=True)
class Row:
    school: str
    name: str
    role: str
    module: str
    module_title: str
    version: str
    score: int
    questions: int
    completed_on: str
    status: str  # "current", "refresher needed", or "module retired"

    def as_list(self) -> list[str]:
        return [str(getattr(self, c)) for c in COLUMNS]


def load_modules(source: str) -> dict[str, Module]:
    """Read training/course.json from a built site folder, a file, or a URL."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=30) as answer:  # noqa: S310 - scheme checked
                raw = answer.read(MAX_COURSE_BYTES + 1)
        else:
            path = Path(source)
            if path.is_dir():
                path = path / "training" / "course.json"
            raw = path.read_bytes()
        data = strictjson.loads(raw, max_bytes=MAX_COURSE_BYTES)
        return {
            m["id"]: Module(id=m["id"], title=m["title"], version=m["version"])
            for m in data["modules"]
        }
    except (OSError, urllib.error.URLError) as exc:
        raise KeyToolError(f"cannot read the course's module list from {source} ({exc})") from None
    except (ValueError, KeyError, TypeError, strictjson.JSONError):
        raise KeyToolError(f"{source} is not a Quiet Door training/course.json") from None


def roster_rows(records: Iterable[Training], modules: Mapping[str, Module]) -> list[Row]:
    """One row per person and module: their latest completion, with its status.

    records are decrypted, validated training payloads (quietdoor.payloads.Training).
    """
    latest: dict[tuple[str, str, str, str], Row] = {}
    for record in records:
        school = record.header.school
        name = record.person.name.strip()
        role = record.person.role.strip()
        for item in record.modules:
            module_id = item.id
            version = item.version
            current = modules.get(module_id)
            if current is None:
                status = "module retired"
            elif current.version == version:
                status = "current"
            else:
                status = "refresher needed"
            row = Row(
                school=school,
                name=name,
                role=role,
                module=module_id,
                module_title=current.title if current else "",
                version=version,
                score=item.score,
                questions=item.questions,
                completed_on=item.completed_on,
                status=status,
            )
            key = (school, name.casefold(), role.casefold(), module_id)
            if key not in latest or row.completed_on >= latest[key].completed_on:
                latest[key] = row
    return sorted(latest.values(), key=lambda r: (r.school, r.name.casefold(), r.module))


def missing_rows(rows: list[Row], modules: Mapping[str, Module]) -> list[Row]:
    """For each person on the roster, a row for every published module they have not completed."""
    people = {(r.school, r.name, r.role) for r in rows}
    done = {(r.school, r.name, r.role, r.module) for r in rows}
    return [
        Row(
            school=s,
            name=n,
            role=ro,
            module=m.id,
            module_title=m.title,
            version="",
            score=0,
            questions=0,
            completed_on="",
            status="not completed",
        )
        for (s, n, ro) in sorted(people)
        for m in modules.values()
        if (s, n, ro, m.id) not in done
    ]


def to_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_safe(v) for v in row.as_list()])
    return buffer.getvalue()


def to_html(rows: list[Row], title: str, generated_on: str) -> str:
    """A printable page: a table per school; refreshers and gaps marked in words, not colour."""
    by_school: dict[str, list[Row]] = {}
    for row in rows:
        by_school.setdefault(row.school, []).append(row)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font:11pt system-ui,sans-serif;margin:2em}table{border-collapse:collapse;"
        "width:100%;margin-bottom:2em}th,td{border:1px solid #999;padding:4px 6px;text-align:left}"
        "th{background:#eee}.flag{font-weight:bold}@media print{body{margin:0}h2{break-before:page}"
        "h2:first-of-type{break-before:auto}}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Generated {html.escape(generated_on)} from encrypted completion records. "
        "“Refresher needed” means the module changed after the person completed it.</p>",
    ]
    for school, school_rows in sorted(by_school.items()):
        parts.append(f"<h2>{html.escape(school)}</h2><table><thead><tr>")
        parts += [f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in COLUMNS[1:]]
        parts.append("</tr></thead><tbody>")
        for row in school_rows:
            cells = row.as_list()[1:]
            flag = " class='flag'" if row.status != "current" else ""
            parts.append(
                "<tr>"
                + "".join(f"<td>{html.escape(c)}</td>" for c in cells[:-1])
                + f"<td{flag}>{html.escape(cells[-1])}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _csv_safe(value: str) -> str:
    """Stop a spreadsheet from running a name like '=HYPERLINK(...)' as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
