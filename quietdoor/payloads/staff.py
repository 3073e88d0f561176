"""What staff write: replies, read receipts and notes, each signed by its author.

The school's public keys are in every landing page, so anyone can seal a
message to a school; the Ed25519 signature is what makes it a colleague's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import nacl.exceptions
from nacl.signing import SigningKey, VerifyKey

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.header import MSG_ID_BYTES, Header
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
    # The msg_id of the note on the same case this one follows: b"" for the first, None
    # in version 1 (which had no chain).
    prev: bytes | None = None

    def body(self) -> dict[str, Any]:
        body = {"status": self.status, "disposition": self.disposition, "text": self.text}
        if self.prev is not None:
            body["prev"] = b64u_encode(self.prev)
        return body


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
    return STAFF_SIGNATURE_LABEL + canonical(obj)


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The payload without "sig" as canonical JSON: what every signature in a payload covers."""
    rest = {k: v for k, v in obj.items() if k != "sig"}
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def sign(payload: StaffPayload, signing_key: SigningKey, author_id: str) -> StaffPayload:
    """The payload with its Signer filled in: author id, public key and signature."""
    unsigned = Signer(id=author_id, key=bytes(signing_key.verify_key))
    draft = _with_signer(payload, unsigned)
    sig = signing_key.sign(signed_bytes(staff_json(draft))).signature
    return _with_signer(payload, Signer(id=author_id, key=unsigned.key, sig=sig))


def _with_signer(payload: StaffPayload, signer: Signer) -> StaffPayload:
    return replace(payload, signer=signer)


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
        prev=_read_prev(r) if header.version >= 2 else None,
    )
    chained = ("prev",) if header.version >= 2 else ()
    return note, ("status", "disposition", "text", *STAFF_FIELDS, *chained)


def _read_prev(r: Reader) -> bytes:
    """A note's `prev`: "" for a case's first note, else the msg_id of the note it follows."""
    return b"" if r.field("prev") == "" else r.binary("prev", MSG_ID_BYTES)
