"""The languages Quiet Door speaks: one row each, read by the config, builder and desk.

Adding a language means adding a row here and its translation files,
``site/i18n/<code>.toml`` and ``site/i18n/print/<code>.toml``; a test checks
that every row has both.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Language:
    code: str  # the BCP 47 tag used in file names, paths and the lang attribute
    english: str  # what staff read: "Spanish (es) is translated but not offered"
    native: str  # what a student reads in the language menu: "Español"
    direction: str  # "ltr" or "rtl"
    sign_font: str  # the TrueType family the printed signs set it in (builder/sign_fonts.py)


LANGUAGES = MappingProxyType(
    {
        row.code: row
        for row in (
            Language("en", "English", "English", "ltr", "NotoSans"),
            Language("es", "Spanish", "Español", "ltr", "NotoSans"),
        )
    }
)
SUPPORTED_LANGUAGES = tuple(LANGUAGES)


def english_name(code: str) -> str:
    """A language's name for staff; the code itself for one we have no row for."""
    row = LANGUAGES.get(code)
    return row.english if row is not None else code
