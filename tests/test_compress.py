"""builder.compress: copies that decode to their original, about as small as with brotli's
default window whatever the file's size."""

from __future__ import annotations

import random

import brotli
import pytest

from builder.compress import ENCODINGS, FILES, copies, decode, variants


@pytest.mark.parametrize("size", [0, 30_000, 65_519, 65_521, 150_000, 3_000_000])
def test_copies_decode_and_lose_nothing_to_the_fitted_window(size: int) -> None:
    # Random halves, repeated: only a window that holds the whole file finds the repeat.
    half = random.Random(size).randbytes(size // 2)
    data = (half * 2 + b"x")[:size]
    made = variants("training/course.json", data, FILES)
    assert set(made) == set(ENCODINGS.values())
    for encoding, suffix in ENCODINGS.items():
        assert decode(made[suffix], encoding) == data
    assert len(made[".br"]) <= len(brotli.compress(data, quality=FILES.brotli)) * 1.01


@pytest.mark.parametrize(
    ("path", "rule", "expected"),
    [
        ("assets/envelope.js", None, {"br": ".br", "gzip": ".gz"}),
        ("training/index.html", None, {"br": ".br", "gzip": ".gz"}),
        ("s/lincoln-high/index.html", None, {"gzip": ".gz"}),
        ("training/schools/lincoln-high.json", None, {"gzip": ".gz"}),
        ("s/lincoln-high/qr.svg", None, {}),
        ("s/lincoln-high/qr.png", None, {}),
        # A manifest from before gzip_only: every text file had both copies.
        (
            "s/lincoln-high/index.html",
            {"suffixes": [".html"], "encodings": {"br": ".br", "gzip": ".gz"}},
            {"br": ".br", "gzip": ".gz"},
        ),
        ("s/lincoln-high/index.html", {}, {}),
    ],
)
def test_which_files_have_which_copies(
    path: str, rule: dict[str, object] | None, expected: dict[str, str]
) -> None:
    assert (copies(path) if rule is None else copies(path, rule)) == expected
    if rule is None:
        assert set(variants(path, b"<p>hello</p>", FILES)) == set(expected.values())
