"""Readiness checks of a school's escalation ladder: who is reached, and at which hours.

Only for a deployment that uses ladders: a school without a tier that alerts someone
who can act at every hour, a rota with an hour nobody covers, a tier's people whom no
alert reaches (no e-mail with [notify] smtp, no webhook, and no channel on the tier),
and a tier's people who cannot read the school's reports (they hold no key for it, so
an alert would send them to nothing). The rule is quietdoor/config/cover.py's.
"""

from __future__ import annotations

from collections.abc import Callable

from quietdoor.config import (
    DAY_NAMES,
    Deployment,
    School,
    channels_elsewhere,
    on_call_around_the_clock,
    without_keys,
    without_route,
)

HOLES_NAMED = 3  # uncovered hours named in a finding; the rest are counted


def ladder_problems(
    deployment: Deployment, school: School, add: Callable[[str, str, str], None]
) -> None:
    escalation = deployment.escalation
    if not escalation.ladders:
        return
    ladder = escalation.ladder_for(school.slug, school.district)
    if not on_call_around_the_clock(deployment, school.slug):
        add(
            "problem",
            "no-on-call-tier",
            "No tier of this school's escalation alerts, at every hour, a person who can read "
            "its reports: a report sent at night or on a weekend waits for read hours. Add a "
            "rota that covers the whole week or a tier of 24/7 people ([[escalation.ladders]]), "
            "each with an e-mail or webhook and a key for the school, or a channel.",
        )
    if ladder is None:
        return
    for i, tier in enumerate(ladder.tiers):
        if tier.school:
            continue
        if tier.rota:
            rota = escalation.rota(tier.rota)
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
        counted = channels_elsewhere(deployment, tier)
        for channel in sorted(set(tier.channels) - set(counted)):
            add(
                "problem",
                "channel-on-this-machine",
                f"Tier {i + 1}'s channel {channel!r} posts to the relay's own machine "
                f"(loopback), but the relay runs at {deployment.relay_url}: it counts as no "
                "channel, and the pages promise no one on call through it, until it points at "
                "a real service (the example's channel is for the demo, which listens there).",
            )
        unreachable = () if counted else without_route(deployment, tier)
        if unreachable:
            add(
                "problem",
                "tier-unreachable",
                f"Tier {i + 1} of the escalation cannot alert {', '.join(unreachable)}: they "
                "have no e-mail (or [notify] smtp is not set) and no webhook, and the tier "
                "has no channel. Give them an `email` or `webhook` in [[recipients]], or give "
                "the tier a channel.",
            )
        unable = without_keys(deployment, school.slug, tier)
        if unable:
            add(
                "problem",
                "tier-without-keys",
                f"Tier {i + 1} of the escalation reaches {', '.join(unable)}, who cannot read "
                "this school's reports (they hold no key for it). Add the school or its "
                "district to their [[recipients]] entry, or take them off the tier.",
            )
