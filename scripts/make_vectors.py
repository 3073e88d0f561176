"""Regenerate tests/data/vectors.json, the protocol's shared test vectors.

Deterministic parts (derivations, padding, secretbox) come from fixed inputs;
sealed boxes are random by design, so they are stored with the key that opens them.
"""

from __future__ import annotations

import json
from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from quietdoor import payloads, protocol
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
                "case_id_v1": b64u_encode(keys.case_id_v1),
                "auth_token": b64u_encode(keys.auth_token),
                "auth_hash": b64u_encode(keys.auth_hash),
                "reply_public": b64u_encode(bytes(keys.reply_key.public_key)),
                "update_public": b64u_encode(bytes(keys.update_key.verify_key)),
            }
        )
    typed = [
        {"typed": "7k3m q9xd 2pwa h4tb", "normalised": "7K3MQ9XD2PWAH4TB"},
        {"typed": "oooo-iiii-llll-0000", "normalised": "0000111111110000"},
        {"typed": "7k3m\u2013q9xd.2pwa_h4tb\u00a0", "normalised": "7K3MQ9XD2PWAH4TB"},
        {"typed": "\ufeff7K3M\tQ9XD\u2212 2PWA  H4TB\n", "normalised": "7K3MQ9XD2PWAH4TB"},
    ]

    recipient = PrivateKey(bytes(range(1, 33)))
    padding = []
    for length in (0, 1, 1022, 1023, 1024, 5000):
        data = bytes((i * 7) % 256 for i in range(length))
        padding.append({"data": b64u_encode(data), "padded_length": len(protocol.pad(data))})

    case0 = protocol.CaseKeys.derive(codes[0])
    report = payloads.Report(
        header=payloads.Header(
            kind="report",
            school="lincoln-high",
            case_id=case0.case_id,
            msg_id=bytes(range(16)),
            sent="2026-11-28T14:05Z",
        ),
        lang="es",
        reply_pk=bytes(case0.reply_key.public_key),
        answers=payloads.Answers(what="Prueba: ¿está bien? 🙂", safe_now="unsure", more=""),
        update_pk=bytes(case0.update_key.verify_key),
    )
    payload = payloads.to_json(report)
    content_key = bytes(range(100, 132))
    nonce = bytes(range(200, 224))
    keys = [bytes(recipient.public_key), bytes(case0.reply_key.public_key)]
    env = protocol.seal(
        "lincoln-high", payloads.encode(payload), keys, content_key=content_key, nonce=nonce
    )
    sealed = SealedBox(PublicKey(bytes(recipient.public_key))).encrypt(content_key)

    staff = SigningKey(bytes(range(50, 82)))
    reply = payloads.sign(
        payloads.Reply(
            header=payloads.Header(
                kind="reply",
                school="lincoln-high",
                case_id=case0.case_id,
                msg_id=bytes(range(16, 32)),
                sent="2026-11-29T09:30Z",
            ),
            text="Gracias por escribir. ¿Estás a salvo después de clase?",
            signer=payloads.Signer(id="dana-ortiz", key=b""),
        ),
        staff,
        "dana-ortiz",
    )
    reply_json = payloads.to_json(reply)
    update = payloads.sign_update(
        payloads.Update(
            header=payloads.Header(
                kind="update",
                school="lincoln-high",
                case_id=case0.case_id,
                msg_id=bytes(range(32, 48)),
                sent="2026-11-29T10:00Z",
            ),
            lang="es",
            text="Una cosa más: fue después de clase.",
        ),
        case0.update_key,
    )
    update_json = payloads.to_json(update)
    record_key = PrivateKey(bytes(range(150, 182)))
    reply_env = payloads.seal_payload(reply, keys)
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
            "payload_json": payloads.encode(payload).decode("utf-8"),
            "key": b64u_encode(content_key),
            "nonce": b64u_encode(nonce),
            "ct": b64u_encode(env.ct),
        },
        "sealed_box": {"message": b64u_encode(content_key), "sealed": b64u_encode(sealed)},
        "envelope": env.to_json(),
        "staff_signature": {
            "seed": b64u_encode(bytes(staff)),
            "public": b64u_encode(bytes(staff.verify_key)),
            "signed_text": payloads.signed_bytes(reply_json).decode("utf-8"),
            "payload_json": payloads.encode(reply_json).decode("utf-8"),
        },
        "student_signature": {
            "seed": b64u_encode(bytes(case0.update_key)),
            "payload_json": payloads.encode(update_json).decode("utf-8"),
            "signed_text": payloads.update_signed_bytes(update_json).decode("utf-8"),
            "signature": update_json["sig"],
        },
        "training_record": {
            "record_public": b64u_encode(bytes(record_key.public_key)),
            "case_id": b64u_encode(protocol.record_id(bytes(record_key.public_key))),
        },
        "case_message": {
            "code": codes[0],
            "row": {
                "id": "0f1e2d3c4b5a69788796a5b4",
                "received": "2026-11-29",
                "author": "staff",
                "envelope": reply_env.to_json(),
            },
            "payload_json": payloads.encode(reply_json).decode("utf-8"),
        },
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
