"""Regenerate tests/data/vectors.json, the protocol's shared test vectors.

Deterministic parts (derivations, padding, secretbox) come from fixed inputs;
sealed boxes are random by design, so they are stored with the key that opens them.
"""

from __future__ import annotations

import json
from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox

from quietdoor import protocol
from quietdoor.encoding import b64u_encode

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "vectors.json"


def main() -> None:
    codes = ["7K3M-Q9XD-2PWA-H4TB", "0000-0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"]
    cases = []
    for code in codes:
        keys = protocol.CaseKeys.derive(code)
        cases.append(
            {
                "code": code,
                "normalised": protocol.normalise_case_code(code),
                "case_id": b64u_encode(keys.case_id),
                "auth_token": b64u_encode(keys.auth_token),
                "auth_hash": b64u_encode(keys.auth_hash),
                "reply_public": b64u_encode(bytes(keys.reply_key.public_key)),
            }
        )
    typed = [
        {"typed": "7k3m q9xd 2pwa h4tb", "normalised": "7K3MQ9XD2PWAH4TB"},
        {"typed": "oooo-iiii-llll-0000", "normalised": "0000111111110000"},
    ]

    recipient = PrivateKey(bytes(range(1, 33)))
    padding = []
    for length in (0, 1, 1022, 1023, 1024, 5000):
        data = bytes((i * 7) % 256 for i in range(length))
        padding.append({"data": b64u_encode(data), "padded_length": len(protocol.pad(data))})

    payload = {
        "type": "report",
        "lang": "es",
        "written": "2026-11-28T14:05Z",
        "reply_pk": cases[0]["reply_public"],
        "answers": {"what": "Prueba: ¿está bien? 🙂", "safe_now": "unsure", "more": ""},
    }
    content_key = bytes(range(100, 132))
    nonce = bytes(range(200, 224))
    env = protocol.seal(
        "lincoln-high",
        payload,
        [bytes(recipient.public_key)],
        protocol.CaseKeys.derive(codes[0]),
        content_key=content_key,
        nonce=nonce,
    )
    sealed = SealedBox(PublicKey(bytes(recipient.public_key))).encrypt(content_key)
    vectors = {
        "cases": cases,
        "typed_codes": typed,
        "padding": padding,
        "recipient": {
            "secret": b64u_encode(bytes(recipient)),
            "public": b64u_encode(bytes(recipient.public_key)),
            "key_id": b64u_encode(protocol.key_id(bytes(recipient.public_key))),
        },
        "secretbox": {
            "payload_json": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            "key": b64u_encode(content_key),
            "nonce": b64u_encode(nonce),
            "ct": b64u_encode(env.ct),
        },
        "sealed_box": {"message": b64u_encode(content_key), "sealed": b64u_encode(sealed)},
        "envelope": env.to_json(),
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
