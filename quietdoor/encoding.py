"""base64url without padding: the one encoding for binary values on the wire and in config."""

from __future__ import annotations

import base64
import binascii
import re

_B64U_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode strictly: only the base64url alphabet, no padding, no whitespace."""
    if not isinstance(text, str) or not _B64U_RE.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    if b64u_encode(raw) != text:  # reject non-canonical trailing bits
        raise ValueError("not canonical base64url")
    return raw
