from __future__ import annotations

import pytest

from quietdoor.encoding import b64u_decode, b64u_encode


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff\xfe", bytes(range(256))])
def test_round_trip(data: bytes) -> None:
    text = b64u_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64u_decode(text) == data


@pytest.mark.parametrize("text", ["AA==", "A", "AB+/", "AB C", "AB", "ä"])
def test_rejects_padding_other_alphabets_and_non_canonical(text: str) -> None:
    # "AB" decodes to one byte but its last character carries stray bits.
    with pytest.raises(ValueError):
        b64u_decode(text)
