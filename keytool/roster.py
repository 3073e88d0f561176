"""The training roster: one row per person, from decrypted completion records.

A record (payload kind ``training``, see docs/PROTOCOL.md) arrives already checked
by quietdoor.payloads (anyone can seal a record to a school, so it is opened with
limits and refused when malformed); `completion` turns it into the roster's view.

The course publishes what the roster needs in ``training/course.json`` (its format
is defined in quietdoor.course, which the builder writes with): every
module's current version (set by its author, and by the state rules it shows), the
refresher interval (the state's rule, or the deployment's) and the window for new
hires. A person's training counts from the oldest of their current module
completions; it is due again ``refresher_months`` later. With a staff list
(``roster --staff FILE``: name, role, school, start_date), the roster also knows who
should have trained, so it can show new hires and those who are overdue.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keytool.errors import KeyToolError
from keytool.roster_wording import (
    ENGLISH,
    NOT_CHECKED,
    PublishedWording,
    WordingCheck,
    check_wording,
)
from quietdoor.course import (
    COURSE_JSON,
    DEFAULT_PASS_PERCENT,
    DISTRICTS_DIR,
    MAX_FILE_BYTES,
    SCHOOLS_DIR,
    AnswerKey,
    CourseFileError,
    CourseModule,
    parse_answer_key,
    parse_course,
    parse_district_entry,
    parse_school_entry,
)
from quietdoor.payloads import CheckResult, Training
from quietdoor.payloads.training import LANGUAGE_RE
from quietdoor.protocol import SLUG_RE

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DUE_SOON_DAYS = 30  # a refresher due within this many days shows as "refresher due"
MAX_TEXT = 120  # names, roles, ids
MAX_ACK = 2000
MAX_ITEMS = 100

# Statuses, in plain words, one per person.
COMPLETE = "complete"
REFRESHER_DUE = "refresher due"
OVERDUE = "overdue"
NEW_HIRE = "new hire, not yet trained"
IN_PROGRESS = "in progress"


@dataclass(frozen=True)
class CourseInfo:
    """What the roster needs from training/course.json, and where the course lives."""

    modules: dict[str, CourseModule]
    refresher_months: int
    new_hire_days: int
    state: str  # the state whose rules the course shows; "" for its general text
    base: str  # the training folder or URL, ending in "/", for the schools' files
    pass_percent: int = DEFAULT_PASS_PERCENT  # the final check's pass mark
    state_code: str = ""  # "CA", …; "" for the general text
    school_year_starts: str = ""  # "MM-DD" or ""
    provider: str = ""
    version: str = ""  # the course's version (course.json), as certificates name it
    wording: str = ""  # the attestation's wording: the state rules and their version, "FL.2"
    attestation: Mapping[str, str] = field(default_factory=dict)  # its text by language


@dataclass(frozen=True)
class ModuleResult:
    id: str
    version: str
    score: int | None
    questions: int | None
    completed_on: str
    seconds: int | None = None  # time on task, as the course measured it


@dataclass(frozen=True)
class TestResult:
    score: int
    questions: int
    taken_on: str
    skills_right: tuple[str, ...] = ()
    answers: tuple[tuple[str, int], ...] = ()  # (item id, option chosen), since protocol 2.1

    def passes(self, percent: int) -> bool:
        return self.score * 100 >= percent * self.questions


@dataclass(frozen=True)
class Acknowledgment:
    text: str
    on: str


@dataclass(frozen=True)
class Attestation:
    """The dated statement the person ticked, the state wording it was (e.g. "FL.2"), and
    whether its text is that wording as the course publishes it."""

    text: str
    on: str
    wording: str = ""
    check: WordingCheck = NOT_CHECKED


@dataclass(frozen=True)
class Completion:
    """One decrypted completion record, checked and trimmed."""

    record: str  # the envelope's id at the relay, printed on the certificate too
    school: str
    received: str
    submitted_on: str
    name: str
    role: str
    state: str
    modules: tuple[ModuleResult, ...]
    pre: TestResult | None = None
    post: TestResult | None = None
    post_passed: TestResult | None = None
    acknowledgment: Acknowledgment | None = None
    staff_id: str = ""
    attestation: Attestation | None = None
    course_version: str = ""
    language: str = ""  # the course's language ("en", "es"), when the record says


@dataclass(frozen=True)
class OtherTraining:
    """Hours from a training outside this course (`roster --other-training`)."""

    school: str
    name: str
    staff_id: str
    hours: float
    on: str
    provider: str


@dataclass(frozen=True)
class StaffMember:
    name: str
    role: str
    school: str  # slug
    start_date: str
    staff_id: str = ""


@dataclass
class Person:
    """Everything known about one person at one school, merged from records and staff list."""

    school: str
    name: str
    role: str = ""
    start_date: str = ""
    on_staff_list: bool = False
    modules: dict[str, ModuleResult] = field(default_factory=dict)
    pre: TestResult | None = None
    post: TestResult | None = None
    post_passed: TestResult | None = None
    acknowledgment: Acknowledgment | None = None
    records: list[str] = field(default_factory=list)
    staff_id: str = ""
    flags: list[str] = field(default_factory=list)  # records the answer key disagrees with
    attestation: Attestation | None = None
    other: list[OtherTraining] = field(default_factory=list)
    course_version: str = ""
    course_language: str = ""

    def measured_hours(self, course: CourseInfo) -> float:
        """Credited hours in this course: per current module, min(nominal, measured)."""
        minutes = 0.0
        for m in course.modules.values():
            taken = self.modules.get(m.id)
            if taken and taken.version == m.version and taken.seconds:
                minutes += min(float(m.minutes), taken.seconds / 60)
        return minutes / 60

    def credited_hours(self, course: CourseInfo) -> float:
        return self.measured_hours(course) + sum(o.hours for o in self.other)


@dataclass(frozen=True)
class Standing:
    status: str
    note: str
    trained_on: str  # from when the current training counts ("" if not trained)
    due_on: str  # when a refresher is due, or when a new hire must have trained
    rule: str = ""  # where the person stands on the state's own rule, in words


# ---------------------------------------------------------------- the course


def load_course_info(source: str) -> CourseInfo:
    """Read training/course.json from a built site folder, a file, or a URL."""
    if source.startswith(("http://", "https://")):
        where, base = source, source.rsplit("/", 1)[0] + "/"
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "training" / COURSE_JSON
        where, base = str(path), str(path.parent) + "/"
    try:
        course = parse_course(_read(where), where)
    except (OSError, urllib.error.URLError) as exc:
        raise KeyToolError(f"cannot read the course's module list from {source} ({exc})") from None
    except CourseFileError as exc:
        raise KeyToolError(f"{source} is not a Quiet Door training/course.json ({exc})") from None
    return CourseInfo(
        modules={m.id: m for m in course.modules},
        refresher_months=course.refresher_months,
        new_hire_days=course.new_hire_days,
        state=course.state.name if course.state and course.state.code != "general" else "",
        base=base,
        pass_percent=course.pass_percent,
        state_code=course.state.code if course.state and course.state.code != "general" else "",
        school_year_starts=course.school_year_starts,
        provider=course.provider,
        version=course.version,
        wording=f"{course.state.code}.{course.state.version}" if course.state else "",
        attestation=dict(course.state.attestation) if course.state else {},
    )


def published_wordings(course: CourseInfo, languages: Iterable[str]) -> dict[str, PublishedWording]:
    """The attestation each language's course publishes: English from `course`, another
    language from its own course.json beside it (``es/course.json``), as that page shows it."""
    found = {ENGLISH: PublishedWording(course.wording, _in_language(course.attestation, ENGLISH))}
    for language in sorted(set(languages) - {ENGLISH, ""}):
        if not LANGUAGE_RE.fullmatch(language):
            found[language] = PublishedWording("", "", "no course in that language")
            continue
        where = _course_file(course, f"{language}/{COURSE_JSON}")
        try:
            state = parse_course(_read(where), where).state
        except (OSError, urllib.error.URLError) as exc:
            found[language] = PublishedWording("", "", f"cannot read {where} ({exc})")
            continue
        except CourseFileError as exc:
            found[language] = PublishedWording("", "", f"not a Quiet Door course.json ({exc})")
            continue
        wording = f"{state.code}.{state.version}" if state else ""
        text = _in_language(state.attestation, language) if state else ""
        found[language] = PublishedWording(wording, text)
    return found


def _in_language(texts: Mapping[str, str], language: str) -> str:
    """The text the course page shows in `language`: its own, else the English one."""
    return texts.get(language) or texts.get(ENGLISH, "")


def load_answer_key(path: Path) -> AnswerKey:
    """The build's answer key (the print folder's training-answer-key.json)."""
    try:
        return parse_answer_key(_read(str(path)), str(path))
    except OSError as exc:
        raise KeyToolError(f"cannot read the answer key {path} ({exc.strerror})") from None
    except CourseFileError as exc:
        raise KeyToolError(f"{path} is not a Quiet Door answer key ({exc})") from None


def rescore(c: Completion, key: AnswerKey) -> tuple[Completion, list[str]]:
    """The record with any check whose claimed score its answers do not give removed, and
    what was wrong with each, so that a forged score never counts."""
    problems = []
    kept: list[TestResult | None] = []
    for name, result in (("pre", c.pre), ("post", c.post), ("post passed", c.post_passed)):
        problem = _rescore_problem(result, key) if result else ""
        if problem:
            problems.append(f"record {c.record}: {name}: {problem}")
        kept.append(None if problem else result)
    return dataclasses.replace(c, pre=kept[0], post=kept[1], post_passed=kept[2]), problems


def _rescore_problem(result: TestResult, key: AnswerKey) -> str:
    if not result.answers:
        return "no answers to re-score"
    unknown = [item for item, _ in result.answers if item not in key.items]
    if unknown:
        return f"item {unknown[0]!r} is not in the answer key"
    score = sum(key.items[item].right == chosen for item, chosen in result.answers)
    if score != result.score or len(result.answers) != result.questions:
        return (
            f"claims {result.score} of {result.questions}, the answers give "
            f"{score} of {len(result.answers)}"
        )
    return ""


def school_names(
    course: CourseInfo, slugs: Iterable[str], districts: Iterable[str] = ()
) -> dict[str, str]:
    """Names of the given schools and of every school in the given districts.

    A school whose file cannot be read keeps its slug as its name: the roster still
    prints, and says which school it could not name.
    """
    names: dict[str, str] = {}
    for district in districts:
        if SLUG_RE.fullmatch(district):
            where = _course_file(course, f"{DISTRICTS_DIR}/{district}.json")
            try:
                entry = parse_district_entry(_read(where), where)
            except (OSError, urllib.error.URLError, CourseFileError):
                continue
            for s in entry.schools:
                names[s.slug] = _clean(s.name, MAX_TEXT) or s.slug
    for slug in slugs:
        if slug not in names and SLUG_RE.fullmatch(slug):
            where = _course_file(course, f"{SCHOOLS_DIR}/{slug}.json")
            try:
                name = parse_school_entry(_read(where), where).name
            except (OSError, urllib.error.URLError, CourseFileError):
                name = ""
            names[slug] = _clean(name, MAX_TEXT) or slug
    return names


def _course_file(course: CourseInfo, relative: str) -> str:
    if course.base.startswith(("http://", "https://")):
        return urllib.parse.urljoin(course.base, relative)
    return str(Path(course.base, relative))


def _read(source: str) -> bytes:
    """A course file's bytes from a URL or a path, at most one byte past the format's limit."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as answer:  # noqa: S310 - scheme checked
            return bytes(answer.read(MAX_FILE_BYTES + 1))
    with open(source, "rb") as file:
        return file.read(MAX_FILE_BYTES + 1)


# ---------------------------------------------------------------- records


def completion(
    record: str,
    received: str,
    training: Training,
    published: Mapping[str, PublishedWording] | None = None,
) -> Completion:
    """The roster's view of one validated training record (quietdoor.payloads.Training).

    The record was checked on opening (types, sizes, dates); its attestation is checked,
    as sent, against the `published` wordings (by language; see `published_wordings`).
    Then its text is tidied for a printed page: control and format characters become
    spaces, runs of space one.
    """
    ack = training.acknowledgment
    att = training.attestation
    check = NOT_CHECKED
    if att and published is not None:
        check = check_wording(att.text, att.on, att.wording, training.language, published)
    return Completion(
        record=record,
        school=training.header.school,
        received=received,
        submitted_on=training.header.sent[:10],
        name=_clean(training.person.name, MAX_TEXT),
        staff_id=_clean(training.person.staff_id, 64),
        role=_clean(training.person.role, MAX_TEXT),
        state=training.state,
        modules=tuple(
            ModuleResult(
                id=_clean(m.id, 16),
                version=_clean(m.version, 40),
                score=m.score,
                questions=m.questions,
                completed_on=m.completed_on,
                seconds=m.seconds,
            )
            for m in training.modules[:MAX_ITEMS]
        ),
        pre=_result(training.pre),
        post=_result(training.post),
        post_passed=_result(training.post_passed),
        acknowledgment=Acknowledgment(text=_clean(ack.text, MAX_ACK), on=ack.on) if ack else None,
        attestation=Attestation(_clean(att.text, MAX_ACK), att.on, att.wording, check)
        if att
        else None,
        course_version=_clean(training.course_version, 40),
        language=training.language,
    )


def _result(check: CheckResult | None) -> TestResult | None:
    if check is None or not check.questions:
        return None
    return TestResult(
        score=check.score,
        questions=check.questions,
        taken_on=check.taken_on,
        skills_right=tuple(s for s in (_clean(x, 40) for x in check.skills_right) if s),
        answers=tuple((a.item, a.chosen) for a in check.answers or ()),
    )


def _clean(value: Any, limit: int) -> str:
    """Text from a record, safe to print: no control or format characters, trimmed, bounded."""
    if not isinstance(value, str):
        return ""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in value)
    return " ".join(kept.split())[:limit]


def _date(value: Any) -> str:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return ""
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return ""
    return value


# ---------------------------------------------------------------- staff list


STAFF_COLUMNS = ("name", "role", "school", "start_date")
OPTIONAL_STAFF_COLUMNS = ("staff_id",)  # matches the staff id a person gives in the course


def read_csv(path: Path, what: str) -> tuple[csv.DictReader[str], list[str]]:
    """A CSV a person saved (UTF-8, a BOM allowed), and its header in lower case."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KeyToolError(f"cannot read {what} {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise KeyToolError(f"{path}: save {what} as UTF-8 text (CSV)") from None
    reader = csv.DictReader(text.splitlines())
    return reader, [h.strip().lower() for h in reader.fieldnames or []]


def load_staff(path: Path, names: Mapping[str, str]) -> list[StaffMember]:
    """A staff CSV with the columns name, role, school, start_date (YYYY-MM-DD).

    school is a school's slug or its name as the course lists it.
    """
    by_name: dict[str, list[str]] = {}
    for slug, name in names.items():
        by_name.setdefault(_key(name), []).append(slug)
    reader, header = read_csv(path, "the staff list")
    missing = [c for c in STAFF_COLUMNS if c not in header]
    if missing:
        raise KeyToolError(
            f"{path}: the first line must name the columns {', '.join(STAFF_COLUMNS)} "
            f"(missing: {', '.join(missing)})"
        )
    reader.fieldnames = header
    staff = []
    for line, row in enumerate(reader, start=2):
        values = {c: _clean(row.get(c), MAX_TEXT) for c in STAFF_COLUMNS + OPTIONAL_STAFF_COLUMNS}
        if not any(values.values()):
            continue
        where = f"{path}: line {line}"
        if not values["name"]:
            raise KeyToolError(f"{where}: name is empty")
        school = values["school"]
        if school not in names:
            found = by_name.get(_key(school), [])
            if len(found) != 1:
                problem = "names two schools" if found else "is not one of your schools"
                raise KeyToolError(f"{where}: school {school!r} {problem}; use its slug")
            school = found[0]
        if not _date(values["start_date"]):
            raise KeyToolError(
                f"{where}: start_date {values['start_date']!r} is not a date such as 2026-08-15"
            )
        staff.append(
            StaffMember(
                values["name"], values["role"], school, values["start_date"], values["staff_id"]
            )
        )
    return staff


# ---------------------------------------------------------------- the roster


def people(
    completions: Iterable[Completion],
    staff: Iterable[StaffMember] = (),
    flags: Mapping[str, list[str]] | None = None,
) -> list[Person]:
    """One Person per school and staff id (or name), with their latest result for each module;
    flags are the answer key's problems by record id."""
    found: dict[tuple[str, str], Person] = {}
    for member in staff:
        key = (member.school, _person_key(member.staff_id, member.name))
        found[key] = Person(
            school=member.school,
            name=member.name,
            role=member.role,
            start_date=member.start_date,
            on_staff_list=True,
            staff_id=member.staff_id,
        )
    ordered = sorted(completions, key=lambda c: (c.submitted_on, c.received, c.record))
    for c in ordered:
        if not c.name:
            continue
        key = (c.school, _person_key(c.staff_id, c.name))
        listed = found.get((c.school, _person_key("", c.name)))
        if key not in found and listed and listed.on_staff_list and not listed.staff_id:
            # A staff list without ids: the person who typed one is still the listed name.
            key = (c.school, _person_key("", c.name))
        person = found.setdefault(key, Person(school=c.school, name=c.name, staff_id=c.staff_id))
        if not person.on_staff_list:
            person.role = c.role or person.role
        person.records.append(c.record)
        person.flags += (flags or {}).get(c.record, [])
        for m in c.modules:
            kept = person.modules.get(m.id)
            if kept is None or m.completed_on >= kept.completed_on:
                person.modules[m.id] = m
        if c.pre and (person.pre is None or c.pre.taken_on < person.pre.taken_on):
            person.pre = c.pre  # the first check before the course is the baseline
        if c.post and (person.post is None or c.post.taken_on < person.post.taken_on):
            person.post = c.post  # the first attempt
        if c.post_passed and (
            person.post_passed is None or c.post_passed.taken_on < person.post_passed.taken_on
        ):
            person.post_passed = c.post_passed
        if c.acknowledgment:
            person.acknowledgment = c.acknowledgment
        if c.attestation:
            person.attestation = c.attestation
        person.course_version = c.course_version or person.course_version
        person.course_language = c.language or person.course_language
    return sorted(found.values(), key=lambda p: (p.school, p.name.casefold()))


def standing(
    person: Person, course: CourseInfo, today: datetime.date, *, staff_list: bool = False
) -> Standing:
    """Where a person stands on `today`, as one status and a note.

    With a staff list, someone who sent records but is not on it keeps their status and
    gets the note "not on the staff list", so that nothing is hidden from the lead.
    """
    result = _standing(person, course, today)
    if person.flags:
        note = "; ".join(x for x in (result.note, "SCORE DISAGREES WITH THE ANSWER KEY") if x)
        result = Standing(result.status, note, result.trained_on, result.due_on)
    if staff_list and not person.on_staff_list:
        note = "; ".join(x for x in (result.note, "not on the staff list") if x)
        return Standing(result.status, note, result.trained_on, result.due_on)
    return result


def _standing(person: Person, course: CourseInfo, today: datetime.date) -> Standing:
    changed = sorted(
        m.id
        for m in course.modules.values()
        if m.id in person.modules and person.modules[m.id].version != m.version
    )
    missing = sorted(m.id for m in course.modules.values() if m.id not in person.modules)
    passed = person.post_passed is not None and person.post_passed.passes(course.pass_percent)
    if not missing and passed and person.acknowledgment is not None:
        dates = [person.modules[m].completed_on for m in course.modules]
        trained_on = min(dates) if all(dates) else ""
        if changed:
            note = f"changed since read: {', '.join(changed)}"
            return Standing(REFRESHER_DUE, note, trained_on, today.isoformat())
        if not trained_on:
            return Standing(IN_PROGRESS, "a module has no completion date", "", "")
        due = _add_months(datetime.date.fromisoformat(trained_on), course.refresher_months)
        if today > due:
            return Standing(OVERDUE, "refresher overdue", trained_on, due.isoformat())
        if (due - today).days <= DUE_SOON_DAYS:
            return Standing(REFRESHER_DUE, "refresher due soon", trained_on, due.isoformat())
        return Standing(COMPLETE, "", trained_on, due.isoformat())
    detail = []
    if missing or changed:
        detail.append(f"modules to do: {', '.join(sorted(missing + changed))}")
    if person.post is None:
        detail.append("final check not taken")
    elif not passed:
        detail.append(f"final check not passed (pass mark {course.pass_percent}%)")
    if person.acknowledgment is None:
        detail.append("no acknowledgment")
    note = "; ".join(detail)
    if person.start_date:
        deadline = datetime.date.fromisoformat(person.start_date) + datetime.timedelta(
            days=course.new_hire_days
        )
        status = NEW_HIRE if today <= deadline else OVERDUE
        return Standing(status, note, "", deadline.isoformat())
    return Standing(IN_PROGRESS, note, "", "")


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _person_key(staff_id: str, name: str) -> str:
    """A person is their staff id when they gave one, otherwise their name."""
    return f"id:{staff_id.casefold()}" if staff_id else _key(name)


def _key(name: str) -> str:
    return " ".join(name.casefold().split())
