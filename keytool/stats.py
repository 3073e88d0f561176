"""The yearly numbers: per school and month, counts a board or a state office asks for.

Only counts and whole days come out of here, never a word of a report or a case
id. Days are the school's (quietdoor.clock): a case counts in the month its report
was sent, in the school's time zone (the relay's UTC day instead when the student's
clock was off by days); a student's later message counts in the month it was sent.
How fast the school answered is counted in whole days from the report to the first
read receipt, and to the first reply, by anyone on the team; and in minutes from the
report's `sent` (the student's clock) to the first time a person viewed it with this
key tool. The disposition is the case's latest one, from colleagues' notes.
Escalations past the first tier come from the relay's count.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from keytool.cases import Case, Entry
from quietdoor import payloads
from quietdoor.clock import Clock, moment_of

# The dispositions, in the order a report lists them; "" is a case with none yet.
DISPOSITION_ORDER = ("cps", "police", "school", "no_action", "junk", "")


@dataclass
class MonthStats:
    reports: int = 0
    follow_ups: int = 0
    not_safe_now: int = 0
    not_sure: int = 0
    dispositions: Counter[str] = field(default_factory=Counter)
    days_to_read: list[int] = field(default_factory=list)
    not_read: int = 0
    days_to_reply: list[int] = field(default_factory=list)
    not_replied: int = 0
    minutes_to_seen: list[int] = field(default_factory=list)  # report `sent` to first `seen`
    climbed: int = 0  # escalations past the first tier, as the relay counted them

    def add(self, other: MonthStats) -> None:
        self.reports += other.reports
        self.follow_ups += other.follow_ups
        self.not_safe_now += other.not_safe_now
        self.not_sure += other.not_sure
        self.dispositions.update(other.dispositions)
        self.days_to_read += other.days_to_read
        self.not_read += other.not_read
        self.days_to_reply += other.days_to_reply
        self.not_replied += other.not_replied
        self.minutes_to_seen += other.minutes_to_seen
        self.climbed += other.climbed


@dataclass(frozen=True)
class Stats:
    months: tuple[str, ...]  # YYYY-MM, every month of the range, in order
    schools: dict[str, dict[str, MonthStats]]  # slug -> month -> numbers
    start: datetime.date
    end: datetime.date

    def total(self, school: str) -> MonthStats:
        out = MonthStats()
        for month in self.months:
            out.add(self.schools[school][month])
        return out


def compute(
    cases: Iterable[Case],
    schools: Iterable[str],
    start: datetime.date | None,
    end: datetime.date | None,
    clock: Clock,
    climbed: Mapping[str, Mapping[str, int]] | None = None,
) -> Stats:
    """Numbers for every school named (and every school with a case), over [start, end].

    climbed: per school and month, escalations past the first tier (from the relay).
    """
    cases = list(cases)
    days = [_day(clock, c, e) for c in cases for e in c.entries]
    first = start or min(days, default=clock.today)
    last = end or clock.today
    if last < first:
        first, last = last, last
    months = _months(first, last)
    table: dict[str, dict[str, MonthStats]] = {}
    for slug in sorted({*schools, *(c.school for c in cases)}):
        table[slug] = {m: MonthStats() for m in months}
    for case in cases:
        per_month = table[case.school]
        if not case.entries:
            continue
        opened = _day(clock, case, case.entries[0])
        if first <= opened <= last:
            _count_case(case, opened, per_month[opened.strftime("%Y-%m")], clock)
        for entry in case.entries:
            arrived = _day(clock, case, entry)
            if entry.kind == "update" and first <= arrived <= last:
                per_month[arrived.strftime("%Y-%m")].follow_ups += 1
    for slug, by_month in (climbed or {}).items():
        for month, count in by_month.items():
            if slug in table and month in table[slug]:
                table[slug][month].climbed = count
    return Stats(months=months, schools=table, start=first, end=last)


def _count_case(case: Case, opened: datetime.date, numbers: MonthStats, clock: Clock) -> None:
    numbers.reports += 1
    numbers.not_safe_now += case.safe_now == "no"
    numbers.not_sure += case.safe_now == "unsure"
    numbers.dispositions[_disposition(case)] += 1
    read = _first(case, "receipt", clock)
    if read is None:
        numbers.not_read += 1
    else:
        numbers.days_to_read.append((read - opened).days)
    seen = _minutes_to_seen(case)
    if seen is not None:
        numbers.minutes_to_seen.append(seen)
    replied = _first(case, "reply", clock)
    if replied is None:
        numbers.not_replied += 1
    else:
        numbers.days_to_reply.append((replied - opened).days)


def _first(case: Case, kind: str, clock: Clock) -> datetime.date | None:
    days = [_day(clock, case, e) for e in case.entries if e.kind == kind and e.trusted]
    return min(days, default=None)


def _minutes_to_seen(case: Case) -> int | None:
    """Minutes from the report's `sent` (the student's clock) to a person's first look here."""
    report = next((e for e in case.entries if e.kind == "report"), None)
    if report is None or not report.stored.seen_at:
        return None
    sent, seen = moment_of(report.payload.header.sent), moment_of(report.stored.seen_at)
    return max(0, int((seen - sent).total_seconds() // 60))  # a phone's clock may run ahead


def _disposition(case: Case) -> str:
    notes = [n.payload for n in case.notes if n.trusted and isinstance(n.payload, payloads.Note)]
    return notes[-1].disposition if notes else ""


def median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def _day(clock: Clock, case: Case, entry: Entry) -> datetime.date:
    return clock.counted_day(entry.payload.header.sent, entry.stored.received, case.school)


def _months(first: datetime.date, last: datetime.date) -> tuple[str, ...]:
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)
