"""base64url without padding: the one encoding for binary values on the wire and in config.

Decoding is strict (only the base64url alphabet, no padding, no white space, no
stray bits after the last byte) and fast: the relay decodes several values in
every request, one of them a kilobyte or more.
"""

from __future__ import annotations

import base64
import binascii

# base64url's two special characters become the standard alphabet's; everything the
# standard alphabet has but base64url has not ("+", "/", "=") becomes "*", which the
# strict decoder refuses, as it refuses white space and every other byte.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/***")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The bits the last character carries beyond the last whole byte, by length mod 4.
_STRAY_BITS = {0: 0, 2: 0x0F, 3: 0x03}


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode strictly: only the base64url alphabet, no padding, no whitespace."""
    if not isinstance(text, str):
        raise ValueError("not base64url")
    stray = _STRAY_BITS.get(len(text) % 4)
    if stray is None:
        raise ValueError("not base64url")
    try:
        standard = text.encode("ascii").translate(_TO_STANDARD)
        raw = binascii.a2b_base64(standard + b"=" * (-len(text) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not base64url") from None
    if stray and _ALPHABET.index(text[-1]) & stray:
        raise ValueError("not canonical base64url")
    return raw
