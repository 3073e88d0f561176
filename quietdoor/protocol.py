"""The envelope format of docs/PROTOCOL.md: case codes, derivations, padding, sealing.

Only libsodium (through PyNaCl) does cryptography here; this module composes it.
The browser client (site/js/envelope.js) implements the same steps with tweetnacl
and blakejs, and both are held to the vectors in tests/data/vectors.json.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.errors import QuietDoorError

VERSION = 2  # what every writer writes
VERSIONS = (1, 2)  # what readers accept: 1 was written by code before version 2
CASE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CASE_CODE_CHARS = 16  # 80 bits
MIN_BUCKET = 1024
MAX_BUCKET = 64 * 1024
MAX_KEYS = 33  # up to 32 staff recipients, plus the case's own key
CASE_ID_BYTES = 16
SEALED_KEY_BYTES = 32 + 32 + 16  # ephemeral public key, content key, MAC
KEY_ID_BYTES = 8

PERSON_CASE_ID = b"qd1.case_id"
PERSON_AUTH = b"qd1.auth"
PERSON_AUTH_HASH = b"qd1.auth_hash"
PERSON_REPLY_SEED = b"qd1.reply_seed"
PERSON_KEY_ID = b"qd1.key_id"
PERSON_UPDATE_SEED = b"qd2.update_seed"
PERSON_CASE_ID_V2 = b"qd2.case_id"
PERSON_RECORD_ID = b"qd2.record_id"

ENVELOPE_FIELDS = frozenset({"v", "school", "nonce", "ct", "keys"})
NEW_CASE_FIELDS = frozenset({"case_id", "auth_hash", "envelope"})
URGENT_HEADER = "X-QD-Urgent"  # "1" beside a new case: the student is not safe now (opt-in)
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")  # schools, districts, people


class ProtocolError(QuietDoorError):
    """An envelope, case code or payload that does not follow docs/PROTOCOL.md."""


def blake2b(data: bytes, size: int, person: bytes) -> bytes:
    """BLAKE2b with a personalisation (zero-padded to 16 bytes, as libsodium does)."""
    return hashlib.blake2b(data, digest_size=size, person=person).digest()


# --- case codes -------------------------------------------------------------


def new_case_code() -> str:
    return "".join(secrets.choice(CASE_ALPHABET) for _ in range(CASE_CODE_CHARS))


# What a student may type between the characters (docs/PROTOCOL.md, "Case codes"): the
# white space JavaScript's \\s matches (listed, so Python and JS agree), dashes, dots and
# underscores.
_CODE_SEPARATORS = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
    "\\-\u2010-\u2015\u2212._]"
)


def normalise_case_code(text: str) -> str:
    """Accept what a student types: any case, spaces or dashes, O for 0, I or L for 1.

    Only ASCII letters and digits count: a non-ASCII letter is refused before upper-casing,
    since Unicode upper-casing turns some (the dotless i, the long s) into ASCII ones.
    """
    cleaned = _CODE_SEPARATORS.sub("", text)
    if not cleaned.isascii():
        raise ProtocolError("a case code has only the letters A to Z and digits")
    cleaned = cleaned.upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) != CASE_CODE_CHARS or any(c not in CASE_ALPHABET for c in cleaned):
        raise ProtocolError("a case code has 16 letters and digits, like 7K3M-Q9XD-2PWA-H4TB")
    return cleaned


def format_case_code(code: str) -> str:
    code = normalise_case_code(code)
    return "-".join(code[i : i + 4] for i in range(0, CASE_CODE_CHARS, 4))


@dataclass(frozen=True)
class CaseKeys:
    """Everything derived from a case code; the relay only ever sees case_id and auth_hash.

    case_id (version 2) is derived from the case's two public keys, so a relay that knows
    it still cannot write a report that binds to it; case_id_v1 names cases opened before.
    """

    case_id: bytes
    case_id_v1: bytes
    auth_token: bytes
    auth_hash: bytes
    reply_key: PrivateKey
    update_key: SigningKey

    @classmethod
    def derive(cls, code: str) -> CaseKeys:
        secret = normalise_case_code(code).encode("ascii")
        token = blake2b(secret, 32, PERSON_AUTH)
        reply_key = PrivateKey.from_seed(blake2b(secret, 32, PERSON_REPLY_SEED))
        update_key = SigningKey(blake2b(secret, 32, PERSON_UPDATE_SEED))
        return cls(
            case_id=case_id_v2(bytes(reply_key.public_key), bytes(update_key.verify_key)),
            case_id_v1=blake2b(secret, CASE_ID_BYTES, PERSON_CASE_ID),
            auth_token=token,
            auth_hash=auth_hash(token),
            reply_key=reply_key,
            update_key=update_key,
        )


def case_id_v2(reply_pk: bytes, update_pk: bytes) -> bytes:
    """A version-2 case id: bound to the case's public keys, which only the code yields."""
    return blake2b(reply_pk + update_pk, CASE_ID_BYTES, PERSON_CASE_ID_V2)


def record_id(record_pk: bytes) -> bytes:
    """A training record's case id: bound to the throwaway key its envelope is sealed to."""
    return blake2b(record_pk, CASE_ID_BYTES, PERSON_RECORD_ID)


def auth_hash(token: bytes) -> bytes:
    return blake2b(token, 32, PERSON_AUTH_HASH)


def auth_matches(token: bytes, stored_hash: bytes) -> bool:
    return hmac.compare_digest(auth_hash(token), stored_hash)


def key_id(x25519_public: bytes) -> bytes:
    return blake2b(x25519_public, KEY_ID_BYTES, PERSON_KEY_ID)


# --- padding ----------------------------------------------------------------


def bucket_size(length: int) -> int:
    """The smallest bucket (1 KiB, 2 KiB, 4 KiB ... 64 KiB) that holds length + 1 bytes."""
    size = MIN_BUCKET
    while size < length + 1:
        size *= 2
    if size > MAX_BUCKET:
        raise ProtocolError(f"the message is too long ({length} bytes; at most {MAX_BUCKET - 1})")
    return size


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding (0x80 then zeros) up to the bucket size."""
    return data + b"\x80" + b"\x00" * (bucket_size(len(data)) - len(data) - 1)


def unpad(padded: bytes) -> bytes:
    end = padded.rstrip(b"\x00")
    if not end.endswith(b"\x80") or len(padded) not in _BUCKETS:
        raise ProtocolError("bad padding")
    return end[:-1]


_BUCKETS = frozenset(MIN_BUCKET << i for i in range(7))


# --- envelopes --------------------------------------------------------------


@dataclass(frozen=True)
class SealedKey:
    to: bytes  # key_id of the recipient's X25519 public key
    sealed: bytes  # crypto_box_seal(content key, recipient public key)


@dataclass(frozen=True)
class Envelope:
    """An envelope (version 1 or 2: same shape), checked for shape only, as the relay can."""

    school: str
    nonce: bytes
    ct: bytes
    keys: tuple[SealedKey, ...]
    version: int = VERSION
    # The canonical text, when parsed: the parsed fields were canonical already, so the
    # relay need not encode them all again.
    text: str = field(default="", compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.version,
            "school": self.school,
            "nonce": b64u_encode(self.nonce),
            "ct": b64u_encode(self.ct),
            "keys": [{"to": b64u_encode(k.to), "sealed": b64u_encode(k.sealed)} for k in self.keys],
        }

    def sealed_to(self, x25519_public: bytes) -> bool:
        """Whether one of the envelope's sealed keys is for this public key."""
        return key_id(x25519_public) in {k.to for k in self.keys}

    def canonical(self) -> str:
        """The one text form of an envelope: what the relay stores and compares."""
        return self.text or _canonical_json(self.to_json())


@dataclass(frozen=True)
class NewCase:
    """The first message of a case, as posted by a student's page (or a training record)."""

    case_id: bytes
    auth_hash: bytes
    envelope: Envelope

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": b64u_encode(self.case_id),
            "auth_hash": b64u_encode(self.auth_hash),
            "envelope": self.envelope.to_json(),
        }


def parse_envelope(obj: Any) -> Envelope:
    """Check an envelope's shape and sizes; raise ProtocolError naming the bad field."""
    _fields(obj, ENVELOPE_FIELDS, "the envelope")
    if type(obj["v"]) is not int or obj["v"] not in VERSIONS:
        raise ProtocolError(
            f"unsupported version {str(obj['v'])[:16]!r} (this code reads versions 1 and 2)"
        )
    if not isinstance(obj["school"], str) or not SLUG_RE.fullmatch(obj["school"]):
        raise ProtocolError("'school' must be a school's slug")
    ct = _binary(obj, "ct")
    if len(ct) - nacl.secret.SecretBox.MACBYTES not in _BUCKETS:
        raise ProtocolError("'ct' has a length that no padded payload has")
    keys = obj["keys"]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise ProtocolError(f"'keys' must list 1 to {MAX_KEYS} sealed keys")
    sealed_keys = []
    for i, item in enumerate(keys):
        if not isinstance(item, Mapping) or set(item) != {"to", "sealed"}:
            raise ProtocolError(f"keys[{i}] must have exactly 'to' and 'sealed'")
        sealed_keys.append(
            SealedKey(
                to=_binary(item, "to", KEY_ID_BYTES, f"keys[{i}]."),
                sealed=_binary(item, "sealed", SEALED_KEY_BYTES, f"keys[{i}]."),
            )
        )
    if len({k.to for k in sealed_keys}) != len(sealed_keys):
        raise ProtocolError("'keys' names the same key twice")
    return Envelope(
        school=obj["school"],
        nonce=_binary(obj, "nonce", nacl.secret.SecretBox.NONCE_SIZE),
        ct=ct,
        keys=tuple(sealed_keys),
        version=obj["v"],
        text=_canonical_envelope(obj),
    )


def _canonical_envelope(obj: Mapping[str, Any]) -> str:
    """The canonical text of an envelope whose fields were all just checked.

    Every value is base64url, a slug or the version 1 or 2, none of which JSON escapes, so
    the text is written directly, keys sorted, as _canonical_json would write it
    (a test holds the two equal); the relay does this for every message.
    """
    keys = ",".join(f'{{"sealed":"{k["sealed"]}","to":"{k["to"]}"}}' for k in obj["keys"])
    return (
        f'{{"ct":"{obj["ct"]}","keys":[{keys}],"nonce":"{obj["nonce"]}",'
        f'"school":"{obj["school"]}","v":{obj["v"]}}}'
    )


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def parse_new_case(obj: Any) -> NewCase:
    _fields(obj, NEW_CASE_FIELDS, "a new case")
    return NewCase(
        case_id=_binary(obj, "case_id", CASE_ID_BYTES),
        auth_hash=_binary(obj, "auth_hash", 32),
        envelope=parse_envelope(obj["envelope"]),
    )


def _fields(obj: Any, expected: frozenset[str], what: str) -> None:
    if not isinstance(obj, Mapping):
        raise ProtocolError(f"{what} must be a JSON object")
    unknown = set(obj) - expected
    if unknown:
        raise ProtocolError(f"unknown field {sorted(unknown)[0][:32]!r}")
    missing = expected - set(obj)
    if missing:
        raise ProtocolError(f"missing field {sorted(missing)[0]!r}")


def _binary(obj: Mapping[str, Any], name: str, size: int | None = None, prefix: str = "") -> bytes:
    try:
        raw = b64u_decode(obj[name])
    except ValueError:
        raise ProtocolError(f"'{prefix}{name}' must be base64url without padding") from None
    if size is not None and len(raw) != size:
        raise ProtocolError(f"'{prefix}{name}' must be {size} bytes, not {len(raw)}")
    return raw


def seal(
    school: str,
    plaintext: bytes,
    recipients: Sequence[bytes],
    *,
    content_key: bytes | None = None,
    nonce: bytes | None = None,
) -> Envelope:
    """Encrypt plaintext (a payload's JSON) to X25519 public keys, padded to its bucket."""
    if not 1 <= len(recipients) <= MAX_KEYS:
        raise ProtocolError(f"an envelope is sealed to 1 to {MAX_KEYS} keys")
    key = content_key if content_key is not None else nacl.utils.random(32)
    nonce = nonce if nonce is not None else nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    ct = nacl.secret.SecretBox(key).encrypt(pad(plaintext), nonce).ciphertext
    return Envelope(
        school=school,
        nonce=nonce,
        ct=ct,
        keys=tuple(
            SealedKey(to=key_id(pk), sealed=SealedBox(PublicKey(pk)).encrypt(key))
            for pk in recipients
        ),
    )


def open_envelope(envelope: Envelope, private_key: PrivateKey) -> bytes:
    """The plaintext of an envelope sealed to private_key; ProtocolError if not ours or damaged."""
    mine = key_id(bytes(private_key.public_key))
    sealed = [k for k in envelope.keys if k.to == mine]
    if not sealed:
        raise ProtocolError("not sealed to this key")
    try:
        content_key = SealedBox(private_key).decrypt(sealed[0].sealed)
        padded = nacl.secret.SecretBox(content_key).decrypt(envelope.ct, envelope.nonce)
    except nacl.exceptions.CryptoError:
        raise ProtocolError("cannot decrypt: damaged, or sealed to another key") from None
    return unpad(padded)
