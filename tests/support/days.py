"""Days and times as a person reads them (quietdoor.clock), written out independently."""

from __future__ import annotations

from datetime import date, datetime


def said_day(day: date, this_year: int) -> str:
    """ "Sat 5 Dec", with the year when it is not this_year."""
    return f"{day:%a} {day.day} {day:%b}" + ("" if day.year == this_year else f" {day.year}")


def said_time(moment: datetime) -> str:
    """ "5:47 pm" (a local, aware moment)."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"
