"""What staff write: replies, read receipts and notes, each signed by its author.

The school's public keys are in every landing page, so anyone can seal a
message to a school; the Ed25519 signature is what makes it a colleague's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from nacl.signing import SigningKey, VerifyKey

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.header import Header
from quietdoor.payloads.reader import Reader
from quietdoor.protocol import ProtocolError

STATUSES = ("new", "in_progress", "referred", "closed")
DISPOSITIONS = ("", "cps", "police", "school", "no_action", "junk")
STAFF_SIGNATURE_LABEL = b"QD1-STAFF\n"
STAFF_FIELDS = ("from", "sig")


@dataclass(frozen=True)
class Signer:
    """The staff member who wrote a message: their recipient id and Ed25519 public key."""

    id: str
    key: bytes
    sig: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": b64u_encode(self.key)}


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


StaffPayload = Reply | Receipt | Note


def staff_json(payload: StaffPayload) -> dict[str, Any]:
    """The payload as a JSON object, author and signature included."""
    return {
        **payload.header.to_json(),
        **payload.body(),
        "from": payload.signer.to_json(),
        "sig": b64u_encode(payload.signer.sig),
    }


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
    sig = signing_key.sign(signed_bytes(staff_json(draft))).signature
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


def verify(obj: Mapping[str, Any], signer: Signer) -> None:
    """ProtocolError unless the signature matches the key the payload names."""
    try:
        VerifyKey(signer.key).verify(signed_bytes(obj), signer.sig)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise ProtocolError("payload.sig: the staff signature does not match") from None


def _read_signer(r: Reader) -> Signer:
    author = r.table("from")
    signer = Signer(
        id=author.slug("id"),
        key=author.binary("key", 32),
        sig=r.binary("sig", 64),
    )
    author.only(("id", "key"))
    return signer


def read_reply(r: Reader, header: Header) -> tuple[Reply, tuple[str, ...]]:
    reply = Reply(header=header, text=r.text("text", empty=False), signer=_read_signer(r))
    return reply, ("text", *STAFF_FIELDS)


def read_receipt(r: Reader, header: Header) -> tuple[Receipt, tuple[str, ...]]:
    return Receipt(header=header, signer=_read_signer(r)), STAFF_FIELDS


def read_note(r: Reader, header: Header) -> tuple[Note, tuple[str, ...]]:
    note = Note(
        header=header,
        status=r.choice("status", STATUSES),
        disposition=r.choice("disposition", DISPOSITIONS),
        text=r.text("text"),
        signer=_read_signer(r),
    )
    return note, ("status", "disposition", "text", *STAFF_FIELDS)
