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
# Per length mod 4: the padding the standard decoder wants, and the bits the last
# character carries beyond the last whole byte (which must be zero). A length of 1
# mod 4 is never base64.
_PADDING = {0: (b"", 0), 2: (b"==", 0x0F), 3: (b"=", 0x03)}
_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode strictly: only the base64url alphabet, no padding, no whitespace."""
    if not isinstance(text, str):
        raise ValueError("not base64url")
    padding = _PADDING.get(len(text) % 4)
    if padding is None:
        raise ValueError("not base64url")
    pad, stray = padding
    try:
        raw = binascii.a2b_base64(
            text.encode("ascii").translate(_TO_STANDARD) + pad, strict_mode=True
        )
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not base64url") from None
    if stray and _VALUE[text[-1]] & stray:
        raise ValueError("not canonical base64url")
    return raw
