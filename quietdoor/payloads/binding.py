"""Binding a case's messages to its code, so a relay cannot write as the student.

The relay knows every case id, and anyone can seal to a school. From version 2 a
report binds to its case id (the id is derived from the report's two public keys),
its reply key must be one its envelope is sealed to, and each update is signed with
the key whose public half is in the report. A training record binds the same way to
its throwaway key. Version-1 messages cannot be checked: readers label them.
"""

from __future__ import annotations

import nacl.exceptions
from nacl.signing import VerifyKey

from quietdoor.payloads.sealing import Payload
from quietdoor.payloads.student import Report, Update, update_signed_bytes
from quietdoor.payloads.training import Training
from quietdoor.protocol import Envelope, ProtocolError, case_id_v2, record_id

NOT_PROVABLE = "opened before version 2: origin not provable"


def check_binding(payload: Payload, envelope: Envelope, report: Report | None = None) -> bool:
    """Raise ProtocolError naming what does not bind; True if the origin is proven,
    False if it cannot be (a version-1 message, or an update in a version-1 case).

    report: the case's report, needed for an update (None for other kinds).
    """
    if isinstance(payload, Report):
        return _check_report(payload, envelope)
    if isinstance(payload, Update):
        return check_update(payload, report)
    if isinstance(payload, Training):
        return _check_training(payload, envelope)
    return True  # staff kinds: their signatures are checked on opening


def _check_report(report: Report, envelope: Envelope) -> bool:
    if report.update_pk is not None and (
        case_id_v2(report.reply_pk, report.update_pk) != report.header.case_id
    ):
        raise ProtocolError(
            "the report does not match its case id (a relay or someone else made it)"
        )
    if not envelope.sealed_to(report.reply_pk):
        raise ProtocolError("the report's reply key is not a key its envelope is sealed to")
    return report.update_pk is not None


def check_update(update: Update, report: Report | None) -> bool:
    """check_binding for an update: it needs its case's report, not its envelope."""
    if report is None:
        raise ProtocolError("an update on a case whose report is missing or unreadable")
    if report.update_pk is None:
        return False
    if update.sig is None:
        raise ProtocolError(
            "an unsigned (version-1) update in a version-2 case (a relay or someone else made it)"
        )
    signed = update_signed_bytes({**update.header.to_json(), **update.body()})
    try:
        VerifyKey(report.update_pk).verify(signed, update.sig)
    except nacl.exceptions.BadSignatureError:
        raise ProtocolError(
            "the update is not signed with its case's key (a relay or someone else made it)"
        ) from None
    return True


def _check_training(record: Training, envelope: Envelope) -> bool:
    if record.record_pk is None:
        return False
    if record_id(record.record_pk) != record.header.case_id:
        raise ProtocolError("the training record does not match its case id")
    if not envelope.sealed_to(record.record_pk):
        raise ProtocolError("the training record's key is not a key its envelope is sealed to")
    return True
