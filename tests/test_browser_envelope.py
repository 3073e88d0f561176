"""libsodium (PyNaCl) opens what the page's envelope code seals with tweetnacl and blakejs.

node runs the built assets exactly as the page loads them (plain scripts that set
globals, in a fresh vm context), so the blakejs bundle is tested too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from nacl.bindings import crypto_box_seed_keypair
from nacl.exceptions import BadSignatureError
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from builder.assets import build_assets
from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_decode, b64u_encode

SEAL_SCRIPT = r"""
const fs = require('node:fs');
const vm = require('node:vm');
const [assetsDir, requestJson] = process.argv.slice(1);
const request = JSON.parse(requestJson);
// A fresh realm, like a page: only the Web APIs the scripts use, and arrays of its own.
const outerUtf8 = (s) => new TextEncoder().encode(s);
const page = vm.createContext({ crypto: globalThis.crypto, outerUtf8 });
vm.runInContext(`
  var self = this;
  self.TextEncoder = function () {};
  self.TextEncoder.prototype.encode = function (s) { return Uint8Array.from(outerUtf8(s)); };
`, page);
for (const name of ['nacl-fast.min.js', 'blake2b.js', 'envelope.js']) {
  vm.runInContext(fs.readFileSync(`${assetsDir}/${name}`, 'utf8'), page, { filename: name });
}
page.request = request;
// With a code: a student's update on that case; without: a new report.
const out = vm.runInContext(`
  var qd = QuietDoorEnvelope(self.nacl, self.blakejs);
  var keys = request.code && qd.deriveCase(request.code);
  var report = !keys && qd.newReport(request.school, request.lang, request.recipients,
                                     request.answers, new Date(request.now));
  JSON.stringify(keys ? { envelope: qd.newUpdate(keys, keys.caseId, request.school, request.lang,
                                                  request.recipients, request.text,
                                                  new Date(request.now)) }
                      : { code: report.caseCode, body: report.body });
`, page);
process.stdout.write(out);
"""


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, "node is needed to test the page's envelope code (see README)"
    return node


def _seal(tmp_path: Path, request: Mapping[str, object]) -> dict[str, object]:
    build_assets(tmp_path)
    result = subprocess.run(
        [_node(), "-e", SEAL_SCRIPT, str(tmp_path / "assets"), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("recipient_count", [1, 3])
def test_libsodium_opens_what_the_browser_seals(tmp_path: Path, recipient_count: int) -> None:
    keys = [PrivateKey.generate() for _ in range(recipient_count)]
    answers = {
        "what": "Someone took my phone. ¿Qué hago? 🙂\nLine two",
        "safe_now": "unsure",
        "more": "",
    }
    sealed = _seal(
        tmp_path,
        {
            "school": "lincoln-high",
            "lang": "es",
            "recipients": [b64u_encode(bytes(k.public_key)) for k in keys],
            "answers": answers,
            "now": "2026-11-28T14:05:42.500Z",
        },
    )
    body = protocol.parse_new_case(sealed["body"])
    envelope = body.envelope
    assert envelope.school == "lincoln-high"
    assert len(envelope.ct) == 1024 + 16

    case = protocol.CaseKeys.derive(str(sealed["code"]))
    assert protocol.format_case_code(str(sealed["code"])) == sealed["code"]
    assert body.case_id == case.case_id
    assert body.auth_hash == case.auth_hash
    case_pk = bytes(case.reply_key.public_key)
    assert [k.to for k in envelope.keys] == [
        protocol.key_id(pk) for pk in [*(bytes(k.public_key) for k in keys), case_pk]
    ]

    opened = [payloads.open_payload(envelope, key) for key in [*keys, case.reply_key]]
    for report in opened:
        assert isinstance(report, payloads.Report)
        payloads.check_origin(report, school="lincoln-high", case_id=case.case_id, author="public")
        assert report.header.sent == "2026-11-28T14:05Z"
        assert report.lang == "es"
        assert report.reply_pk == case_pk
        assert report.answers == payloads.Answers(**answers)
    assert len({r.header.msg_id for r in opened}) == 1
    with pytest.raises(protocol.ProtocolError):
        protocol.open_envelope(envelope, PrivateKey.generate())


def test_every_envelope_has_a_fresh_code_key_and_nonce(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    request = {
        "school": "lincoln-high",
        "lang": "en",
        "recipients": [b64u_encode(bytes(key.public_key))],
        "answers": {"what": "same words", "safe_now": "", "more": ""},
        "now": "2026-11-28T14:05:00Z",
    }
    first, second = _seal(tmp_path, request), _seal(tmp_path, request)
    assert first["code"] != second["code"]
    a, b = (protocol.parse_new_case(s["body"]).envelope for s in (first, second))
    assert a.nonce != b.nonce and a.ct != b.ct
    assert a.keys[0].sealed[:32] != b.keys[0].sealed[:32]  # a new ephemeral key per sealed box
    assert b64u_decode(b64u_encode(a.nonce)) == a.nonce


def test_javascript_vectors_pass_under_node() -> None:
    """tests/js/vectors.test.mjs checks docs/PROTOCOL.md's vectors with the page's libraries."""
    result = subprocess.run(
        [_node(), "--test", "tests/js/"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def test_libsodium_verifies_the_update_the_browser_signs(tmp_path: Path) -> None:
    """The update key and its signature, derived here from the code with hashlib and PyNaCl
    alone (docs/PROTOCOL.md), not with the core's code."""
    key = PrivateKey.generate()
    code = protocol.format_case_code(protocol.new_case_code())
    sealed = _seal(
        tmp_path,
        {
            "code": code,
            "school": "lincoln-high",
            "lang": "en",
            "recipients": [b64u_encode(bytes(key.public_key))],
            "text": "Más: 🙂",
            "now": "2026-11-28T14:05:42Z",
        },
    )
    envelope = protocol.parse_envelope(sealed["envelope"])
    payload = json.loads(protocol.open_envelope(envelope, key))
    secret = protocol.normalise_case_code(code).encode()
    update_key = SigningKey(
        hashlib.blake2b(secret, digest_size=32, person=b"qd2.update_seed").digest()
    )
    reply_pk, _ = crypto_box_seed_keypair(
        hashlib.blake2b(secret, digest_size=32, person=b"qd1.reply_seed").digest()
    )
    case_id = hashlib.blake2b(
        reply_pk + bytes(update_key.verify_key), digest_size=16, person=b"qd2.case_id"
    ).digest()
    assert (payload["v"], payload["kind"], payload["text"]) == (2, "update", "Más: 🙂")
    assert payload["case_id"] == b64u_encode(case_id)
    rest = {k: v for k, v in payload.items() if k != "sig"}
    signed = (
        b"QD2-STUDENT\n"
        + json.dumps(rest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    )
    update_key.verify_key.verify(signed, b64u_decode(payload["sig"]))
    with pytest.raises(BadSignatureError):
        SigningKey.generate().verify_key.verify(signed, b64u_decode(payload["sig"]))
