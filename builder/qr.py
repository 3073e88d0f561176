"""QR codes for landing pages: error correction M or better, and the full quiet zone."""

from __future__ import annotations

from pathlib import Path

import segno

QUIET_ZONE = 4  # modules; ISO/IEC 18004 asks for four
PNG_SCALE = 12  # pixels per module: about 4 cm across at 300 dpi for a short URL


def write_qr(url: str, svg_path: Path, png_path: Path, title: str) -> None:
    """Write the code as SVG (for print) and PNG (for screens and quick previews)."""
    code = segno.make(url, error="m", boost_error=True, micro=False)
    code.save(
        str(svg_path),
        kind="svg",
        border=QUIET_ZONE,
        scale=8,
        xmldecl=False,
        title=title,
        dark="#000",
        light="#fff",
    )
    code.save(str(png_path), kind="png", border=QUIET_ZONE, scale=PNG_SCALE)
