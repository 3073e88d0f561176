"""The school's QR code as a PNG: every module where the code puts it, and it decodes."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from builder.qr import PNG_SCALE, QUIET_ZONE, make_code, modules_across, png_bytes

URLS = [
    "https://x.example/s/a/",  # the smallest code
    "https://report.state.example/s/school-000123/",
    "https://report.example.org/s/" + "a" * 63 + "/es/",  # the longest slug, a second language
]


@pytest.mark.parametrize("url", URLS)
def test_png_holds_each_module_at_its_scale_and_decodes(url: str) -> None:
    code = make_code(url)
    image = Image.open(io.BytesIO(png_bytes(code)))
    image.load()  # reads every chunk, checking its CRC
    across = modules_across(code)
    assert image.format == "PNG" and image.mode == "1"
    assert image.size == (across * PNG_SCALE, across * PNG_SCALE)
    # Every pixel of each module, quiet zone included, has the module's colour.
    margin = [0] * QUIET_ZONE
    light_row = [0] * across
    modules = [light_row] * QUIET_ZONE
    modules += [margin + list(row) + margin for row in code.matrix]
    modules += [light_row] * QUIET_ZONE
    expected = bytes(
        0 if modules[y // PNG_SCALE][x // PNG_SCALE] else 255
        for y in range(image.height)
        for x in range(image.width)
    )
    assert image.convert("L").tobytes() == expected
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [url]
