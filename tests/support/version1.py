"""Cases as code before version 2 wrote them: v1 ids, v1 payloads, v1 envelopes.

For the tests that a case opened before the upgrade still opens (labelled "origin not
provable"). The old code's case id was BLAKE2b(code, 16, "qd1.case_id"), its report had
no update_pk, its updates no signature, and its envelopes said "v": 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from quietdoor import payloads, protocol
from quietdoor.config import Deployment

from .envelopes import StudentCase, school_keys


def v1_keys(code: str) -> protocol.CaseKeys:
    """The keys as the old code derived them: its case id was the v1 one."""
    keys = protocol.CaseKeys.derive(code)
    return dataclasses.replace(keys, case_id=keys.case_id_v1)


def _seal_v1(payload: payloads.Payload, recipients: list[bytes]) -> protocol.Envelope:
    return dataclasses.replace(payloads.seal_payload(payload, recipients), version=1)


def new_case_v1(deployment: Deployment, school: str, what: str, safe_now: str = "") -> StudentCase:
    code = protocol.format_case_code(protocol.new_case_code())
    keys = v1_keys(code)
    header = dataclasses.replace(payloads.Header.new("report", school, keys.case_id), version=1)
    report = payloads.Report(
        header=header,
        lang="en",
        reply_pk=bytes(keys.reply_key.public_key),
        answers=payloads.Answers(what=what, safe_now=safe_now, more=""),
    )
    envelope = _seal_v1(report, [*school_keys(deployment, school), report.reply_pk])
    body = protocol.NewCase(keys.case_id, keys.auth_hash, envelope).to_json()
    return StudentCase(school=school, keys=keys, body=body, code=code)


def update_v1(deployment: Deployment, case: StudentCase, text: str) -> dict[str, Any]:
    header = dataclasses.replace(
        payloads.Header.new("update", case.school, case.keys.case_id), version=1
    )
    update = payloads.Update(header=header, lang="en", text=text)
    keys = [*school_keys(deployment, case.school), bytes(case.keys.reply_key.public_key)]
    return _seal_v1(update, keys).to_json()
