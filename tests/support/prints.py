"""What a printer sees: the text and the QR codes of a PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image


def pdf_text(path: Path) -> str:
    """A PDF's text layer, as pdftotext reads it."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def decoded(path: Path, tmp: Path) -> list[str]:
    """The text of every QR code on a PDF's page, rasterised at 150 dpi as a printer would."""
    prefix = tmp / path.stem
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(prefix)], check=True
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        return [b.text for b in zxingcpp.read_barcodes(image)]
