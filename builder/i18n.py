"""What a translation file says besides its strings: its review status and its calendar.

Day names, times and lists come from CLDR through Babel, the same data the page's
``Intl`` reads (tests/test_languages.py checks that the two agree). A language
CLDR has no words for (its row says ``cldr=False``) carries its own in a
``[calendar]`` table. ``[review]`` says whether anyone has checked the file.
"""

from __future__ import annotations

import datetime
import functools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_time
from babel.lists import format_list

from builder.assets import SITE_DIR
from builder.errors import BuildError
from quietdoor.config import Deployment
from quietdoor.languages import LANGUAGES

I18N_DIR = SITE_DIR / "i18n"
SOURCE_LANGUAGE = "en"  # what the others translate
STATUSES = ("source", "draft", "reviewed")  # "source": English, what the others translate
TABLES = ("review", "calendar")  # the only tables a translation file may hold


class TranslationError(BuildError):
    """A translation file whose review status or calendar is missing or wrong."""


@dataclass(frozen=True)
class Review:
    status: str  # one of STATUSES
    reviewer: str  # who checked it ("" unless reviewed)
    date: str  # when, YYYY-MM-DD ("" unless reviewed)
    notes: str

    @property
    def publishable_as_is(self) -> bool:
        return self.status != "draft"


def translation_path(lang: str, i18n_dir: Path = I18N_DIR) -> Path:
    return i18n_dir / f"{lang}.toml"


@functools.cache
def read_translation(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TranslationError(f"{path}: cannot read the translation ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TranslationError(f"{path}: not valid TOML ({exc})") from None


def _table(path: Path, name: str) -> dict[str, Any]:
    table = read_translation(path).get(name)
    if not isinstance(table, dict):
        raise TranslationError(f"{path}: [{name}]: missing (see docs/LANGUAGES.md)")
    return table


def review(lang: str, i18n_dir: Path = I18N_DIR) -> Review:
    """The [review] table of a language's page strings."""
    path = translation_path(lang, i18n_dir)
    table = _table(path, "review")
    fields = {name: table.get(name, "") for name in ("status", "reviewer", "date", "notes")}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise TranslationError(f"{path}: review.{name}: expected text, got {value!r}")
    if fields["status"] not in STATUSES:
        raise TranslationError(
            f"{path}: review.status: {fields['status']!r} is not one of {', '.join(STATUSES)}"
        )
    if (fields["status"] == "source") != (lang == SOURCE_LANGUAGE):
        raise TranslationError(
            f"{path}: review.status: 'source' is the English file's status, and only its"
        )
    if fields["status"] == "reviewed":
        if not fields["reviewer"]:
            raise TranslationError(f"{path}: review.reviewer: a reviewed file names its reviewer")
        try:
            datetime.date.fromisoformat(fields["date"])
        except ValueError:
            raise TranslationError(
                f"{path}: review.date: {fields['date']!r} is not a date (YYYY-MM-DD)"
            ) from None
    return Review(**fields)


def refuse_drafts(deployment: Deployment) -> None:
    """A translation nobody has checked is published only when the config says so: a
    student in danger must not read a wrong instruction (docs/LANGUAGES.md)."""
    if deployment.allow_draft_languages:
        return
    drafts = [lang for lang in deployment.offered_languages if not review(lang).publishable_as_is]
    if drafts:
        raise TranslationError(
            f"languages: {', '.join(drafts)} {'is a draft' if len(drafts) == 1 else 'are drafts'} "
            "(review.status in site/i18n/<code>.toml) that no native speaker has checked; "
            "have them reviewed (docs/LANGUAGES.md), or set allow_draft_languages = true"
        )


def locale(lang: str) -> Locale:
    return Locale.parse(lang, sep="-")


@functools.cache
def day_names(lang: str) -> tuple[str, ...]:
    """Monday first, as the read hours count days; the format-context wide names
    (what ``Intl.DateTimeFormat(lang, {weekday: "long"})`` says)."""
    if LANGUAGES[lang].cldr:
        wide = locale(lang).days["format"]["wide"]
        return tuple(wide[day] for day in range(7))
    days = _calendar(lang).get("days")
    if not (isinstance(days, list) and len(days) == 7 and all(isinstance(d, str) for d in days)):
        raise TranslationError(f"{translation_path(lang)}: calendar.days: list seven day names")
    return tuple(days)


def clock(hhmm: str, lang: str) -> str:
    """A time of day as the language writes it: CLDR's short time, or the file's am/pm.

    CLDR's narrow no-break space (before "AM") becomes a no-break space: the signs'
    fonts and every browser have that one."""
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if LANGUAGES[lang].cldr:
        text = format_time(datetime.time(hours, minutes), "short", locale=locale(lang))
        return text.replace("\u202f", "\u00a0")
    pattern = _calendar_text(lang, "am" if hours < 12 else "pm")
    return pattern.format(h=hours % 12 or 12, m=f"{minutes:02d}")


def day_list(days: list[str], lang: str) -> str:
    """ "Monday, Wednesday and Friday": CLDR's list pattern, or the file's."""
    if LANGUAGES[lang].cldr:
        return format_list(days, locale=locale(lang))
    if len(days) == 1:
        return days[0]
    return _calendar_text(lang, "list").format(most=", ".join(days[:-1]), last=days[-1])


def case_calendar(lang: str) -> str:
    """The case page's words for the days it names, as JSON for its data-calendar: the
    file's day and month names and date pattern for a language Intl has no words for
    (its row says ``cldr=False``); "" for the others, whose page asks Intl."""
    if LANGUAGES[lang].cldr:
        return ""
    path = translation_path(lang)
    months = _calendar(lang).get("months")
    if not (
        isinstance(months, list) and len(months) == 12 and all(isinstance(m, str) for m in months)
    ):
        raise TranslationError(f"{path}: calendar.months: list twelve month names")
    date = _calendar_text(lang, "date")
    try:
        date.format(weekday="", day="", month="")
    except (KeyError, IndexError, ValueError):
        raise TranslationError(
            f"{path}: calendar.date: use only {{weekday}}, {{day}} and {{month}}"
        ) from None
    calendar = {"days": day_names(lang), "months": months, "date": date}
    return json.dumps(calendar, ensure_ascii=False)


def _calendar(lang: str) -> dict[str, Any]:
    return _table(translation_path(lang), "calendar")


def _calendar_text(lang: str, name: str) -> str:
    value = _calendar(lang).get(name)
    if not isinstance(value, str) or not value:
        raise TranslationError(f"{translation_path(lang)}: calendar.{name}: expected text")
    return value
