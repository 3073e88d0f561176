"""builder.compress: copies that decode to their original, about as small as with brotli's
default window whatever the file's size."""

from __future__ import annotations

import random

import brotli
import pytest

from builder.compress import ENCODINGS, FILES, decode, variants


@pytest.mark.parametrize("size", [0, 30_000, 65_519, 65_521, 150_000, 3_000_000])
def test_copies_decode_and_lose_nothing_to_the_fitted_window(size: int) -> None:
    # Random halves, repeated: only a window that holds the whole file finds the repeat.
    half = random.Random(size).randbytes(size // 2)
    data = (half * 2 + b"x")[:size]
    copies = variants(data, FILES)
    for encoding, suffix in ENCODINGS.items():
        assert decode(copies[suffix], encoding) == data
    assert len(copies[".br"]) <= len(brotli.compress(data, quality=FILES.brotli)) * 1.01
