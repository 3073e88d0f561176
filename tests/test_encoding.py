from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.text(alphabet="AB_-+/=azZ09 \n\u00e4", max_size=12))
def test_decodes_exactly_what_the_reference_definition_accepts(text: str) -> None:
    """The fast decoder against the definition: alphabet, no padding, canonical last bits."""
    import base64
    import re

    expected: bytes | None = None
    if re.fullmatch(r"[A-Za-z0-9_-]*", text) and len(text) % 4 != 1:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if b64u_encode(raw) == text:
            expected = raw
    if expected is None:
        with pytest.raises(ValueError):
            b64u_decode(text)
    else:
        assert b64u_decode(text) == expected
