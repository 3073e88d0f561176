"""The course's published files, defined once: the builder writes them, the key tool reads them.

``training/course.json`` (what every course page loads), ``training/schools/<school>.json``
(one school's name, district and recipients' keys, to seal completion records to)
and ``training/districts/<district>.json`` (a district's schools, for the
completion page's pickers). The static host is outside the lead's control, so
each file is parsed within limits (size, depth, lengths, no unknown field) and
a problem raises CourseFileError naming the file, the field and the problem.

A course.json need give only its modules: the roster's ``--modules`` may be a
list a lead wrote by hand, so every other field has the default a course without it means.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from quietdoor import strictjson
from quietdoor.config.hours import is_month_day
from quietdoor.encoding import b64u_encode
from quietdoor.errors import QuietDoorError
from quietdoor.payloads.reader import MAX_SHORT, Reader
from quietdoor.payloads.training import LANGUAGE_RE

COURSE_JSON = "course.json"
DISTRICTS_JSON = "districts.json"
DISTRICTS_DIR = "districts"
SCHOOLS_DIR = "schools"
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 6  # the deepest file, course.json, nests four levels
MAX_MODULES = 64
MAX_TESTS = 8
MAX_SCRIPTS = 16
MAX_SCHOOLS = 100_000  # in one district's file
MAX_RECIPIENTS = 64
MAX_URL = 2_000
MAX_COUNT = 10**9  # months, days, minutes, questions: a sanity bound, not a policy
DEFAULT_REFRESHER_MONTHS = 12
DEFAULT_NEW_HIRE_DAYS = 30
DEFAULT_PASS_PERCENT = 80
ITEMS_JSON = "items.json"  # the scored tests' items, beside course.json
ANSWER_KEY = "training-answer-key.json"  # in the print folder, never published
MAX_KEY_ITEMS = 2_000
MAX_ATTESTATION = 2_000  # a record's attestation holds at most this many characters
ZONE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,30}(/[A-Za-z0-9_+-]{1,30}){0,2}")


class CourseFileError(QuietDoorError):
    """A course file that does not follow the format; the message names file and field."""


@dataclass(frozen=True)
class CourseState:
    """The state rules the course shows: a postal code or "general", its name, their version,
    and the attestation a staff member signs, by language ("{date}" marks the day)."""

    code: str
    name: str
    version: int
    attestation: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CourseModule:
    id: str
    title: str
    version: str  # changes when the module's text does: an older completion no longer counts
    path: str = ""  # below the training site, e.g. "modules/03-limits/"
    minutes: int = 0
    questions: int = 0


@dataclass(frozen=True)
class CourseTest:
    """The check before the course ("pre") or the final check ("post")."""

    title: str
    path: str
    questions: int


@dataclass(frozen=True)
class CourseScript:
    src: str
    integrity: str


@dataclass(frozen=True)
class SchoolFiles:
    """Where the completion page finds the school index, relative to course.json."""

    districts: str = DISTRICTS_JSON
    district: str = f"{DISTRICTS_DIR}/"
    school: str = f"{SCHOOLS_DIR}/"


@dataclass(frozen=True)
class CourseFile:
    """``training/course.json``: what every course page needs, and nothing per school."""

    modules: tuple[CourseModule, ...]
    state: CourseState | None = None
    refresher_months: int = DEFAULT_REFRESHER_MONTHS
    new_hire_days: int = DEFAULT_NEW_HIRE_DAYS
    tests: dict[str, CourseTest] = field(default_factory=dict)
    relay_url: str = ""
    schools: SchoolFiles = SchoolFiles()
    scripts: tuple[CourseScript, ...] = ()
    pass_percent: int = DEFAULT_PASS_PERCENT  # the final check's pass mark
    version: str = ""  # the course's version: a digest of its modules' versions and items
    provider: str = ""  # who gives the course: the deployment's organisation
    school_year_starts: str = ""  # "MM-DD", or "" when the deployment does not set it


@dataclass(frozen=True)
class KeyItem:
    """One scored item in the answer key: its skill, how many options, the right one's place."""

    skill: str
    options: int
    right: int


@dataclass(frozen=True)
class AnswerKey:
    """The build's answer key (ANSWER_KEY) by item id, for `roster --answer-key` to re-score."""

    pass_percent: int
    items: dict[str, KeyItem]


@dataclass(frozen=True)
class SchoolEntry:
    """``training/schools/<slug>.json``: a school's name and its recipients' X25519 keys."""

    slug: str
    name: str
    district: str = ""
    recipients: tuple[bytes, ...] = ()
    timezone: str = ""  # the school's IANA zone: the day a staff member signs is the school's


@dataclass(frozen=True)
class SchoolName:
    slug: str
    name: str


@dataclass(frozen=True)
class DistrictEntry:
    """``training/districts/<slug>.json``: a district's schools, without their keys."""

    slug: str
    name: str
    schools: tuple[SchoolName, ...]


# --- writing ------------------------------------------------------------------


def course_bytes(course: CourseFile) -> bytes:
    data: dict[str, Any] = {}
    if course.state is not None:
        s = course.state
        data["state"] = {"code": s.code, "name": s.name, "version": s.version}
        if s.attestation:
            data["state"]["attestation"] = dict(s.attestation)
    data |= {
        "refresher_months": course.refresher_months,
        "new_hire_days": course.new_hire_days,
        "modules": [
            {
                "id": m.id,
                "title": m.title,
                "version": m.version,
                "path": m.path,
                "minutes": m.minutes,
                "questions": m.questions,
            }
            for m in course.modules
        ],
        "tests": {
            name: {"title": t.title, "path": t.path, "questions": t.questions}
            for name, t in course.tests.items()
        },
        "pass_percent": course.pass_percent,
        "version": course.version,
        "provider": course.provider,
        "school_year_starts": course.school_year_starts,
        "relay_url": course.relay_url,
        "schools": {
            "districts": course.schools.districts,
            "district": course.schools.district,
            "school": course.schools.school,
        },
        "scripts": [{"src": s.src, "integrity": s.integrity} for s in course.scripts],
    }
    return json_bytes(data)


def answer_key_bytes(key: AnswerKey) -> bytes:
    return json_bytes(
        {
            "format": "quietdoor-answer-key",
            "version": 1,
            "pass_percent": key.pass_percent,
            "items": {
                iid: {"skill": k.skill, "options": k.options, "right": k.right}
                for iid, k in key.items.items()
            },
        }
    )


def parse_answer_key(raw: bytes, where: str) -> AnswerKey:
    r = _root(raw, where, "answer key")
    if r.field("format") != "quietdoor-answer-key" or r.field("version") != 1:
        raise r.fail("format", "must be quietdoor-answer-key, version 1")
    items = r.table("items")
    if len(items.obj) > MAX_KEY_ITEMS:
        raise items.error(f"{items.where}: more than {MAX_KEY_ITEMS} items")
    key = {}
    for iid in items.obj:
        if not 0 < len(iid) <= 64:
            raise items.fail(iid[:64], "must be an item id of at most 64 characters")
        k = items.table(iid)
        entry = KeyItem(
            skill=k.text("skill", MAX_SHORT),
            options=k.count("options", 4, 2),
            right=k.count("right", 3),
        )
        k.only(("skill", "options", "right"))
        if entry.right >= entry.options:
            raise k.fail("right", "must be the place of one of the options")
        key[iid] = entry
    answer = AnswerKey(pass_percent=r.count("pass_percent", 100, 1), items=key)
    r.only(("format", "version", "pass_percent", "items"))
    return answer


def school_entry_bytes(entry: SchoolEntry) -> bytes:
    return json_bytes(
        {
            "slug": entry.slug,
            "name": entry.name,
            "district": entry.district,
            "recipients": [b64u_encode(k) for k in entry.recipients],
        }
        | ({"timezone": entry.timezone} if entry.timezone else {})
    )


def district_entry_bytes(entry: DistrictEntry) -> bytes:
    return json_bytes(
        {
            "slug": entry.slug,
            "name": entry.name,
            "schools": [{"slug": s.slug, "name": s.name} for s in entry.schools],
        }
    )


def json_bytes(data: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON and a newline: the bytes every course file is published as."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# --- reading ------------------------------------------------------------------


def parse_course(raw: bytes, where: str) -> CourseFile:
    """course.json's bytes as a CourseFile; where names the file (a path or a URL)."""
    r = _root(raw, where, "course")
    present = r.obj.keys()
    modules = []
    for m in r.tables("modules", MAX_MODULES):
        given = m.obj.keys()
        modules.append(
            CourseModule(
                id=m.text("id", MAX_SHORT, empty=False),
                title=m.text("title", MAX_SHORT),
                version=m.text("version", MAX_SHORT),
                path=m.text("path", MAX_SHORT) if "path" in given else "",
                minutes=m.count("minutes", MAX_COUNT) if "minutes" in given else 0,
                questions=m.count("questions", MAX_COUNT) if "questions" in given else 0,
            )
        )
        m.only(("id", "title", "version", "path", "minutes", "questions"))
    course = CourseFile(
        modules=tuple(modules),
        state=_state(r.table("state")) if "state" in present else None,
        refresher_months=r.count("refresher_months", MAX_COUNT, 1)
        if "refresher_months" in present
        else DEFAULT_REFRESHER_MONTHS,
        new_hire_days=r.count("new_hire_days", MAX_COUNT, 1)
        if "new_hire_days" in present
        else DEFAULT_NEW_HIRE_DAYS,
        tests=_tests(r.table("tests")) if "tests" in present else {},
        relay_url=r.text("relay_url", MAX_URL) if "relay_url" in present else "",
        pass_percent=r.count("pass_percent", 100, 1)
        if "pass_percent" in present
        else DEFAULT_PASS_PERCENT,
        version=r.text("version", MAX_SHORT) if "version" in present else "",
        provider=r.text("provider", MAX_SHORT) if "provider" in present else "",
        school_year_starts=_month_day(r) if "school_year_starts" in present else "",
        schools=_school_files(r.table("schools")) if "schools" in present else SchoolFiles(),
        scripts=tuple(_script(s) for s in r.tables("scripts", MAX_SCRIPTS))
        if "scripts" in present
        else (),
    )
    r.only(
        (
            "state",
            "refresher_months",
            "new_hire_days",
            "modules",
            "tests",
            "pass_percent",
            "version",
            "provider",
            "school_year_starts",
            "relay_url",
            "schools",
            "scripts",
        )
    )
    return course


def parse_school_entry(raw: bytes, where: str) -> SchoolEntry:
    r = _root(raw, where, "school")
    given = r.obj.keys()
    keys = r.field("recipients") if "recipients" in given else []
    if not isinstance(keys, list) or len(keys) > MAX_RECIPIENTS:
        raise r.fail("recipients", f"must be a list of at most {MAX_RECIPIENTS} keys")
    entry = SchoolEntry(
        slug=r.slug("slug"),
        name=r.text("name", MAX_SHORT, empty=False),
        district=r.slug("district") if "district" in given else "",
        recipients=tuple(
            Reader({"key": k}, f"{r.where}.recipients[{i}]", CourseFileError).binary("key", 32)
            for i, k in enumerate(keys)
        ),
        timezone=r.pattern("timezone", ZONE_RE, "an IANA time zone such as America/Chicago")
        if "timezone" in given
        else "",
    )
    r.only(("slug", "name", "district", "recipients", "timezone"))
    return entry


def parse_district_entry(raw: bytes, where: str) -> DistrictEntry:
    r = _root(raw, where, "district")
    schools = []
    for s in r.tables("schools", MAX_SCHOOLS):
        schools.append(SchoolName(slug=s.slug("slug"), name=s.text("name", MAX_SHORT)))
        s.only(("slug", "name"))
    entry = DistrictEntry(
        slug=r.slug("slug"), name=r.text("name", MAX_SHORT), schools=tuple(schools)
    )
    r.only(("slug", "name", "schools"))
    return entry


def _root(raw: bytes, where: str, what: str) -> Reader:
    try:
        obj = strictjson.loads(raw, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH)
    except strictjson.JSONError as exc:
        raise CourseFileError(f"{where}: not acceptable JSON: {exc}") from None
    return Reader(obj, f"{where}: {what}", CourseFileError)


def _state(r: Reader) -> CourseState:
    state = CourseState(
        code=r.text("code", MAX_SHORT),
        name=r.text("name", MAX_SHORT),
        version=r.count("version", MAX_COUNT),
        attestation=_attestation(r.table("attestation")) if "attestation" in r.obj else {},
    )
    r.only(("code", "name", "version", "attestation"))
    return state


def _attestation(r: Reader) -> dict[str, str]:
    """The attestation's text by language: at most a few languages, each text bounded."""
    if len(r.obj) > MAX_TESTS:
        raise r.error(f"{r.where}: more than {MAX_TESTS} languages")
    for lang in r.obj:
        if not LANGUAGE_RE.fullmatch(lang):
            raise r.fail(lang[:8], "must be a language code such as en")
    return {lang: r.text(lang, MAX_ATTESTATION, empty=False) for lang in r.obj}


def _tests(r: Reader) -> dict[str, CourseTest]:
    if len(r.obj) > MAX_TESTS:
        raise r.error(f"{r.where}: more than {MAX_TESTS} tests")
    tests = {}
    for name in r.obj:
        if not 0 < len(name) <= 32:
            raise r.fail(name[:32], "must be a test id of at most 32 characters")
        t = r.table(name)
        tests[name] = CourseTest(
            title=t.text("title", MAX_SHORT),
            path=t.text("path", MAX_SHORT),
            questions=t.count("questions", MAX_COUNT),
        )
        t.only(("title", "path", "questions"))
    return tests


def _month_day(r: Reader) -> str:
    value = r.text("school_year_starts", 5)  # "" when the deployment does not set it
    if value and not is_month_day(value):
        raise r.fail("school_year_starts", 'must be a month and day such as "08-15"')
    return value


def _school_files(r: Reader) -> SchoolFiles:
    files = SchoolFiles(
        districts=r.text("districts", MAX_SHORT),
        district=r.text("district", MAX_SHORT),
        school=r.text("school", MAX_SHORT),
    )
    r.only(("districts", "district", "school"))
    return files


def _script(r: Reader) -> CourseScript:
    script = CourseScript(src=r.text("src", MAX_URL), integrity=r.text("integrity", MAX_SHORT))
    r.only(("src", "integrity"))
    return script
