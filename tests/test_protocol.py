from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import nacl.secret
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PrivateKey, SealedBox
from nacl.signing import SigningKey

from quietdoor import payloads, protocol
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


def test_vector_envelope_opens_to_the_vector_payload() -> None:
    key = PrivateKey(b64u_decode(VECTORS["recipient"]["secret"]))
    envelope = protocol.parse_envelope(VECTORS["envelope"])
    plaintext = protocol.open_envelope(envelope, key)
    assert plaintext == VECTORS["secretbox"]["payload_json"].encode("utf-8")
    report = payloads.open_payload(envelope, key)
    assert isinstance(report, payloads.Report)
    assert report.answers.safe_now == "unsure"
    assert payloads.encode(payloads.to_json(report)) == plaintext


def test_vector_case_message_opens_with_the_case_code() -> None:
    v = VECTORS["case_message"]
    case = protocol.CaseKeys.derive(v["code"])
    reply = payloads.open_payload(protocol.parse_envelope(v["row"]["envelope"]), case.reply_key)
    assert payloads.encode(payloads.to_json(reply)) == v["payload_json"].encode("utf-8")


def test_vector_staff_signature() -> None:
    v = VECTORS["staff_signature"]
    obj = json.loads(v["payload_json"])
    assert payloads.signed_bytes(obj) == v["signed_text"].encode("utf-8")
    assert v["signed_text"].startswith("QD1-STAFF\n{")
    reply = payloads.parse_payload(v["payload_json"].encode("utf-8"))
    assert isinstance(reply, payloads.Reply)
    assert b64u_encode(reply.signer.key) == v["public"]
    assert bytes(SigningKey(b64u_decode(v["seed"])).verify_key) == reply.signer.key


def sealed_for(*keys: PrivateKey, plaintext: bytes = b'{"x":1}') -> protocol.Envelope:
    return protocol.seal("lincoln-high", plaintext, [bytes(k.public_key) for k in keys])


def test_every_recipient_opens_and_outsiders_cannot() -> None:
    a, b, stranger = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    env = protocol.parse_envelope(sealed_for(a, b).to_json())
    assert protocol.open_envelope(env, a) == protocol.open_envelope(env, b) == b'{"x":1}'
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


def test_non_ascii_plaintext_round_trips() -> None:
    key = PrivateKey.generate()
    text = "Necesito ayuda — ñ 你好 🙂".encode()
    assert protocol.open_envelope(sealed_for(key, plaintext=text), key) == text


def good_envelope() -> dict[str, Any]:
    return sealed_for(PrivateKey.generate()).to_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("nonce"), "missing field 'nonce'"),
        (lambda e: e.update(extra=1), "unknown field 'extra'"),
        (lambda e: e.update(case_id="AAAA"), "unknown field 'case_id'"),
        (lambda e: e.update(v=3), "unsupported version '3'"),
        (lambda e: e.update(v=True), "unsupported version"),
        (lambda e: e.update(v=1.0), "unsupported version"),
        (lambda e: e.update(school=5), "'school' must be a school's slug"),
        (lambda e: e.update(school="Lincoln High"), "'school' must be a school's slug"),
        (lambda e: e.update(school="lincoln-high\n"), "'school' must be a school's slug"),
        (lambda e: e.update(nonce=b64u_encode(b"x" * 23)), "'nonce' must be 24 bytes"),
        (lambda e: e.update(nonce="@@"), "'nonce' must be base64url"),
        (lambda e: e.update(ct=b64u_encode(b"x" * 1000)), "no padded payload"),
        (lambda e: e.update(keys=[]), "1 to 33 sealed keys"),
        (lambda e: e.update(keys=e["keys"] * 34), "1 to 33 sealed keys"),
        (lambda e: e.update(keys=e["keys"] * 2), "the same key twice"),
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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("auth_hash"), "missing field 'auth_hash'"),
        (lambda c: c.update(case_id=b64u_encode(b"x" * 15)), "'case_id' must be 16 bytes"),
        (lambda c: c.update(envelope=[]), "the envelope must be a JSON object"),
        (lambda c: c.update(more=1), "unknown field 'more'"),
    ],
)
def test_malformed_new_cases_name_the_problem(change: Any, message: str) -> None:
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    body = protocol.NewCase(case.case_id, case.auth_hash, sealed_for(PrivateKey.generate()))
    obj = body.to_json()
    assert protocol.parse_new_case(obj) == body
    change(obj)
    with pytest.raises(protocol.ProtocolError, match=message):
        protocol.parse_new_case(obj)


def test_a_parsed_envelope_keeps_its_canonical_text() -> None:
    """What the relay stores is the one canonical text, however the client ordered it."""
    built = sealed_for(PrivateKey.generate())
    shuffled = dict(reversed(list(built.to_json().items())))
    parsed = protocol.parse_envelope(shuffled)
    assert parsed.canonical() == built.canonical()
    assert json.loads(parsed.canonical()) == built.to_json()


def test_envelope_must_be_an_object() -> None:
    with pytest.raises(protocol.ProtocolError, match="JSON object"):
        protocol.parse_envelope([1, 2])


def test_auth_token_checks_against_hash() -> None:
    keys = protocol.CaseKeys.derive(protocol.new_case_code())
    assert protocol.auth_matches(keys.auth_token, keys.auth_hash)
    assert not protocol.auth_matches(b"\x00" * 32, keys.auth_hash)


@given(st.text(alphabet=protocol.CASE_ALPHABET, min_size=16, max_size=16))
def test_formatted_codes_normalise_back(code: str) -> None:
    formatted = protocol.format_case_code(code)
    assert len(formatted) == 19 and formatted.count("-") == 3
    assert protocol.normalise_case_code(formatted) == code


LOOK_ALIKES = {"0": "oO", "1": "iIlL"}


@given(
    st.text(alphabet=protocol.CASE_ALPHABET, min_size=16, max_size=16),
    st.data(),
)
def test_what_a_student_types_still_works(code: str, data: st.DataObject) -> None:
    """Lower case, spaces, dashes and look-alike letters anywhere still give the same code."""
    typed = ""
    for char in code:
        choices = [char, char.lower(), *LOOK_ALIKES.get(char, "")]
        typed += data.draw(st.sampled_from(choices))
        typed += data.draw(st.sampled_from(["", "", " ", "-", "  ", "\u2013", ".", "_", "\u00a0"]))
    assert protocol.normalise_case_code(typed) == code
    assert protocol.CaseKeys.derive(typed).case_id == protocol.CaseKeys.derive(code).case_id


@given(st.text(max_size=40))
def test_anything_else_is_refused_or_a_valid_code(text: str) -> None:
    try:
        code = protocol.normalise_case_code(text)
    except protocol.ProtocolError:
        return
    assert len(code) == 16 and set(code) <= set(protocol.CASE_ALPHABET)
