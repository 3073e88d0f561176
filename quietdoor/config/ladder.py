"""The escalation ladder: who is alerted, in which order, when no one has looked.

A school's ladder is a list of tiers: the school's own recipients, people on call
by a rota, a district's 24/7 people. Each tier waits for a `seen` acknowledgment
(one wait inside read hours, a shorter one outside them and on closure days) and
re-alerts its people meanwhile. Every wait is a whole number of notice windows.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass

from quietdoor.config.hours import ReadHours

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class Shift:
    """One person on call some days between two times (end exclusive, up to 24:00)."""

    recipient: str
    days: tuple[int, ...]  # 0 = Monday
    start: int  # minutes after midnight
    end: int

    def covers(self, weekday: int, minute: int) -> bool:
        return weekday in self.days and self.start <= minute < self.end


@dataclass(frozen=True)
class Rota:
    id: str
    shifts: tuple[Shift, ...]

    def on_call(self, local: datetime.datetime) -> tuple[str, ...]:
        """Who is on call at a local (wall-clock) time, in rota order."""
        minute = local.hour * 60 + local.minute
        found = [s.recipient for s in self.shifts if s.covers(local.weekday(), minute)]
        return tuple(dict.fromkeys(found))

    @property
    def holes(self) -> tuple[tuple[int, int], ...]:
        """(weekday, hour) of each hour of the week some minute of which nobody covers."""
        return _holes(self.shifts)

    def holes_among(self, people: frozenset[str]) -> tuple[tuple[int, int], ...]:
        """The holes the rota would have with only these people's shifts."""
        return _holes(tuple(s for s in self.shifts if s.recipient in people))


@functools.lru_cache(maxsize=256)
def _holes(shifts: tuple[Shift, ...]) -> tuple[tuple[int, int], ...]:
    """Every minute is looked at (once per set of shifts: the result is kept), since shifts
    may start and end at any minute and a gap of one is still a gap."""
    return tuple(
        (day, hour)
        for day in range(7)
        for hour in range(24)
        if not all(any(s.covers(day, hour * 60 + m) for s in shifts) for m in range(60))
    )


@dataclass(frozen=True)
class Channel:
    """A way to alert besides e-mail: PagerDuty Events v2, or a templated webhook.

    url and routing_key may be env:NAME, read from the environment when the relay
    starts. A webhook's header values and body fields are templates whose only
    placeholders are {school} and {waited}.
    """

    id: str
    kind: str  # "pagerduty" or "webhook"
    url: str
    routing_key: str = ""
    method: str = "POST"
    content_type: str = "json"  # "json" or "form"
    headers: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Tier:
    """Whom a step reaches: the school's recipients, a rota's person on call, or named people."""

    school: bool
    rota: str
    recipients: tuple[str, ...]
    wait: float  # minutes to wait for `seen` when the tier starts inside read hours
    wait_outside: float  # ... outside read hours or on a closure day
    realert: float  # minutes between alerts while the tier waits
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ladder:
    id: str
    schools: tuple[str, ...]
    districts: tuple[str, ...]
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class Escalation:
    """The [escalation] table: ladders, rotas, channels and the opt-in urgent hint."""

    urgent_hint: bool = False
    pagerduty_url: str = PAGERDUTY_URL
    channels: tuple[Channel, ...] = ()
    rotas: tuple[Rota, ...] = ()
    ladders: tuple[Ladder, ...] = ()

    def ladder_for(self, school: str, district: str) -> Ladder | None:
        """The ladder naming the school, else the one naming its district, else None."""
        by_school, by_district = self._index
        return by_school.get(school) or by_district.get(district)

    def rota(self, rota_id: str) -> Rota:
        return next(r for r in self.rotas if r.id == rota_id)

    def channel(self, channel_id: str) -> Channel:
        return next(c for c in self.channels if c.id == channel_id)

    def named(self, tier: Tier) -> tuple[str, ...]:
        """The recipients a tier names: a rota's people (each once), or its list; the
        school's tier names nobody (it reaches the school's own readers)."""
        if tier.rota:
            return tuple(dict.fromkeys(s.recipient for s in self.rota(tier.rota).shifts))
        return tier.recipients

    @functools.cached_property
    def _index(self) -> tuple[dict[str, Ladder], dict[str, Ladder]]:
        by_school = {s: ladder for ladder in self.ladders for s in ladder.schools}
        by_district = {d: ladder for ladder in self.ladders for d in ladder.districts}
        return by_school, by_district


@dataclass(frozen=True)
class Calendar:
    """A district's clock: its time zone, and the days it is closed (inclusive ranges)."""

    timezone: str
    closures: tuple[tuple[datetime.date, datetime.date], ...] = ()

    def closed(self, day: datetime.date) -> bool:
        return any(first <= day <= last for first, last in self.closures)

    def in_read_hours(self, hours: ReadHours, local: datetime.datetime) -> bool:
        """Whether a local time is inside read hours on a day the district is open."""
        if self.closed(local.date()):
            return False
        if hours.always:
            return True
        hhmm = local.strftime("%H:%M")
        return local.weekday() in hours.days and hours.start <= hhmm < hours.end
