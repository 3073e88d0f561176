"""Every day and time a person reads, in the school's time zone, formatted one way.

A message's `sent` (UTC, to the minute, from the writer's device) is shown in the
zone of the school it belongs to: its district's `timezone`, else the deployment's.
The relay's only time is a UTC day; where one is shown it says so. Machines get
UTC ISO 8601 elsewhere (`--json`), never these strings.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from quietdoor.config import Deployment

# Device clocks are often wrong, but not by days: a relay day further from the
# writing day than this is named beside the message.
DRIFT_BEFORE = timedelta(days=1)
DRIFT_AFTER = timedelta(days=2)
# `sent` (payloads.SENT_FORMAT, "2026-11-28T14:05Z"), read without strptime, which
# cost a fifth of `list` with years of cases.
SENT = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)Z", re.ASCII)
# English names, as strftime's %a and %b give them in the C locale, without its cost.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def drifted(sent: str, relay_day: str) -> bool:
    """True when the relay dated a message further from its `sent` day than clocks drift."""
    written, received = date.fromisoformat(sent[:10]), date.fromisoformat(relay_day)
    return received < written - DRIFT_BEFORE or received > written + DRIFT_AFTER


def moment_of(sent: str) -> datetime:
    """A payload's `sent` as an aware UTC datetime."""
    parts = SENT.fullmatch(sent)
    if parts:
        year, month, day, hour, minute = map(int, parts.groups())
        with contextlib.suppress(ValueError):  # no such day, hour or minute
            return datetime(year, month, day, hour, minute, tzinfo=UTC)
    raise ValueError(f"{sent!r} is not a UTC time such as 2026-11-28T14:05Z")


class Clock:
    """Days and times in each school's zone (this computer's, without a config)."""

    def __init__(self, deployment: Deployment | None, today: date | None = None) -> None:
        self.deployment = deployment
        zone = ZoneInfo(deployment.timezone) if deployment else None
        self.today = today or datetime.now(zone).date()
        self._zones: dict[str, ZoneInfo] = {}

    def zone_name(self, school: str = "") -> str:
        """The IANA name of a school's zone (the deployment's for ""); this computer's without."""
        if self.deployment is None:
            return "this computer's time zone"
        return self.deployment.timezone_of(school) if school else self.deployment.timezone

    def zones_line(self, schools: list[str]) -> str:
        """The sentence naming the zone(s) once, for the top of a page or an output."""
        names = sorted({self.zone_name(s) for s in schools} or {self.zone_name()})
        if len(names) == 1:
            return f"Times are in {names[0]}."
        return f"Times are in each school's time zone ({', '.join(names)})."

    def local(self, moment: datetime, school: str = "") -> datetime:
        if self.deployment is None:
            return moment.astimezone()
        zone = self._zones.get(school)
        if zone is None:
            zone = self._zones[school] = ZoneInfo(self.zone_name(school))
        return moment.astimezone(zone)

    def day(self, d: date) -> str:
        """ "Sat 5 Dec", with the year when it is not this year."""
        if d.year != self.today.year:
            return self.full_day(d)
        return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]}"

    @staticmethod
    def full_day(d: date) -> str:
        """ "Sat 5 Dec 2026": for a page that may be read in another year."""
        return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"

    def relay_day(self, iso_day: str) -> str:
        """The relay's UTC date, labelled as one."""
        return f"{self.day(date.fromisoformat(iso_day))} (UTC)"

    def sent_day(self, sent: str, school: str) -> date:
        """The day a message was written, in its school's zone."""
        return self.local(moment_of(sent), school).date()

    def counted_day(self, sent: str, relay_day: str, school: str) -> date:
        """The day a message counts on: written, in the school's zone; the relay's (UTC) day
        when the writer's clock was off by days."""
        if drifted(sent, relay_day):
            return date.fromisoformat(relay_day)
        return self.sent_day(sent, school)

    def moment(self, sent: str, school: str) -> str:
        """A payload's `sent` in the school's zone: "Sat 5 Dec, 5:47 pm"."""
        return self.at(moment_of(sent), school)

    def at(self, moment: datetime, school: str = "") -> str:
        local = self.local(moment, school)
        return f"{self.day(local.date())}, {_hour(local)}"

    def time(self, moment: datetime, school: str = "") -> str:
        """The time of day only: "5:47 pm"."""
        return _hour(self.local(moment, school))

    def came_in(self, sent: str, relay_day: str, school: str) -> str:
        """When a report came in: its `sent` in the school's zone, with the relay's day
        named beside it when the two disagree by more than clocks drift."""
        text = self.moment(sent, school)
        if drifted(sent, relay_day):
            text += f"; the relay dated it {self.relay_day(relay_day)}"
        return text


def _hour(local: datetime) -> str:
    hour, half = local.hour % 12 or 12, "am" if local.hour < 12 else "pm"
    return f"{hour}:{local.minute:02d} {half}"
