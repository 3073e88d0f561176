"""What is inside an envelope: one typed definition per kind of message, checked on opening.

The school's public keys are in every landing page, so anyone can seal any
plaintext to a school. Every reader (the key tool, the desk, the roster) goes
through `open_payload`, which parses the JSON within limits and validates it
into one of the types below, or raises ProtocolError naming the field at fault.

Every payload carries the same header, inside the encryption: its kind, its
school, its case, a random message id and the minute it was written. A reader
compares the header with what the relay says about the envelope (`check_origin`),
so a relay cannot move a message to another school or case, present one kind as
another, or replay it unnoticed (the message id repeats). Messages from staff are
also signed with the author's Ed25519 key, so that nobody who merely knows the
school's public keys can write in a colleague's name.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import nacl.exceptions
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

from quietdoor import strictjson
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.protocol import (
    CASE_ID_BYTES,
    MAX_BUCKET,
    SLUG_RE,
    VERSION,
    Envelope,
    ProtocolError,
    open_envelope,
    seal,
)

MSG_ID_BYTES = 16
MAX_TEXT = 20_000  # characters of one free-text answer, reply or note
MAX_SHORT = 200  # a name, a role, a module id or version
MAX_MODULES = 64
MAX_SKILLS = 50
MAX_ACKNOWLEDGMENT = 2_000
STATE_RE = re.compile(r"[A-Z]{2}|general")
SENT_FORMAT = "%Y-%m-%dT%H:%MZ"
DAY_FORMAT = "%Y-%m-%d"
LANG_RE = re.compile(r"[a-z]{2}")
SAFE_NOW = ("yes", "no", "unsure", "")
STATUSES = ("new", "in_progress", "referred", "closed")
DISPOSITIONS = ("", "cps", "police", "school", "no_action", "junk")
STAFF_SIGNATURE_LABEL = b"QD1-STAFF\n"

Kind = Literal["report", "update", "reply", "receipt", "note", "training"]
Author = Literal["public", "student", "staff"]
HEADER_FIELDS = ("v", "kind", "school", "case_id", "msg_id", "sent")
STAFF_FIELDS = ("from", "sig")


@dataclass(frozen=True)
class Header:
    kind: Kind
    school: str
    case_id: bytes  # the case the message belongs to (for a note: the case it is about)
    msg_id: bytes
    sent: str  # UTC, to the minute: 2026-11-28T14:05Z

    @classmethod
    def new(cls, kind: Kind, school: str, case_id: bytes, now: datetime | None = None) -> Header:
        moment = now if now is not None else datetime.now(UTC)
        return cls(
            kind=kind,
            school=school,
            case_id=case_id,
            msg_id=secrets.token_bytes(MSG_ID_BYTES),
            sent=moment.astimezone(UTC).strftime(SENT_FORMAT),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "kind": self.kind,
            "school": self.school,
            "case_id": b64u_encode(self.case_id),
            "msg_id": b64u_encode(self.msg_id),
            "sent": self.sent,
        }


@dataclass(frozen=True)
class Signer:
    """The staff member who wrote a message: their recipient id and Ed25519 public key."""

    id: str
    key: bytes
    sig: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": b64u_encode(self.key)}


@dataclass(frozen=True)
class Answers:
    what: str
    safe_now: str  # one of SAFE_NOW
    more: str


@dataclass(frozen=True)
class Report:
    header: Header
    lang: str
    reply_pk: bytes  # the case's X25519 reply key: staff seal replies to it
    answers: Answers

    def body(self) -> dict[str, Any]:
        a = self.answers
        return {
            "lang": self.lang,
            "reply_pk": b64u_encode(self.reply_pk),
            "answers": {"what": a.what, "safe_now": a.safe_now, "more": a.more},
        }


@dataclass(frozen=True)
class Update:
    header: Header
    lang: str
    text: str

    def body(self) -> dict[str, Any]:
        return {"lang": self.lang, "text": self.text}


@dataclass(frozen=True)
class Reply:
    header: Header
    text: str
    signer: Signer

    def body(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True)
class Receipt:
    """The school has opened the case; the student sees "Read by the school on <day>"."""

    header: Header
    signer: Signer

    def body(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Note:
    """Staff only: a case's status, disposition or a private note, shared with colleagues."""

    header: Header
    status: str  # one of STATUSES
    disposition: str  # one of DISPOSITIONS
    text: str
    signer: Signer

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "disposition": self.disposition, "text": self.text}


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    school: str


@dataclass(frozen=True)
class ModuleRecord:
    id: str
    version: str
    score: int
    questions: int
    completed_on: str


@dataclass(frozen=True)
class CheckResult:
    """The check before the course or the final check: first complete attempt of the cycle."""

    score: int
    questions: int
    taken_on: str
    skills_right: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "questions": self.questions,
            "taken_on": self.taken_on,
            "skills_right": list(self.skills_right),
        }


@dataclass(frozen=True)
class Acknowledgment:
    """The staff member's own words: they completed the course and know how to report."""

    text: str
    on: str


@dataclass(frozen=True)
class Training:
    header: Header
    person: Person
    modules: tuple[ModuleRecord, ...]
    state: str = ""  # the state rules the course showed: a postal code, "general", or ""
    pre: CheckResult | None = None
    post: CheckResult | None = None
    acknowledgment: Acknowledgment | None = None

    def body(self) -> dict[str, Any]:
        p = self.person
        body: dict[str, Any] = {
            "person": {"name": p.name, "role": p.role, "school": p.school},
            "modules": [
                {
                    "id": m.id,
                    "version": m.version,
                    "score": m.score,
                    "questions": m.questions,
                    "completed_on": m.completed_on,
                }
                for m in self.modules
            ],
        }
        if self.state:
            body["state"] = self.state
        if self.pre is not None:
            body["pre"] = self.pre.to_json()
        if self.post is not None:
            body["post"] = self.post.to_json()
        if self.acknowledgment is not None:
            body["acknowledgment"] = {
                "text": self.acknowledgment.text,
                "on": self.acknowledgment.on,
            }
        return body


Payload = Report | Update | Reply | Receipt | Note | Training
StaffPayload = Reply | Receipt | Note
STAFF_KINDS = frozenset({"reply", "receipt", "note"})
# Which kinds may arrive by which route (docs/PROTOCOL.md, "Binding").
KINDS_BY_ROUTE: dict[tuple[Author, bool], frozenset[str]] = {
    ("public", True): frozenset({"report", "training"}),
    ("student", True): frozenset({"update"}),
    ("staff", True): frozenset({"reply", "receipt"}),
    ("staff", False): frozenset({"note"}),
}


# --- writing ------------------------------------------------------------------


def to_json(payload: Payload) -> dict[str, Any]:
    """The payload as a JSON object, signature included for staff kinds."""
    obj = {**payload.header.to_json(), **payload.body()}
    if isinstance(payload, Reply | Receipt | Note):
        obj["from"] = payload.signer.to_json()
        obj["sig"] = b64u_encode(payload.signer.sig)
    return obj


def encode(obj: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON, no spaces, non-ASCII written as itself (what JSON.stringify writes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed_bytes(obj: Mapping[str, Any]) -> bytes:
    """What a staff signature covers: a label, then the payload without "sig" as canonical JSON.

    Canonical: keys sorted, no spaces, non-ASCII as itself, no floats (RFC 8785 for
    the values this protocol uses).
    """
    rest = {k: v for k, v in obj.items() if k != "sig"}
    text = json.dumps(rest, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return STAFF_SIGNATURE_LABEL + text.encode("utf-8")


def sign(payload: StaffPayload, signing_key: SigningKey, author_id: str) -> StaffPayload:
    """The payload with its Signer filled in: author id, public key and signature."""
    unsigned = Signer(id=author_id, key=bytes(signing_key.verify_key))
    draft = _with_signer(payload, unsigned)
    sig = signing_key.sign(signed_bytes(to_json(draft))).signature
    return _with_signer(payload, Signer(id=author_id, key=unsigned.key, sig=sig))


def _with_signer(payload: StaffPayload, signer: Signer) -> StaffPayload:
    if isinstance(payload, Reply):
        return Reply(header=payload.header, text=payload.text, signer=signer)
    if isinstance(payload, Receipt):
        return Receipt(header=payload.header, signer=signer)
    return Note(
        header=payload.header,
        status=payload.status,
        disposition=payload.disposition,
        text=payload.text,
        signer=signer,
    )


def seal_payload(payload: Payload, recipients: Sequence[bytes]) -> Envelope:
    return seal(payload.header.school, encode(to_json(payload)), recipients)


# --- reading ------------------------------------------------------------------


def open_payload(envelope: Envelope, private_key: PrivateKey) -> Payload:
    """Decrypt, parse within limits and validate; ProtocolError names what is wrong.

    A staff payload's signature is checked against the key it names; whether that
    key belongs to a colleague is for the reader to decide (see `Signer.key`).
    """
    payload = parse_payload(open_envelope(envelope, private_key))
    if payload.header.school != envelope.school:
        raise ProtocolError(
            f"sealed for school {payload.header.school!r} but sent as {envelope.school!r}"
        )
    return payload


def parse_payload(plaintext: bytes) -> Payload:
    try:
        obj = strictjson.loads(plaintext, max_bytes=MAX_BUCKET)
    except strictjson.JSONError as exc:
        raise ProtocolError(f"the payload is not acceptable JSON: {exc}") from None
    r = _Reader(obj, "payload")
    kind = r.choice("kind", tuple(_PARSERS))
    if r.field("v") != VERSION or isinstance(r.field("v"), bool):
        raise ProtocolError(f"payload.v: unsupported version (this code reads {VERSION})")
    header = Header(
        kind=kind,  # type: ignore[arg-type]  # checked against _PARSERS just above
        school=r.slug("school"),
        case_id=r.binary("case_id", CASE_ID_BYTES),
        msg_id=r.binary("msg_id", MSG_ID_BYTES),
        sent=r.moment("sent", SENT_FORMAT, "a UTC time such as 2026-11-28T14:05Z"),
    )
    payload, fields = _PARSERS[kind](r, header)
    r.only(HEADER_FIELDS + fields)
    if isinstance(payload, Reply | Receipt | Note):
        _verify(obj, payload.signer)
    return payload


def check_origin(payload: Payload, *, school: str, case_id: bytes | None, author: Author) -> None:
    """Refuse a payload whose header disagrees with what the relay says about it.

    case_id is the case the relay filed the message under (None for staff notes,
    which the relay keeps apart from every case).
    """
    allowed = KINDS_BY_ROUTE.get((author, case_id is not None), frozenset())
    if payload.header.kind not in allowed:
        where = "a case" if case_id is not None else "no case"
        raise ProtocolError(
            f"a {payload.header.kind} cannot arrive from {author} under {where}: the relay "
            "or the sender is not following the protocol"
        )
    if payload.header.school != school:
        raise ProtocolError(f"written for school {payload.header.school!r}, served as {school!r}")
    if case_id is not None and payload.header.case_id != case_id:
        raise ProtocolError("written for another case than the one the relay filed it under")


def _verify(obj: Mapping[str, Any], signer: Signer) -> None:
    try:
        VerifyKey(signer.key).verify(signed_bytes(obj), signer.sig)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise ProtocolError("payload.sig: the staff signature does not match") from None


class _Reader:
    """Typed access to a decoded payload, raising ProtocolError that names the field."""

    def __init__(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise ProtocolError(f"{where} must be a JSON object")
        self.obj: dict[str, Any] = obj
        self.where = where

    def field(self, name: str) -> Any:
        if name not in self.obj:
            raise ProtocolError(f"{self.where}.{name}: missing")
        return self.obj[name]

    def fail(self, name: str, problem: str) -> ProtocolError:
        return ProtocolError(f"{self.where}.{name}: {problem}")

    def only(self, names: Sequence[str]) -> None:
        for extra in sorted(set(self.obj) - set(names)):
            raise self.fail(extra[:32], "unknown field")

    def text(self, name: str, limit: int = MAX_TEXT, *, empty: bool = True) -> str:
        value = self.field(name)
        if not isinstance(value, str):
            raise self.fail(name, "must be text")
        if len(value) > limit:
            raise self.fail(name, f"longer than {limit} characters")
        if not empty and not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    def choice(self, name: str, options: Sequence[str]) -> str:
        value = self.field(name)
        if not isinstance(value, str) or value not in options:
            raise self.fail(name, f"must be one of {', '.join(repr(o) for o in options)}")
        return value

    def pattern(self, name: str, regex: re.Pattern[str], description: str) -> str:
        value = self.text(name, MAX_SHORT)
        if not regex.fullmatch(value):
            raise self.fail(name, f"must be {description}")
        return value

    def moment(self, name: str, fmt: str, description: str) -> str:
        """A time or day written exactly as fmt writes it (zero-padded), and a real one."""
        value = self.text(name, MAX_SHORT)
        try:
            valid = datetime.strptime(value, fmt).strftime(fmt) == value
        except ValueError:
            valid = False
        if not valid:
            raise self.fail(name, f"must be {description}")
        return value

    def slug(self, name: str) -> str:
        return self.pattern(name, SLUG_RE, "a slug (lowercase letters, digits, hyphens)")

    def binary(self, name: str, size: int) -> bytes:
        value = self.field(name)
        try:
            raw = b64u_decode(value)
        except ValueError:
            raise self.fail(name, "must be base64url without padding") from None
        if len(raw) != size:
            raise self.fail(name, f"must be {size} bytes")
        return raw

    def count(self, name: str, high: int) -> int:
        value = self.field(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
            raise self.fail(name, f"must be a whole number from 0 to {high}")
        return value

    def table(self, name: str) -> _Reader:
        return _Reader(self.field(name), f"{self.where}.{name}")

    def tables(self, name: str, limit: int) -> list[_Reader]:
        value = self.field(name)
        if not isinstance(value, list) or len(value) > limit:
            raise self.fail(name, f"must be a list of at most {limit} objects")
        return [_Reader(item, f"{self.where}.{name}[{i}]") for i, item in enumerate(value)]

    def signer(self) -> Signer:
        author = self.table("from")
        signer = Signer(
            id=author.slug("id"),
            key=author.binary("key", 32),
            sig=self.binary("sig", 64),
        )
        author.only(("id", "key"))
        return signer


ParseResult = tuple[Payload, tuple[str, ...]]


def _report(r: _Reader, header: Header) -> ParseResult:
    a = r.table("answers")
    answers = Answers(
        what=a.text("what"), safe_now=a.choice("safe_now", SAFE_NOW), more=a.text("more")
    )
    a.only(("what", "safe_now", "more"))
    report = Report(
        header=header,
        lang=r.pattern("lang", LANG_RE, "a two-letter language code"),
        reply_pk=r.binary("reply_pk", 32),
        answers=answers,
    )
    return report, ("lang", "reply_pk", "answers")


def _update(r: _Reader, header: Header) -> ParseResult:
    update = Update(
        header=header,
        lang=r.pattern("lang", LANG_RE, "a two-letter language code"),
        text=r.text("text", empty=False),
    )
    return update, ("lang", "text")


def _reply(r: _Reader, header: Header) -> ParseResult:
    return Reply(header=header, text=r.text("text", empty=False), signer=r.signer()), (
        "text",
        *STAFF_FIELDS,
    )


def _receipt(r: _Reader, header: Header) -> ParseResult:
    return Receipt(header=header, signer=r.signer()), STAFF_FIELDS


def _note(r: _Reader, header: Header) -> ParseResult:
    note = Note(
        header=header,
        status=r.choice("status", STATUSES),
        disposition=r.choice("disposition", DISPOSITIONS),
        text=r.text("text"),
        signer=r.signer(),
    )
    return note, ("status", "disposition", "text", *STAFF_FIELDS)


def _training(r: _Reader, header: Header) -> ParseResult:
    p = r.table("person")
    person = Person(
        name=p.text("name", MAX_SHORT, empty=False),
        role=p.text("role", MAX_SHORT),
        school=p.slug("school"),
    )
    p.only(("name", "role", "school"))
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
                completed_on=m.moment("completed_on", DAY_FORMAT, "a day such as 2026-11-28"),
            )
        )
        m.only(("id", "version", "score", "questions", "completed_on"))
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
        acknowledgment=_acknowledgment(r.table("acknowledgment"))
        if "acknowledgment" in present
        else None,
    )
    return training, ("person", "modules", "state", "pre", "post", "acknowledgment")


def _check_result(r: _Reader) -> CheckResult:
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
        taken_on=r.moment("taken_on", DAY_FORMAT, "a day such as 2026-11-28"),
        skills_right=tuple(skills),
    )
    r.only(("score", "questions", "taken_on", "skills_right"))
    if result.score > result.questions:
        raise r.fail("score", "must not be more than the questions")
    return result


def _acknowledgment(r: _Reader) -> Acknowledgment:
    ack = Acknowledgment(
        text=r.text("text", MAX_ACKNOWLEDGMENT, empty=False),
        on=r.moment("on", DAY_FORMAT, "a day such as 2026-11-28"),
    )
    r.only(("text", "on"))
    return ack


_PARSERS = {
    "report": _report,
    "update": _update,
    "reply": _reply,
    "receipt": _receipt,
    "note": _note,
    "training": _training,
}
