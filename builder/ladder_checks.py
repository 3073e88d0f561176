"""Readiness checks of a school's escalation ladder: who is reached, and at which hours.

Only for a deployment that uses ladders: a school without a tier on call at every
hour, a rota with an hour nobody covers, and a tier whose people cannot read the
school's reports (they hold no key for it, so an alert would send them to nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from quietdoor.config import DAY_NAMES, Deployment, School

HOLES_NAMED = 3  # uncovered hours named in a finding; the rest are counted


def ladder_problems(
    deployment: Deployment, school: School, add: Callable[[str, str, str], None]
) -> None:
    escalation = deployment.escalation
    if not escalation.ladders:
        return
    ladder = escalation.ladder_for(school.slug, school.district)
    if not deployment.on_call_around_the_clock(school.slug):
        add(
            "problem",
            "no-on-call-tier",
            "No tier of this school's escalation reaches a person at every hour: a report "
            "sent at night or on a weekend waits for read hours. Add a rota that covers the "
            "whole week or a tier of 24/7 people ([[escalation.ladders]]).",
        )
    if ladder is None:
        return
    readers = {r.id for r in deployment.recipients_for(school.slug)}
    for i, tier in enumerate(ladder.tiers):
        if tier.school:
            continue
        if tier.rota:
            rota = escalation.rota(tier.rota)
            people = {s.recipient for s in rota.shifts}
            if rota.holes:
                named = ", ".join(
                    f"{DAY_NAMES[day]} {hour:02}:00" for day, hour in rota.holes[:HOLES_NAMED]
                )
                more = len(rota.holes) - HOLES_NAMED
                add(
                    "problem",
                    "rota-hole",
                    f"The rota {rota.id!r} (tier {i + 1}) leaves {len(rota.holes)} hours of "
                    f"the week uncovered ({named}"
                    + (f" and {more} more" if more > 0 else "")
                    + "): nobody on call is alerted then.",
                )
        else:
            people = set(tier.recipients)
        if not people & readers:
            add(
                "problem",
                "tier-without-keys",
                f"Tier {i + 1} of the escalation reaches {', '.join(sorted(people))}, who "
                "cannot read this school's reports (they hold no key for it). Add the school "
                "or its district to their [[recipients]] entry.",
            )
