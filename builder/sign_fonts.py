"""The TrueType fonts the signs are set in, registered with ReportLab by family name.

The language table names each language's family (``sign_font``); the files come
from Debian packages that ``scripts/lib.sh`` installs (``fonts-noto-core``,
``fonts-wqy-zenhei``), so nothing is downloaded when a sign is built. ReportLab
embeds only the glyphs a sign uses. Debian's Noto CJK fonts are CFF, which
ReportLab refuses: Chinese is set in WenQuanYi Zen Hei, a TrueType collection
with no bold face, so its bold is drawn with a thin outline ("faux bold").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from builder.errors import BuildError

NOTO = Path("/usr/share/fonts/truetype/noto")
WQY = Path("/usr/share/fonts/truetype/wqy")


class FontError(BuildError):
    """A sign font that is not installed or not known."""


@dataclass(frozen=True)
class FontFile:
    path: Path
    package: str  # the Debian package that installs it, for the error message
    index: int = 0  # the font's place in a TrueType collection (.ttc)


@dataclass(frozen=True)
class Family:
    regular: FontFile
    bold: FontFile | None  # None: bold is the regular face, outlined


FAMILIES = {
    "NotoSans": Family(
        FontFile(NOTO / "NotoSans-Regular.ttf", "fonts-noto-core"),
        FontFile(NOTO / "NotoSans-Bold.ttf", "fonts-noto-core"),
    ),
    "NotoSansArabic": Family(
        FontFile(NOTO / "NotoSansArabic-Regular.ttf", "fonts-noto-core"),
        FontFile(NOTO / "NotoSansArabic-Bold.ttf", "fonts-noto-core"),
    ),
    "WenQuanYiZenHei": Family(FontFile(WQY / "wqy-zenhei.ttc", "fonts-wqy-zenhei"), None),
}
# Where a character the language's own family lacks is looked for next, in order:
# Noto Sans Arabic has no Latin letters, and a school's name may be in any script.
FALLBACK = ("NotoSans", "NotoSansArabic", "WenQuanYiZenHei")
FAUX_BOLD_STROKE = 0.03  # the outline of a faux bold, as a share of the font size


def face_name(family: str, bold: bool) -> str:
    """The registered ReportLab name of a family's regular or bold face, e.g. "NotoSans-Bold"."""
    name = f"{family}-Bold" if bold else family
    _register(family)
    return name


def faux_bold(name: str) -> bool:
    """Whether a registered face is a regular face standing in for a missing bold."""
    family, _, weight = name.partition("-")
    return weight == "Bold" and family in FAMILIES and FAMILIES[family].bold is None


def font_chain(family: str) -> tuple[str, ...]:
    """The family, then the fallbacks, each once."""
    return tuple(dict.fromkeys((family, *FALLBACK)))


def font_file(name: str) -> FontFile:
    """The file behind a registered face name."""
    family, _, weight = name.partition("-")
    row = _family(family)
    return row.bold if weight == "Bold" and row.bold is not None else row.regular


@functools.cache
def covered(family: str) -> frozenset[int]:
    """The code points a family's regular face has a glyph for (its cmap)."""
    _register(family)
    return frozenset(_ttf(family).face.charToGlyph)


@functools.cache
def glyph_chars(name: str) -> dict[int, str]:
    """Each glyph of a face with the lowest code point the cmap maps to it (a base letter
    before its presentation form), so that text extracted from a sign reads as typed."""
    chars: dict[int, str] = {}
    for code, glyph in sorted(_ttf(name).face.charToGlyph.items()):
        chars.setdefault(glyph, chr(code))
    return chars


def _ttf(name: str) -> TTFont:
    font = pdfmetrics.getFont(name)
    if not isinstance(font, TTFont):
        raise FontError(f"sign font {name!r} is registered, but not as a TrueType font")
    return font


def _family(family: str) -> Family:
    try:
        return FAMILIES[family]
    except KeyError:
        raise FontError(
            f"sign font {family!r} is not one of {', '.join(FAMILIES)} (builder/sign_fonts.py)"
        ) from None


@functools.cache
def _register(family: str) -> None:
    row = _family(family)
    for name, file in ((family, row.regular), (f"{family}-Bold", row.bold or row.regular)):
        if not file.path.is_file():
            raise FontError(
                f"{file.path}: the sign font {family} is not installed "
                f"(apt-get install {file.package}; scripts/lib.sh does)"
            )
        pdfmetrics.registerFont(TTFont(name, file.path, subfontIndex=file.index, shapable=False))
