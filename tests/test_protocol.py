from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import nacl.secret
import pytest
from nacl.public import PrivateKey, SealedBox

from quietdoor import protocol
from quietdoor.encoding import b64u_decode, b64u_encode

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "vectors.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["code"])
def test_case_derivations_match_vectors(case: dict[str, str]) -> None:
    keys = protocol.CaseKeys.derive(case["code"])
    assert protocol.normalise_case_code(case["code"]) == case["normalised"]
    assert b64u_encode(keys.case_id) == case["case_id"]
    assert b64u_encode(keys.auth_token) == case["auth_token"]
    assert b64u_encode(keys.auth_hash) == case["auth_hash"]
    assert b64u_encode(bytes(keys.reply_key.public_key)) == case["reply_public"]


@pytest.mark.parametrize("typed", VECTORS["typed_codes"], ids=lambda t: t["typed"])
def test_typed_codes_normalise(typed: dict[str, str]) -> None:
    assert protocol.normalise_case_code(typed["typed"]) == typed["normalised"]


@pytest.mark.parametrize(
    "bad", ["", "7K3M-Q9XD-2PWA", "7K3M-Q9XD-2PWA-H4TU", "7K3M-Q9XD-2PWA-H4TB-0"]
)
def test_bad_case_codes_are_refused(bad: str) -> None:
    with pytest.raises(protocol.ProtocolError, match="16 letters and digits"):
        protocol.normalise_case_code(bad)


def test_new_case_codes_are_valid_and_distinct() -> None:
    codes = {protocol.new_case_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert protocol.normalise_case_code(protocol.format_case_code(code)) == code


def test_key_id_matches_vector() -> None:
    r = VECTORS["recipient"]
    assert b64u_encode(protocol.key_id(b64u_decode(r["public"]))) == r["key_id"]


@pytest.mark.parametrize("item", VECTORS["padding"], ids=lambda p: str(p["padded_length"]))
def test_padding_matches_vectors_and_unpads(item: dict[str, Any]) -> None:
    data = b64u_decode(item["data"])
    padded = protocol.pad(data)
    assert len(padded) == item["padded_length"]
    assert protocol.unpad(padded) == data


def test_padding_buckets_and_limit() -> None:
    assert len(protocol.pad(b"x" * 1023)) == 1024
    assert len(protocol.pad(b"x" * 1024)) == 2048
    assert len(protocol.pad(b"x" * 65535)) == 65536
    with pytest.raises(protocol.ProtocolError, match="too long"):
        protocol.pad(b"x" * 65536)
    with pytest.raises(protocol.ProtocolError, match="bad padding"):
        protocol.unpad(b"x" * 1024)


def test_secretbox_matches_vector() -> None:
    sb = VECTORS["secretbox"]
    ct = (
        nacl.secret.SecretBox(b64u_decode(sb["key"]))
        .encrypt(protocol.pad(sb["payload_json"].encode()), b64u_decode(sb["nonce"]))
        .ciphertext
    )
    assert b64u_encode(ct) == sb["ct"]


def test_libsodium_opens_vector_sealed_box() -> None:
    key = PrivateKey(b64u_decode(VECTORS["recipient"]["secret"]))
    sealed = b64u_decode(VECTORS["sealed_box"]["sealed"])
    assert SealedBox(key).decrypt(sealed) == b64u_decode(VECTORS["sealed_box"]["message"])


def test_vector_envelope_opens() -> None:
    key = PrivateKey(b64u_decode(VECTORS["recipient"]["secret"]))
    payload = protocol.open_envelope(protocol.parse_envelope(VECTORS["envelope"]), key)
    assert payload == json.loads(VECTORS["secretbox"]["payload_json"])


def sealed_for(*keys: PrivateKey, payload: dict[str, Any] | None = None) -> protocol.Envelope:
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    return protocol.seal(
        "lincoln-high",
        payload or {"type": "report", "answers": {"what": "hi"}},
        [bytes(k.public_key) for k in keys],
        case,
    )


def test_every_recipient_opens_and_outsiders_cannot() -> None:
    a, b, stranger = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    env = protocol.parse_envelope(sealed_for(a, b).to_json())
    assert protocol.open_envelope(env, a) == protocol.open_envelope(env, b)
    with pytest.raises(protocol.ProtocolError, match="not sealed to this key"):
        protocol.open_envelope(env, stranger)


@pytest.mark.parametrize("field", ["ct", "nonce", "sealed"])
def test_tampering_is_detected(field: str) -> None:
    key = PrivateKey.generate()
    env = sealed_for(key)

    def flip(data: bytes) -> bytes:
        return bytes([data[0] ^ 1]) + data[1:]

    if field == "sealed":
        k = env.keys[0]
        env = dataclasses.replace(env, keys=(dataclasses.replace(k, sealed=flip(k.sealed)),))
    else:
        env = dataclasses.replace(env, **{field: flip(getattr(env, field))})
    with pytest.raises(protocol.ProtocolError, match="cannot decrypt"):
        protocol.open_envelope(env, key)


def test_non_ascii_payload_round_trips() -> None:
    key = PrivateKey.generate()
    payload = {"type": "report", "answers": {"what": "Necesito ayuda — ñ 你好 🙂"}}
    assert protocol.open_envelope(sealed_for(key, payload=payload), key) == payload


def good_envelope() -> dict[str, Any]:
    return sealed_for(PrivateKey.generate()).to_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("nonce"), "missing field 'nonce'"),
        (lambda e: e.update(extra=1), "unknown field 'extra'"),
        (lambda e: e.update(v=2), "unsupported version 2"),
        (lambda e: e.update(v=True), "unsupported version"),
        (lambda e: e.update(school=5), "'school' must be text"),
        (lambda e: e.update(nonce=b64u_encode(b"x" * 23)), "'nonce' must be 24 bytes"),
        (lambda e: e.update(case_id="@@"), "'case_id' must be base64url"),
        (lambda e: e.update(ct=b64u_encode(b"x" * 1000)), "no padded payload"),
        (lambda e: e.update(keys=[]), "1 to 32 sealed keys"),
        (lambda e: e.update(keys=e["keys"] * 33), "1 to 32 sealed keys"),
        (lambda e: e["keys"][0].pop("to"), "exactly 'to' and 'sealed'"),
        (
            lambda e: e["keys"][0].update(sealed=b64u_encode(b"x" * 79)),
            "keys[0].sealed' must be 80 bytes",
        ),
    ],
)
def test_malformed_envelopes_name_the_problem(change: Any, message: str) -> None:
    env = good_envelope()
    change(env)
    with pytest.raises(
        protocol.ProtocolError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        protocol.parse_envelope(env)


def test_envelope_must_be_an_object() -> None:
    with pytest.raises(protocol.ProtocolError, match="JSON object"):
        protocol.parse_envelope([1, 2])


def test_auth_token_checks_against_hash() -> None:
    keys = protocol.CaseKeys.derive(protocol.new_case_code())
    assert protocol.auth_matches(keys.auth_token, keys.auth_hash)
    assert not protocol.auth_matches(b"\x00" * 32, keys.auth_hash)
