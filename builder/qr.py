"""QR codes for landing pages: error correction M or better, and the full quiet zone.

A school's code is made once and reused for its SVG, its PNG and every sign, so
that all of them carry the same pattern. The mask is fixed: segno's automatic
choice evaluates all eight masks and takes about six times as long, and the mask
changes only how the modules look, not what they say. Mask 2 is the one segno's
own evaluation picks most often for our landing URLs, and the tests decode every
code the builder draws with a real decoder (zxing-cpp), from PNG and from print.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from xml.sax.saxutils import escape

import segno
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4  # modules; ISO/IEC 18004 asks for four
SVG_SCALE = 8  # pixels per module
PNG_SCALE = 12  # pixels per module: about 4 cm across at 300 dpi for a short URL
MASK = 2
_DARK_RUN = re.compile(b"\x01+")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Two modules side by side, by first << 1 | second (1: dark), as their PNG_SCALE pixels
# each, one bit a pixel and 1 white. PNG_SCALE is a multiple of 4, so they fill whole bytes.
_WHITE = (1 << PNG_SCALE) - 1
_PAIRS = [
    ((0 if first else _WHITE) << PNG_SCALE | (0 if second else _WHITE)).to_bytes(
        PNG_SCALE // 4, "big"
    )
    for first in (0, 1)
    for second in (0, 1)
]


def make_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", boost_error=True, micro=False, mask=MASK)


def dark_runs(code: segno.QRCode) -> Iterator[tuple[int, int, int]]:
    """Each horizontal run of dark modules: (row, first column, length), quiet zone excluded."""
    for row, modules in enumerate(code.matrix):
        for run in _DARK_RUN.finditer(bytes(modules)):
            yield row, run.start(), run.end() - run.start()


def svg_bytes(code: segno.QRCode, title: str) -> bytes:
    """The code as SVG (for print and screens), with its quiet zone on white.

    On a white square, one path strokes each run of dark modules along the middle of
    its row (a stroke one unit wide; a unit is SVG_SCALE pixels), each move relative
    to the end of the run before. Drawn from the runs, as the signs draw the code, in
    a third of the time segno's SVG writer takes.
    """
    across = modules_across(code)
    moves: list[str] = []
    x = y = 0  # where the last run ended
    for row, start, length in dark_runs(code):
        if moves:
            moves.append(f"m{start - x} {row - y}h{length}")
        else:
            moves.append(f"M{QUIET_ZONE + start} {QUIET_ZONE + row}.5h{length}")
        x, y = start + length, row
    pixels = across * SVG_SCALE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}">'
        f"<title>{escape(title)}</title>"
        f'<g transform="scale({SVG_SCALE})">'
        f'<path fill="#fff" d="M0 0h{across}v{across}h-{across}z"/>'
        f'<path stroke="#000" d="{"".join(moves)}"/></g></svg>\n'
    ).encode()


def png_bytes(code: segno.QRCode) -> bytes:
    """The code as a black-and-white PNG (one bit a pixel), PNG_SCALE pixels per module,
    quiet zone included.

    Written here from the matrix, each row unfiltered and the whole compressed with
    zlib: Pillow's encoder tries a filter on every row, which on an image of two tones
    costs more time and bytes than it saves (figures in bench/README.md).
    """
    across = modules_across(code)
    size = across * PNG_SCALE
    stride = (size + 7) // 8  # bytes a row; the last one's spare bits are ignored
    quiet = bytes(QUIET_ZONE)
    # Two modules make 2 * PNG_SCALE bits, a whole number of bytes; a light module pads
    # an odd row.
    padded = [quiet + bytes(row) + quiet + b"\0" for row in code.matrix]
    lines = [
        b"\0" + b"".join([_PAIRS[m[i] << 1 | m[i + 1]] for i in range(0, across, 2)])[:stride]
        for m in padded
    ]
    light = b"\0" + b"\xff" * stride
    # Each row starts with its filter type, 0 (none); a row of modules is PNG_SCALE rows.
    scanlines = b"".join(
        [light * (QUIET_ZONE * PNG_SCALE)]
        + [line * PNG_SCALE for line in lines]
        + [light * (QUIET_ZONE * PNG_SCALE)]
    )
    # Width, height, bit depth 1, colour type 0 (grey: 0 black, 1 white), compression,
    # filter and interlace methods 0 (PNG specification, section 11.2.2).
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    return b"".join(
        [
            PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: its length, type, data, and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def modules_across(code: segno.QRCode) -> int:
    """The code's width in modules, quiet zone included."""
    return int(code.symbol_size(scale=1, border=QUIET_ZONE)[0])


def define_code_form(canvas: Canvas, code: segno.QRCode, name: str = "qr") -> None:
    """Define the code, quiet zone included, as a reusable PDF form one unit per module.

    Dark modules are merged into one rectangle per horizontal run, drawn as one
    path; each overlaps the row below by a hair, so that no renderer shows seams.
    Whole-number coordinates keep every module exact at any scale.
    """
    across = modules_across(code)
    canvas.beginForm(name, lowerx=0, lowery=0, upperx=across, uppery=across)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(0, 0, across, across, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row, start, length in dark_runs(code):
        bottom = across - QUIET_ZONE - row - 1
        path.rect(QUIET_ZONE + start, bottom - 0.02, length, 1.02)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()


def draw_code_form(
    canvas: Canvas, code: segno.QRCode, x: float, y: float, size: float, name: str = "qr"
) -> None:
    """Place the form of define_code_form in the square (x, y, size)."""
    canvas.saveState()
    canvas.translate(x, y)
    scale = size / modules_across(code)
    canvas.scale(scale, scale)
    canvas.doForm(name)
    canvas.restoreState()
