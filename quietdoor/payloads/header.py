"""The header every payload carries inside the encryption, and who may send which kind."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.reader import SENT_FORMAT, Reader
from quietdoor.protocol import CASE_ID_BYTES, VERSION, VERSIONS, ProtocolError

MSG_ID_BYTES = 16

Kind = Literal["report", "update", "reply", "receipt", "note", "training"]
Author = Literal["public", "student", "staff"]
KINDS: tuple[Kind, ...] = ("report", "update", "reply", "receipt", "note", "training")
HEADER_FIELDS = ("v", "kind", "school", "case_id", "msg_id", "sent")
# Which kinds may arrive by which route (docs/PROTOCOL.md, "Binding").
KINDS_BY_ROUTE: dict[tuple[Author, bool], frozenset[str]] = {
    ("public", True): frozenset({"report", "training"}),
    ("student", True): frozenset({"update"}),
    ("staff", True): frozenset({"reply", "receipt"}),
    ("staff", False): frozenset({"note"}),
}


@dataclass(frozen=True)
class Header:
    kind: Kind
    school: str
    case_id: bytes  # the case the message belongs to (for a note: the case it is about)
    msg_id: bytes
    sent: str  # UTC, to the minute: 2026-11-28T14:05Z
    version: int = VERSION  # 1 for a payload written before version 2

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
            "v": self.version,
            "kind": self.kind,
            "school": self.school,
            "case_id": b64u_encode(self.case_id),
            "msg_id": b64u_encode(self.msg_id),
            "sent": self.sent,
        }


def read_header(r: Reader) -> Header:
    """The header of a decoded payload; the kind and version are checked first."""
    kind = r.choice("kind", KINDS)
    version = r.field("v")
    if type(version) is not int or version not in VERSIONS:
        raise ProtocolError("payload.v: unsupported version (this code reads 1 and 2)")
    return Header(
        kind=kind,  # type: ignore[arg-type]  # one of KINDS, checked just above
        school=r.slug("school"),
        case_id=r.binary("case_id", CASE_ID_BYTES),
        msg_id=r.binary("msg_id", MSG_ID_BYTES),
        sent=r.moment("sent", SENT_FORMAT, "a UTC time such as 2026-11-28T14:05Z"),
        version=version,
    )
