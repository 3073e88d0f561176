"""The languages Quiet Door speaks: one row each, read by the config, builder and desk.

Adding a language means adding a row here and its translation files,
``site/i18n/<code>.toml`` and ``site/i18n/print/<code>.toml``; a test checks
that every row has both (docs/LANGUAGES.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Language:
    code: str  # the BCP 47 tag of file names, paths, the config and the lang attribute
    english: str  # what staff read: "Spanish (es) is translated but not offered"
    native: str  # what a student reads in the language menu: "Español"
    direction: str  # "ltr" or "rtl"
    sign_font: str  # the TrueType family (registered by builder/signs.py) of the printed signs
    payload: str = ""  # the two-letter `lang` of a report (PROTOCOL.md), when not the code
    # False: CLDR, or the ICU data browsers ship, has no day or time words for it; its
    # translation file carries them.
    cldr: bool = True

    @property
    def payload_lang(self) -> str:
        return self.payload or self.code


LANGUAGES = MappingProxyType(
    {
        row.code: row
        for row in (
            Language("en", "English", "English", "ltr", "NotoSans"),
            Language("es", "Spanish", "Español", "ltr", "NotoSans"),
            Language("ar", "Arabic", "العربية", "rtl", "NotoSansArabic"),
            Language("zh-Hans", "Chinese (Simplified)", "简体中文", "ltr", "WenQuanYiZenHei", "zh"),
            Language("vi", "Vietnamese", "Tiếng Việt", "ltr", "NotoSans"),
            Language("pt", "Portuguese", "Português", "ltr", "NotoSans"),
            Language("ru", "Russian", "Русский", "ltr", "NotoSans"),
            Language("ht", "Haitian Creole", "Kreyòl ayisyen", "ltr", "NotoSans", cldr=False),
            Language("so", "Somali", "Soomaali", "ltr", "NotoSans", cldr=False),
            Language("uk", "Ukrainian", "Українська", "ltr", "NotoSans"),
        )
    }
)
SUPPORTED_LANGUAGES = tuple(LANGUAGES)
_BY_PAYLOAD = MappingProxyType({row.payload_lang: row for row in LANGUAGES.values()})


def english_name(code: str) -> str:
    """A language's name for staff, from its code or a report's two-letter `lang`; the code
    itself for one we have no row for."""
    row = LANGUAGES.get(code) or _BY_PAYLOAD.get(code)
    return row.english if row is not None else code
