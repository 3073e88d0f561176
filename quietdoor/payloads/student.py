"""What a student writes: the first report on a case, and the updates that follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quietdoor.encoding import b64u_encode
from quietdoor.payloads.header import Header
from quietdoor.payloads.reader import Reader

LANG_RE = re.compile(r"[a-z]{2}")
SAFE_NOW = ("yes", "no", "unsure", "")


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
    )
    return report, ("lang", "reply_pk", "answers")


def read_update(r: Reader, header: Header) -> tuple[Update, tuple[str, ...]]:
    update = Update(
        header=header,
        lang=r.pattern("lang", LANG_RE, "a two-letter language code"),
        text=r.text("text", empty=False),
    )
    return update, ("lang", "text")
