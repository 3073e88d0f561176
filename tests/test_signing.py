from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from quietdoor.signing import (
    H_NONCE,
    H_SIGNATURE,
    H_TIME,
    SignatureError,
    sign_request,
    verify_request,
)

PATH = "/api/v1/schools/lincoln-high/envelopes?after=0"


def test_signed_request_verifies() -> None:
    key = SigningKey.generate()
    headers = sign_request(key, "GET", PATH, now=1_000_000)
    signed = verify_request(headers, "GET", PATH, b"", now=1_000_030)
    assert signed.verify_key == bytes(key.verify_key)
    assert signed.timestamp == 1_000_000


@pytest.mark.parametrize(
    ("method", "path", "body", "now", "message"),
    [
        ("POST", PATH, b"", 1_000_000, "bad signature"),
        ("GET", PATH.replace("after=0", "after=5"), b"", 1_000_000, "bad signature"),
        ("GET", PATH.replace("lincoln-high", "riverside-middle"), b"", 1_000_000, "bad signature"),
        ("GET", PATH, b"x", 1_000_000, "bad signature"),
        ("GET", PATH, b"", 1_000_121, "stale"),
        ("GET", PATH, b"", 999_879, "stale"),
    ],
)
def test_changed_or_stale_requests_fail(
    method: str, path: str, body: bytes, now: int, message: str
) -> None:
    headers = sign_request(SigningKey.generate(), "GET", PATH, now=1_000_000)
    with pytest.raises(SignatureError, match=message):
        verify_request(headers, method, path, body, now=now)


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        (H_SIGNATURE, None, "missing header"),
        (H_SIGNATURE, "AAAA", "malformed"),
        (H_TIME, "12.5", "malformed"),
        (H_TIME, "\u00b2", "malformed"),  # "²".isdigit() is True
        (H_TIME, "01000000", "malformed"),  # one text per time: no leading zeros
        (H_TIME, "1000000\n", "malformed"),
        (H_NONCE, "short", "malformed nonce"),
    ],
)
def test_malformed_headers_fail(header: str, value: str | None, message: str) -> None:
    headers = sign_request(SigningKey.generate(), "GET", PATH, now=1_000_000)
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    with pytest.raises(SignatureError, match=message):
        verify_request(headers, "GET", PATH, b"", now=1_000_000)


def test_the_signed_lines_use_the_headers_text() -> None:
    from quietdoor.signing import signed_message

    headers = sign_request(SigningKey.generate(), "post", PATH, b"{}", now=1_000_000)
    lines = signed_message("post", PATH, headers[H_TIME], headers[H_NONCE], b"{}").split(b"\n")
    assert lines[0] == b"QD1-REQUEST" and lines[1] == b"POST"
    assert lines[3] == b"1000000" and lines[4] == headers[H_NONCE].encode()
    assert lines[5] == b"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
