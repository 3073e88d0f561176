"""Read hours: "always", or days and times such as "mon-fri 08:00-16:00"."""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^(?P<days>[a-z,-]+) (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$")


@dataclass(frozen=True)
class ReadHours:
    """When the school's inbox is read: around the clock, or some days between two times."""

    always: bool
    days: tuple[int, ...] = ()  # 0 = Monday
    start: str = ""
    end: str = ""

    def __str__(self) -> str:
        if self.always:
            return "always"
        return f"{days_text(self.days)} {self.start}-{self.end}"


@functools.lru_cache(maxsize=1024)
def parse_hours(value: str) -> ReadHours | str:
    """The read hours of a text, or the problem with it; cached, since schools share a few."""
    if value == "always":
        return ReadHours(always=True)
    m = HOURS_RE.match(value)
    problem = (
        f'{value!r} is not understood; write "always" or days and times '
        'such as "mon-fri 08:00-16:00"'
    )
    if not m:
        return problem
    try:
        days = parse_days(m["days"])
    except ValueError:
        return problem
    start, end = m["start"], m["end"]
    if not (valid_time(start) and valid_time(end) and start < end):
        return f"{value!r}: times must be 00:00-23:59, start before end"
    return ReadHours(always=False, days=days, start=start, end=end)


def is_month_day(value: str) -> bool:
    """A day of the year as "MM-DD" ("08-15"; "02-29" too: some years have it)."""
    if not re.fullmatch(r"\d\d-\d\d", value):
        return False
    try:
        datetime.date.fromisoformat(f"2000-{value}")  # a leap year
    except ValueError:
        return False
    return True


def valid_time(hhmm: str) -> bool:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    return hours < 24 and minutes < 60


def parse_days(text: str) -> tuple[int, ...]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        if b < a:
            raise ValueError(part)
        days.extend(range(a, b + 1))
    return tuple(sorted(set(days)))


def days_text(days: tuple[int, ...]) -> str:
    runs: list[str] = []
    start = prev = days[0]
    for day in (*days[1:], None):
        if day is not None and day == prev + 1:
            prev = day
            continue
        runs.append(DAY_NAMES[start] if start == prev else f"{DAY_NAMES[start]}-{DAY_NAMES[prev]}")
        if day is not None:
            start = prev = day
    return ",".join(runs)
