"""A staff member's training record: modules read, the two checks, the acknowledgment.

Anyone can seal a record to a school (the completion page is public), so it is
validated like every other payload before the roster counts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.header import Header
from quietdoor.payloads.reader import DAY_FORMAT, MAX_SHORT, Reader

MAX_MODULES = 64
MAX_SKILLS = 50
MAX_ACKNOWLEDGMENT = 2_000
MAX_STAFF_ID = 64
MAX_SECONDS = 86_400  # a day on one module is the most time on task a record may claim
MAX_ITEM_ID = 64
STATE_RE = re.compile(r"[A-Z]{2}|general")
WORDING_RE = re.compile(r"(?:[A-Z]{2}|general)\.[0-9]{1,6}")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")  # a BCP 47 code such as es
DAY = "a day such as 2026-11-28"


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    school: str
    staff_id: str = ""  # since 2.2: the school's id for the person, when they gave one


@dataclass(frozen=True)
class Answer:
    """Since 2.1: a scored item and the option chosen, by its place in the published order."""

    item: str
    chosen: int


@dataclass(frozen=True)
class ModuleRecord:
    id: str
    version: str
    score: int
    questions: int
    completed_on: str
    seconds: int | None = None  # since 2.2: time the module's page was in view, as measured

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "score": self.score,
            "questions": self.questions,
            "completed_on": self.completed_on,
        }
        if self.seconds is not None:
            out["seconds"] = self.seconds
        return out


@dataclass(frozen=True)
class CheckResult:
    """The check before the course or the final check: first complete attempt of the cycle."""

    score: int
    questions: int
    taken_on: str
    skills_right: tuple[str, ...] = ()
    answers: tuple[Answer, ...] | None = None  # None before 2.1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": self.score,
            "questions": self.questions,
            "taken_on": self.taken_on,
            "skills_right": list(self.skills_right),
        }
        if self.answers is not None:
            out["answers"] = [{"item": a.item, "chosen": a.chosen} for a in self.answers]
        return out


@dataclass(frozen=True)
class Acknowledgment:
    """The staff member's own words: they completed the course and know how to report."""

    text: str
    on: str


@dataclass(frozen=True)
class Attestation:
    """The dated statement the course shows and the person ticks, in the state's wording."""

    text: str
    on: str
    wording: str = ""  # since 2.3: the state rules it came from and their version, "FL.2"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "on": self.on} | (
            {"wording": self.wording} if self.wording else {}
        )


@dataclass(frozen=True)
class Training:
    header: Header
    person: Person
    modules: tuple[ModuleRecord, ...]
    state: str = ""  # the state rules the course showed: a postal code, "general", or ""
    pre: CheckResult | None = None
    post: CheckResult | None = None  # the final check's first attempt
    post_passed: CheckResult | None = None  # since 2.2: its first passing attempt
    acknowledgment: Acknowledgment | None = None
    attestation: Attestation | None = None  # since 2.2: the state's wording, dated
    course_version: str = ""  # since 2.2: the course.json version the person took
    language: str = ""  # since 2.4: the course's language the record was sent from ("es")
    # The throwaway X25519 key the record is sealed to; its case id is record_id(record_pk).
    # None in version 1.
    record_pk: bytes | None = None

    def body(self) -> dict[str, Any]:
        p = self.person
        body: dict[str, Any] = {
            "person": {"name": p.name, "role": p.role, "school": p.school}
            | ({"staff_id": p.staff_id} if p.staff_id else {}),
            "modules": [m.to_json() for m in self.modules],
        }
        if self.record_pk is not None:
            body["record_pk"] = b64u_encode(self.record_pk)
        if self.state:
            body["state"] = self.state
        if self.pre is not None:
            body["pre"] = self.pre.to_json()
        if self.post is not None:
            body["post"] = self.post.to_json()
        if self.post_passed is not None:
            body["post_passed"] = self.post_passed.to_json()
        if self.acknowledgment is not None:
            body["acknowledgment"] = {
                "text": self.acknowledgment.text,
                "on": self.acknowledgment.on,
            }
        if self.attestation is not None:
            body["attestation"] = self.attestation.to_json()
        if self.course_version:
            body["course_version"] = self.course_version
        if self.language:
            body["language"] = self.language
        return body


def read_training(r: Reader, header: Header) -> tuple[Training, tuple[str, ...]]:
    p = r.table("person")
    person = Person(
        name=p.text("name", MAX_SHORT, empty=False),
        role=p.text("role", MAX_SHORT),
        school=p.slug("school"),
        staff_id=p.text("staff_id", MAX_STAFF_ID, empty=False) if "staff_id" in p.obj else "",
    )
    p.only(("name", "role", "school", "staff_id"))
    if person.school != header.school:
        raise p.fail("school", "must be the school the record is sealed for")
    modules = []
    for m in r.tables("modules", MAX_MODULES):
        modules.append(
            ModuleRecord(
                id=m.text("id", MAX_SHORT, empty=False),
                version=m.text("version", MAX_SHORT),
                score=m.count("score", 1000),
                questions=m.count("questions", 1000),
                completed_on=m.moment("completed_on", DAY_FORMAT, DAY),
                seconds=m.count("seconds", MAX_SECONDS) if "seconds" in m.obj else None,
            )
        )
        m.only(("id", "version", "score", "questions", "completed_on", "seconds"))
    # Optional fields: absent is fine; present, they must be right.
    present = r.obj.keys()
    training = Training(
        header=header,
        person=person,
        modules=tuple(modules),
        state=r.pattern("state", STATE_RE, "a state's postal code or general")
        if "state" in present
        else "",
        pre=_check_result(r.table("pre")) if "pre" in present else None,
        post=_check_result(r.table("post")) if "post" in present else None,
        post_passed=_check_result(r.table("post_passed")) if "post_passed" in present else None,
        acknowledgment=_acknowledgment(r.table("acknowledgment"))
        if "acknowledgment" in present
        else None,
        attestation=_attestation(r.table("attestation")) if "attestation" in present else None,
        course_version=r.text("course_version", MAX_SHORT, empty=False)
        if "course_version" in present
        else "",
        language=r.pattern("language", LANGUAGE_RE, "a language code such as en or es")
        if "language" in present
        else "",
        record_pk=r.binary("record_pk", 32) if header.version >= 2 else None,
    )
    bound = ("record_pk",) if header.version >= 2 else ()
    fields = (
        "person",
        "modules",
        "state",
        "pre",
        "post",
        "post_passed",
        "acknowledgment",
        "attestation",
        "course_version",
        "language",
    )
    return training, (*fields, *bound)


def _check_result(r: Reader) -> CheckResult:
    skills = r.field("skills_right")
    if (
        not isinstance(skills, list)
        or len(skills) > MAX_SKILLS
        or not all(isinstance(s, str) and 0 < len(s) <= 40 for s in skills)
    ):
        raise r.fail("skills_right", f"must list at most {MAX_SKILLS} skill ids")
    result = CheckResult(
        score=r.count("score", 1000),
        questions=r.count("questions", 1000),
        taken_on=r.moment("taken_on", DAY_FORMAT, DAY),
        skills_right=tuple(skills),
        answers=_answers(r) if "answers" in r.obj else None,
    )
    r.only(("score", "questions", "taken_on", "skills_right", "answers"))
    if result.answers is not None and len(result.answers) != result.questions:
        raise r.fail("answers", "must give one answer per question")
    if result.score > result.questions:
        raise r.fail("score", "must not be more than the questions")
    return result


def _answers(r: Reader) -> tuple[Answer, ...]:
    answers = []
    for a in r.tables("answers", MAX_SKILLS):
        answers.append(
            Answer(item=a.text("item", MAX_ITEM_ID, empty=False), chosen=a.count("chosen", 3))
        )
        a.only(("item", "chosen"))
    return tuple(answers)


def _attestation(r: Reader) -> Attestation:
    attestation = Attestation(
        text=r.text("text", MAX_ACKNOWLEDGMENT, empty=False),
        on=r.moment("on", DAY_FORMAT, DAY),
        wording=r.pattern("wording", WORDING_RE, "a state's code and version, such as FL.2")
        if "wording" in r.obj
        else "",
    )
    r.only(("text", "on", "wording"))
    return attestation


def _acknowledgment(r: Reader) -> Acknowledgment:
    ack = Acknowledgment(
        text=r.text("text", MAX_ACKNOWLEDGMENT, empty=False),
        on=r.moment("on", DAY_FORMAT, DAY),
    )
    r.only(("text", "on"))
    return ack
