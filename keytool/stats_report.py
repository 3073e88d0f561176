"""The yearly numbers as a board reads them: CSV rows, a terminal table, a printable page.

The page draws one small bar chart per school (reports per month) as inline SVG,
from our own code, so that it loads nothing and prints anywhere; each chart has
the table beside it with the same numbers, for readers who do not see it.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from keytool.page_templates import PAGES
from keytool.stats import DISPOSITION_ORDER, MonthStats, Stats, median
from keytool.words import plural
from quietdoor.clock import Clock
from quietdoor.csvcells import cell

DISPOSITION_LABELS = {
    "cps": "Referred to child protective services",
    "police": "Referred to police",
    "school": "Handled by the school",
    "no_action": "No action needed",
    "junk": "False or junk",
    "": "No disposition yet",
}
DISPOSITION_COLUMNS = {
    "cps": "referred_cps",
    "police": "referred_police",
    "school": "handled_by_school",
    "no_action": "no_action_needed",
    "junk": "false_or_junk",
    "": "no_disposition_yet",
}
COLUMNS = [
    "school",
    "school_slug",
    "month",
    "reports",
    "follow_ups",
    "not_safe_now",
    "not_sure",
    *DISPOSITION_COLUMNS.values(),
    "read",
    "median_days_to_first_read",
    "longest_days_to_first_read",
    "not_read",
    "replied",
    "median_days_to_first_reply",
    "longest_days_to_first_reply",
    "not_replied",
    "median_minutes_to_first_seen",
    "longest_minutes_to_first_seen",
    "escalations_past_first_tier",
]


def rows(stats: Stats, name: Callable[[str], str]) -> list[dict[str, Any]]:
    """A row per school and month, then a row per school for the whole range (month "all")."""
    out = []
    for slug, months in stats.schools.items():
        for month in stats.months:
            out.append(_row(name(slug), slug, month, months[month]))
        out.append(_row(name(slug), slug, "all", stats.total(slug)))
    return out


def _row(school: str, slug: str, month: str, m: MonthStats) -> dict[str, Any]:
    return {
        "school": school,
        "school_slug": slug,
        "month": month,
        "reports": m.reports,
        "follow_ups": m.follow_ups,
        "not_safe_now": m.not_safe_now,
        "not_sure": m.not_sure,
        **{column: m.dispositions[d] for d, column in DISPOSITION_COLUMNS.items()},
        "read": len(m.days_to_read),
        "median_days_to_first_read": _number(median(m.days_to_read)),
        "longest_days_to_first_read": max(m.days_to_read, default=""),
        "not_read": m.not_read,
        "replied": len(m.days_to_reply),
        "median_days_to_first_reply": _number(median(m.days_to_reply)),
        "longest_days_to_first_reply": max(m.days_to_reply, default=""),
        "not_replied": m.not_replied,
        "median_minutes_to_first_seen": _number(median(m.minutes_to_seen)),
        "longest_minutes_to_first_seen": max(m.minutes_to_seen, default=""),
        "escalations_past_first_tier": m.climbed,
    }


def to_csv(stats: Stats, name: Callable[[str], str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(stats, name):
        writer.writerow({column: cell(value) for column, value in row.items()})
    return out.getvalue()


def to_text(stats: Stats, name: Callable[[str], str], clock: Clock) -> list[str]:
    """A short table for the terminal: months with anything in them, and a total per school."""
    head = (
        f"{'month':<8} {'reports':>7} {'not safe':>8} {'follow-ups':>10} {'read in':>8} "
        f"{'seen in':>8} {'longest':>8} {'climbed':>7}"
    )
    lines = []
    for slug, months in stats.schools.items():
        lines += ["", name(slug), head]
        for month in stats.months:
            m = months[month]
            if m.reports or m.follow_ups or m.climbed:
                lines.append(_text_line(month, m))
        lines.append(_text_line("total", stats.total(slug)))
    lines.append("")
    lines.append("'read in': median days from a report to the team's first read.")
    lines.append(
        "'seen in', 'longest': median and longest minutes from a report's sending to the first "
        "time you viewed it here; 'climbed': escalations past the first tier (the relay's count)."
    )
    lines.append(clock.zones_line(list(stats.schools)))
    return lines[1:]


def _text_line(label: str, m: MonthStats) -> str:
    read = median(m.days_to_read)
    read_text = "-" if read is None else f"{_number(read)} d"
    seen = median(m.minutes_to_seen)
    seen_text = "-" if seen is None else f"{_number(seen)} min"
    longest = f"{max(m.minutes_to_seen)} min" if m.minutes_to_seen else "-"
    return (
        f"{label:<8} {m.reports:>7} {m.not_safe_now:>8} {m.follow_ups:>10} {read_text:>8} "
        f"{seen_text:>8} {longest:>8} {m.climbed:>7}"
    )


# --- the printable page -------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # the month's short name
    year: str  # shown under January and the first month


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: float  # y of the largest tick
    base: float  # y of zero
    ticks: list[tuple[float, int]]  # (y, value)
    bars: list[Bar]
    summary: str  # what the chart shows, in words, for a screen reader


CHART_WIDTH, CHART_HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 16, 40


def chart(months: tuple[str, ...], counts: Mapping[str, int], school: str) -> Chart:
    """Reports per month as bars, with a few round ticks: drawn by the template as SVG."""
    high = max([*counts.values(), 1])
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9) if high / s <= 5)
    top_value = -(-high // step) * step
    plot_h = CHART_HEIGHT - TOP - BOTTOM
    plot_w = CHART_WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(months), 1)
    bars = []
    for i, month in enumerate(months):
        value = counts[month]
        h = plot_h * value / top_value
        day = datetime.date.fromisoformat(month + "-01")
        bars.append(
            Bar(
                x=LEFT + i * slot + slot * 0.15,
                y=TOP + plot_h - h,
                width=slot * 0.7,
                height=h,
                value=value,
                label=day.strftime("%b") if slot >= 22 else day.strftime("%b")[0],
                year=str(day.year) if i == 0 or day.month == 1 else "",
            )
        )
    ticks = [(TOP + plot_h - plot_h * v / top_value, v) for v in range(0, top_value + 1, step)]
    total = sum(counts[m] for m in months)
    busiest = max(months, key=lambda m: counts[m]) if total else ""
    span = f"{_month_name(months[0])} to {_month_name(months[-1])}"
    summary = f"{school}: {plural(total, 'report')} from {span}"
    if busiest:
        summary += f"; most in {_month_name(busiest)} ({counts[busiest]})"
    return Chart(CHART_WIDTH, CHART_HEIGHT, TOP, TOP + plot_h, ticks, bars, summary + ".")


def to_html(stats: Stats, name: Callable[[str], str], organisation: str, clock: Clock) -> str:
    schools = []
    for slug, months in stats.schools.items():
        counts = {m: months[m].reports for m in stats.months}
        schools.append(
            {
                "slug": slug,
                "name": name(slug),
                "chart": chart(stats.months, counts, name(slug)),
                "rows": [_row(name(slug), slug, m, months[m]) for m in stats.months],
                "total": _row(name(slug), slug, "all", stats.total(slug)),
            }
        )
    return PAGES.get_template("stats.html.j2").render(
        organisation=organisation,
        start=stats.start,
        end=stats.end,
        made=clock.day(clock.today),
        zones=clock.zones_line(list(stats.schools)),
        schools=schools,
        month_name=_month_name,
        dispositions=[(DISPOSITION_COLUMNS[d], DISPOSITION_LABELS[d]) for d in DISPOSITION_ORDER],
    )


def _month_name(month: str) -> str:
    return datetime.date.fromisoformat(month + "-01").strftime("%B %Y")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.1f}"
