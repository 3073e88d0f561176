"""Any payload to and from an envelope: written as JSON, sealed, opened, parsed and checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nacl.public import PrivateKey

from quietdoor import strictjson
from quietdoor.payloads.header import HEADER_FIELDS, KINDS_BY_ROUTE, Author, Header, read_header
from quietdoor.payloads.reader import Reader
from quietdoor.payloads.staff import (
    Note,
    Receipt,
    Reply,
    read_note,
    read_receipt,
    read_reply,
    staff_json,
    verify,
)
from quietdoor.payloads.student import Report, Update, read_report, read_update
from quietdoor.payloads.training import Training, read_training
from quietdoor.protocol import MAX_BUCKET, Envelope, ProtocolError, open_envelope, seal

Payload = Report | Update | Reply | Receipt | Note | Training
_PARSERS: dict[str, Callable[[Reader, Header], tuple[Payload, tuple[str, ...]]]] = {
    "report": read_report,
    "update": read_update,
    "reply": read_reply,
    "receipt": read_receipt,
    "note": read_note,
    "training": read_training,
}


def to_json(payload: Payload) -> dict[str, Any]:
    """The payload as a JSON object, signature included for staff kinds."""
    if isinstance(payload, Reply | Receipt | Note):
        return staff_json(payload)
    return {**payload.header.to_json(), **payload.body()}


def encode(obj: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON, no spaces, non-ASCII written as itself (what JSON.stringify writes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal_payload(payload: Payload, recipients: Sequence[bytes]) -> Envelope:
    return seal(payload.header.school, encode(to_json(payload)), recipients)


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
    r = Reader(obj, "payload")
    header = read_header(r)
    payload, fields = _PARSERS[header.kind](r, header)
    r.only(HEADER_FIELDS + fields)
    if isinstance(payload, Reply | Receipt | Note):
        verify(obj, payload.signer)
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
