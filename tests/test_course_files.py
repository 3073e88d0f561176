"""The course's published files (quietdoor.course): written and read back, hostile input refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quietdoor.course import (
    MAX_FILE_BYTES,
    CourseFile,
    CourseFileError,
    CourseModule,
    CourseScript,
    CourseState,
    CourseTest,
    DistrictEntry,
    SchoolEntry,
    SchoolFiles,
    SchoolName,
    course_bytes,
    district_entry_bytes,
    parse_course,
    parse_district_entry,
    parse_school_entry,
    school_entry_bytes,
)
from quietdoor.errors import QuietDoorError

WHERE = "dist/training/course.json"
COURSE = CourseFile(
    modules=(
        CourseModule(
            id="m01",
            title="What exploitation is",
            version="2",
            path="modules/01/",
            minutes=12,
            questions=3,
        ),
        CourseModule(
            id="m04",
            title="Reporting",
            version="2+TX.1",
            path="modules/04/",
            minutes=9,
            questions=4,
        ),
    ),
    state=CourseState(
        code="TX",
        name="Texas",
        version=1,
        attestation={"en": "I completed it on {date}.", "es": "La completé el {date}."},
    ),
    refresher_months=24,
    new_hire_days=14,
    tests={"pre": CourseTest("Before", "pre/", 10), "post": CourseTest("After", "post/", 10)},
    relay_url="https://relay.example.org",
    schools=SchoolFiles(),
    scripts=(CourseScript("../assets/proof.js?v=1", "sha384-abc"),),
)
SCHOOL = SchoolEntry(
    slug="lincoln-high",
    name="Lincoln High School",
    district="riverside-unified",
    recipients=(bytes(range(32)), bytes(32)),
    timezone="America/Chicago",
)
DISTRICT = DistrictEntry(
    slug="riverside-unified",
    name="Riverside Unified",
    schools=(SchoolName("lincoln-high", "Lincoln High School"), SchoolName("rm", "Riverside")),
)


def course_with(**changes: Any) -> bytes:
    data = json.loads(course_bytes(COURSE))
    data.update(changes)
    return json.dumps(data).encode()


def test_each_file_reads_back_as_written() -> None:
    assert parse_course(course_bytes(COURSE), WHERE) == COURSE
    assert parse_school_entry(school_entry_bytes(SCHOOL), "s.json") == SCHOOL
    assert parse_district_entry(district_entry_bytes(DISTRICT), "d.json") == DISTRICT


def test_a_module_list_alone_is_a_course_with_the_defaults() -> None:
    raw = json.dumps({"modules": [{"id": "m01", "title": "T", "version": "2"}]}).encode()
    course = parse_course(raw, WHERE)
    assert course == CourseFile(modules=(CourseModule("m01", "T", "2"),))
    assert (course.refresher_months, course.new_hire_days, course.state) == (12, 30, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a":' * 7 + b"1" + b"}" * 7, "nested deeper than 6"),
        (b" " * (MAX_FILE_BYTES + 1), f"longer than {MAX_FILE_BYTES} bytes"),
        (b"[]", "course must be a JSON object"),
        (b"{}", r"course\.modules: missing"),
        (course_with(modules="m01"), r"course\.modules: must be a list of at most 64"),
        (
            course_with(modules=[{"id": "m01", "title": 7, "version": "2"}]),
            r"course\.modules\[0\]\.title: must be text",
        ),
        (
            course_with(modules=[{"id": "m01", "title": "T", "version": "2", "extra": 1}]),
            r"course\.modules\[0\]\.extra: unknown field",
        ),
        (course_with(refresher_months=0), r"course\.refresher_months: must be a whole number"),
        (course_with(new_hire_days=True), r"course\.new_hire_days: must be a whole number"),
        (course_with(state={"code": "TX", "name": "Texas"}), r"course\.state\.version: missing"),
        (course_with(tests={"x" * 40: {}}), r"course\.tests\.x{32}: must be a test id"),
        (
            course_with(
                state={"code": "TX", "name": "T", "version": 1, "attestation": {"EN": "x"}}
            ),
            r"course\.state\.attestation\.EN: must be a language code",
        ),
        (
            course_with(state={"code": "TX", "name": "T", "version": 1, "attestation": {"en": ""}}),
            r"course\.state\.attestation\.en: must not be empty",
        ),
        (course_with(relay_url="x" * 3000), r"course\.relay_url: longer than 2000"),
        (
            course_with(school_year_starts="09/01"),
            r"course\.school_year_starts: must be a month and day",
        ),
        (
            course_with(school_year_starts="04-31"),
            r"course\.school_year_starts: must be a month and day",
        ),
        (course_with(scripts=[{"src": "a.js"}]), r"course\.scripts\[0\]\.integrity: missing"),
        (course_with(surprise=1), r"course\.surprise: unknown field"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else None,
)
def test_a_hostile_course_json_is_refused_naming_file_and_field(raw: bytes, message: str) -> None:
    with pytest.raises(CourseFileError, match=message) as caught:
        parse_course(raw, WHERE)
    assert str(caught.value).startswith(f"{WHERE}: ")
    assert isinstance(caught.value, QuietDoorError)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "Lincoln High"}, r"school\.slug: must be a slug"),
        ({"name": ""}, r"school\.name: must not be empty"),
        ({"recipients": ["AAAA"]}, r"school\.recipients\[0\]\.key: must be 32 bytes"),
        ({"recipients": "AAAA"}, r"school\.recipients: must be a list"),
        ({"keys": []}, r"school\.keys: unknown field"),
        ({"timezone": "../../etc"}, r"school\.timezone: must be an IANA time zone"),
    ],
)
def test_a_hostile_school_entry_is_refused(changes: dict[str, Any], message: str) -> None:
    data = {**json.loads(school_entry_bytes(SCHOOL)), **changes}
    with pytest.raises(CourseFileError, match=message):
        parse_school_entry(json.dumps(data).encode(), "schools/lincoln-high.json")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schools": [{"slug": "a"}]}, r"district\.schools\[0\]\.name: missing"),
        ({"schools": [{"slug": "a", "name": "A", "keys": 1}]}, r"schools\[0\]\.keys: unknown"),
        ({"slug": 3}, r"district\.slug: must be text"),
    ],
)
def test_a_hostile_district_entry_is_refused(changes: dict[str, Any], message: str) -> None:
    data = {**json.loads(district_entry_bytes(DISTRICT)), **changes}
    with pytest.raises(CourseFileError, match=message):
        parse_district_entry(json.dumps(data).encode(), "districts/riverside-unified.json")
