"""Where the demo's escalation alerts go: each ladder's tiers, their people and channels."""

from __future__ import annotations

from urllib.parse import urlsplit

from quietdoor.config import Deployment
from quietdoor.config import alert_routes as routes_of
from quietdoor.config.ladder import Channel

SCHOOL_TIER = "the school's recipients"


def alert_routes(deployment: Deployment) -> list[str]:
    """Lines to print: for each ladder, whom each tier alerts, by which route, and when."""
    escalation = deployment.escalation
    if not escalation.ladders:
        return [
            "No escalation ladder: outside read hours a report waits for the school's readers "
            "([escalation] in docs/CONFIG.md)."
        ]
    names = {r.id: r for r in deployment.recipients}
    lines = ["Escalation alerts, when no one views a school's inbox:"]
    for ladder in escalation.ladders:
        where = ", ".join((*ladder.schools, *ladder.districts))
        lines.append(f"  {ladder.id} ({where}):")
        for i, tier in enumerate(ladder.tiers, start=1):
            people = [names[p] for p in escalation.named(tier) if p in names]
            reached = [
                f"{r.name} ({', '.join(_route(r.email, way) for way in ways)})"
                if (ways := routes_of(deployment, r))
                else f"{r.name} (no e-mail or webhook)"
                for r in people
            ]
            reached += [_channel(escalation.channel(c)) for c in tier.channels]
            head = f"whoever the rota {tier.rota} has on call: " if tier.rota else ""
            lines.append(
                f"    {i}. {head}{'; '.join(reached) or SCHOOL_TIER}; waits "
                f"{tier.wait:g} min in read hours, {tier.wait_outside:g} outside, "
                f"re-alerts every {tier.realert:g} min"
            )
    return lines


def _route(email: str, way: str) -> str:
    return f"e-mail {email}" if way == "email" else "their webhook"


def _channel(channel: Channel) -> str:
    """A channel and where it posts: the host only, since a webhook's URL is a secret."""
    if channel.url.startswith("env:"):
        where = f"the URL in ${channel.url.removeprefix('env:')}"
    elif channel.url:
        parts = urlsplit(channel.url)  # netloc would carry user:password@ if the URL has them
        where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    else:
        where = "PagerDuty"
    return f"channel {channel.id} ({channel.kind} to {where})"
