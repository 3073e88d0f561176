"""What a printer sees: the text and the QR codes of a PDF."""

from __future__ import annotations

import base64
import re
import subprocess
import unicodedata
import zlib
from pathlib import Path

import zxingcpp
from PIL import Image

SHOW = re.compile(rb"/(?P<font>\S+) [\d.]+ Tf|\((?P<string>(?:[^\\)]|\\.)*)\) Tj")
ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)")
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def letters(text: str) -> str:
    """The letters alone, after NFKC: their order is the order of reading. (A mark on a
    lam before an alef follows the lam-alef ligature, so marks are left out.)"""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c)[0] == "L")


def pdf_text(path: Path) -> str:
    """A PDF's text layer, as pdftotext reads it."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def font_sizes(path: Path) -> list[float]:
    """Every font size a PDF's pages set (each `Tf`), read from its content streams."""
    sizes: list[float] = []
    for content in _streams(path):
        sizes += [float(m) for m in re.findall(rb"/[^\s/]+ ([\d.]+) Tf", content)]
    return sizes


def shown_strings(path: Path) -> list[tuple[str, bytes]]:
    """Every string a PDF's pages show (each `Tj`), with the font resource it is shown in
    (ReportLab names a TrueType subset like "F2+0"), its escapes undone: the codes drawn."""
    shown: list[tuple[str, bytes]] = []
    for content in _streams(path):
        font = ""
        for match in SHOW.finditer(content):
            if match["font"] is not None:
                font = match["font"].decode()
            else:
                shown.append((font, ESCAPE.sub(_unescape, match["string"])))
    return shown


def _streams(path: Path) -> list[bytes]:
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", path.read_bytes(), re.DOTALL):
        content = raw.strip()
        if content.endswith(b"~>"):  # ReportLab's /ASCII85Decode /FlateDecode
            content = zlib.decompress(base64.a85decode(content[:-2]))
        streams.append(content)
    return streams


def _unescape(match: re.Match[bytes]) -> bytes:
    escaped = match[1]
    if escaped[0] in b"01234567":
        return bytes([int(escaped, 8)])
    return {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(escaped, escaped)


def decoded(path: Path, tmp: Path) -> list[str]:
    """The text of every QR code on a PDF's page, rasterised at 150 dpi as a printer would."""
    prefix = tmp / path.stem
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(prefix)], check=True
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        return [b.text for b in zxingcpp.read_barcodes(image)]


def word_boxes(path: Path) -> list[tuple[str, float, float, float, float]]:
    """Each word pdftotext finds, with its box in points from the page's top left."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        (word, float(x0), float(y0), float(x1), float(y1))
        for x0, y0, x1, y1, word in WORD.findall(html)
    ]


def rendered(path: Path, tmp: Path, dpi: int) -> Image.Image:
    """The PDF's page as a greyscale image, as pdftoppm draws it."""
    prefix = tmp / f"{path.stem}-{dpi}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(path), str(prefix)],
        check=True,
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        return image.convert("L")
