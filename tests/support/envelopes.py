"""What students and staff seal to a school: reports, updates, replies, training records."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from quietdoor import payloads, protocol
from quietdoor.config import Deployment
from quietdoor.encoding import b64u_encode


@dataclass(frozen=True)
class StudentCase:
    """A case as its student holds it: the code's keys, and what was posted to open it."""

    school: str
    keys: protocol.CaseKeys
    body: dict[str, Any]  # what POST /api/v1/cases takes
    code: str = ""  # the case code, as the page shows it

    @property
    def headers(self) -> dict[str, str]:
        """What proves the code: the case id and the auth token."""
        return {
            "x-qd-case": b64u_encode(self.keys.case_id),
            "authorization": "Bearer " + b64u_encode(self.keys.auth_token),
        }

    @property
    def case_id(self) -> str:
        return b64u_encode(self.keys.case_id)


def school_keys(deployment: Deployment, school: str) -> list[bytes]:
    return [r.x25519 for r in deployment.recipients_for(school)]


def new_case(
    deployment: Deployment,
    school: str,
    what: str = "test report",
    safe_now: str = "",
    plaintext: bytes | None = None,
    code: str | None = None,
    now: datetime | None = None,
    recipients: Sequence[bytes] | None = None,
    lang: str = "en",
) -> StudentCase:
    """A student's first report (or, with plaintext, anything an attacker cares to seal).

    recipients: the school's keys as a page would seal to them (default: the config's).
    """
    code = protocol.format_case_code(code or protocol.new_case_code())
    case = protocol.CaseKeys.derive(code)
    payload = report_payload(school, case, what, safe_now, now, lang)
    school_pks = school_keys(deployment, school) if recipients is None else list(recipients)
    keys = [*school_pks, bytes(case.reply_key.public_key)]
    data = plaintext if plaintext is not None else payloads.encode(payloads.to_json(payload))
    envelope = protocol.seal(school, data, keys)
    body = protocol.NewCase(case.case_id, case.auth_hash, envelope).to_json()
    return StudentCase(school=school, keys=case, body=body, code=code)


def update(deployment: Deployment, case: StudentCase, text: str = "more") -> dict[str, Any]:
    payload = payloads.sign_update(
        payloads.Update(
            header=payloads.Header.new("update", case.school, case.keys.case_id),
            lang="en",
            text=text,
        ),
        case.keys.update_key,
    )
    keys = [*school_keys(deployment, case.school), bytes(case.keys.reply_key.public_key)]
    return payloads.seal_payload(payload, keys).to_json()


def staff_message(
    deployment: Deployment,
    case: StudentCase,
    who: str,
    signing: SigningKey,
    text: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A reply (or, without text, a read receipt) signed by a recipient, for the case's thread."""
    kind: payloads.Kind = "reply" if text else "receipt"
    header = payloads.Header.new(kind, case.school, case.keys.case_id, now)
    signer = payloads.Signer(id=who, key=b"")
    draft: payloads.Reply | payloads.Receipt = (
        payloads.Reply(header, text, signer) if text else payloads.Receipt(header, signer)
    )
    signed = payloads.sign(draft, signing, who)
    keys = [*school_keys(deployment, case.school), bytes(case.keys.reply_key.public_key)]
    return payloads.seal_payload(signed, keys).to_json()


def relay_keys(case_id: bytes) -> protocol.CaseKeys:
    """Keys a hostile relay can make: its own, presented under a case id it knows."""
    return dataclasses.replace(protocol.CaseKeys.derive(protocol.new_case_code()), case_id=case_id)


def report_payload(
    school: str,
    case: protocol.CaseKeys,
    what: str = "test report",
    safe_now: str = "",
    now: datetime | None = None,
    lang: str = "en",
) -> payloads.Report:
    return payloads.Report(
        header=payloads.Header.new("report", school, case.case_id, now),
        lang=lang,
        reply_pk=bytes(case.reply_key.public_key),
        answers=payloads.Answers(what=what, safe_now=safe_now, more=""),
        update_pk=bytes(case.update_key.verify_key),
    )


def training_record(
    school: str,
    name: str,
    modules: Sequence[tuple[str, str, str]],
    role: str = "Teacher",
    score: int = 3,
) -> payloads.Training:
    """A staff member's completion record: (module id, version, completed on) per module.

    Bound to a throwaway key, as the course's completion page binds it.
    """
    record_pk = bytes(PrivateKey.generate().public_key)
    return payloads.Training(
        header=payloads.Header.new("training", school, protocol.record_id(record_pk)),
        person=payloads.Person(name=name, role=role, school=school),
        modules=tuple(payloads.ModuleRecord(m, v, score, 4, d) for m, v, d in modules),
        record_pk=record_pk,
    )


def sealed_training(deployment: Deployment, record: payloads.Training) -> dict[str, Any]:
    """What the course's completion page posts: a new case whose code nobody keeps."""
    school = record.header.school
    assert record.record_pk is not None, "a version-2 record names its throwaway key"
    keys = [*school_keys(deployment, school), record.record_pk]
    envelope = payloads.seal_payload(record, keys)
    return protocol.NewCase(record.header.case_id, bytes(32), envelope).to_json()
