"""Plaintexts an attacker can seal to a school, for the tests that the key tool survives them."""

from __future__ import annotations

from typing import Any

from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_encode

from .envelopes import report_payload


def _hostile_corpus() -> dict[str, bytes]:
    """Plaintexts an attacker can seal to any school: every class the key tool must survive."""
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    good = payloads.to_json(report_payload("lincoln-high", case, "hostile"))
    text = payloads.encode(good)
    answers = good["answers"]

    def variant(drop: str = "", **changes: Any) -> bytes:
        obj = {k: v for k, v in {**good, **changes}.items() if k != drop}
        return payloads.encode(obj)

    forged_reply = {k: v for k, v in good.items() if k not in ("lang", "reply_pk", "answers")}
    forged_reply |= {
        "kind": "reply",
        "text": "This case is closed.",
        "from": {"id": "dana-ortiz", "key": b64u_encode(bytes(32))},
        "sig": b64u_encode(bytes(64)),
    }
    return {
        "deep nesting": b'{"a":' * 5000 + b"1" + b"}" * 5000,
        "deep nesting in a field": variant(
            answers={**answers, "what": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}
        ),
        "huge number": b'{"v":' + b"9" * 5000 + b"}",
        "huge float": b'{"v":1e999}',
        "NaN": b'{"v":NaN}',
        "lone surrogate": text.replace(b'"hostile"', b'"\\ud800"'),
        "duplicate key": text[:-1] + b',"kind":"note"}',
        "not UTF-8": text.replace(b"hostile", b"host\xffile"),
        "not JSON": b"hello",
        "a list": b"[1,2,3]",
        "a string": b'"report"',
        "unknown kind": variant(kind="confession"),
        "unknown field": variant(extra="x"),
        "missing field": variant(drop="answers"),
        "wrong type": variant(answers={**answers, "what": 7}),
        "wrong version": variant(v=3),
        "float version": variant(v=1.0),
        "version 2 without update_pk": variant(drop="update_pk"),
        "version 1 with update_pk": variant(v=1),
        "boolean version": variant(v=True),
        "bad case id": variant(case_id="not base64!"),
        "bad sent time": variant(sent="yesterday"),
        "bad safe_now": variant(answers={**answers, "safe_now": "maybe"}),
        "oversize string": variant(answers={**answers, "what": "x" * (payloads.MAX_TEXT + 1)}),
        "forged staff reply": payloads.encode(forged_reply),
    }


HOSTILE_PAYLOADS = _hostile_corpus()
