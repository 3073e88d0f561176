"""What a student writes: the first report on a case, and the updates that follow.

From version 2 a report carries the case's Ed25519 `update_pk` (the case id is derived
from it and `reply_pk`), and every update is signed with the matching key, which only
the case code yields: a relay can neither write a report that binds to a case nor
add an update to one (docs/PROTOCOL.md, "Binding").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from nacl.signing import SigningKey

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.header import Header
from quietdoor.payloads.reader import Reader
from quietdoor.payloads.staff import canonical

LANG_RE = re.compile(r"[a-z]{2}")
SAFE_NOW = ("yes", "no", "unsure", "")
STUDENT_SIGNATURE_LABEL = b"QD2-STUDENT\n"


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
    update_pk: bytes | None = None  # the case's Ed25519 key for updates; None in version 1

    def body(self) -> dict[str, Any]:
        a = self.answers
        body = {
            "lang": self.lang,
            "reply_pk": b64u_encode(self.reply_pk),
            "answers": {"what": a.what, "safe_now": a.safe_now, "more": a.more},
        }
        if self.update_pk is not None:
            body["update_pk"] = b64u_encode(self.update_pk)
        return body


@dataclass(frozen=True)
class Update:
    header: Header
    lang: str
    text: str
    sig: bytes | None = None  # by the case's update key; None in version 1

    def body(self) -> dict[str, Any]:
        body = {"lang": self.lang, "text": self.text}
        if self.sig is not None:
            body["sig"] = b64u_encode(self.sig)
        return body


def update_signed_bytes(obj: dict[str, Any]) -> bytes:
    """What a student's signature covers: a label, then the payload without "sig"."""
    return STUDENT_SIGNATURE_LABEL + canonical(obj)


def sign_update(update: Update, signing_key: SigningKey) -> Update:
    """The update signed with the case's update key (CaseKeys.update_key)."""
    unsigned = replace(update, sig=None)
    text = update_signed_bytes({**unsigned.header.to_json(), **unsigned.body()})
    return replace(update, sig=signing_key.sign(text).signature)


def read_report(r: Reader, header: Header) -> tuple[Report, tuple[str, ...]]:
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
        update_pk=r.binary("update_pk", 32) if header.version >= 2 else None,
    )
    return report, ("lang", "reply_pk", "answers", *_since_v2(header, "update_pk"))


def read_update(r: Reader, header: Header) -> tuple[Update, tuple[str, ...]]:
    update = Update(
        header=header,
        lang=r.pattern("lang", LANG_RE, "a two-letter language code"),
        text=r.text("text", empty=False),
        sig=r.binary("sig", 64) if header.version >= 2 else None,
    )
    return update, ("lang", "text", *_since_v2(header, "sig"))


def _since_v2(header: Header, name: str) -> tuple[str, ...]:
    """A field version 2 requires and version 1 does not know (so it is refused there)."""
    return (name,) if header.version >= 2 else ()
