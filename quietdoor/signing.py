"""Signed staff requests (docs/PROTOCOL.md, "Staff requests").

A staff request carries four headers. The signed message binds the method, the
path with its query, the time, a single-use nonce and the SHA-256 of the body, so
a captured request cannot be replayed, redirected to another school or altered.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

import nacl.exceptions
from nacl.signing import SigningKey, VerifyKey

from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.errors import QuietDoorError

H_KEY = "x-qd-key"
H_TIME = "x-qd-timestamp"
H_NONCE = "x-qd-nonce"
H_SIGNATURE = "x-qd-signature"
MAX_SKEW_SECONDS = 120
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")  # ASCII digits only: "²".isdigit() is True


class SignatureError(QuietDoorError):
    """A staff request whose signature headers are missing, malformed or wrong."""


def signed_message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The six signed lines; timestamp and nonce exactly as the headers carry them."""
    return "\n".join(
        [
            "QD1-REQUEST",
            method.upper(),
            path,
            timestamp,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode("ascii")


def sign_request(
    key: SigningKey, method: str, path: str, body: bytes = b"", *, now: float | None = None
) -> dict[str, str]:
    """Headers for a staff request; path includes the query string."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = b64u_encode(secrets.token_bytes(16))
    signature = key.sign(signed_message(method, path, timestamp, nonce, body)).signature
    return {
        H_KEY: b64u_encode(bytes(key.verify_key)),
        H_TIME: timestamp,
        H_NONCE: nonce,
        H_SIGNATURE: b64u_encode(signature),
    }


@dataclass(frozen=True)
class SignedRequest:
    verify_key: bytes
    timestamp: int
    nonce: str


def verify_request(
    headers: dict[str, str], method: str, path: str, body: bytes, *, now: float | None = None
) -> SignedRequest:
    """Check a request's signature and freshness. Replay is checked by the caller's store."""
    try:
        key = b64u_decode(headers[H_KEY])
        stamp_text = headers[H_TIME]
        nonce = headers[H_NONCE]
        signature = b64u_decode(headers[H_SIGNATURE])
    except KeyError as exc:
        raise SignatureError(f"missing header {exc.args[0]}") from None
    except ValueError:
        raise SignatureError("malformed signature headers") from None
    if len(key) != 32 or len(signature) != 64 or not _TIMESTAMP.fullmatch(stamp_text):
        raise SignatureError("malformed signature headers")
    try:
        if len(b64u_decode(nonce)) != 16:
            raise ValueError(nonce)
    except ValueError:
        raise SignatureError("malformed nonce") from None
    timestamp = int(stamp_text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureError("stale request: check the computer's clock")
    try:
        VerifyKey(key).verify(signed_message(method, path, stamp_text, nonce, body), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError("bad signature") from None
    return SignedRequest(verify_key=key, timestamp=timestamp, nonce=nonce)
