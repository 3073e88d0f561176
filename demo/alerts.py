"""Where the demo's escalation alerts go: each ladder's tiers, their people and channels."""

from __future__ import annotations

from quietdoor.config import Deployment


def alert_routes(deployment: Deployment) -> list[str]:
    """Lines to print: for each ladder, whom each tier alerts and after how long."""
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
            people = deployment.escalation.named(tier)
            reached = ", ".join(
                f"{names[p].name} <{names[p].email or 'no e-mail'}>" for p in people if p in names
            )
            channels = f"; channels {', '.join(tier.channels)}" if tier.channels else ""
            lines.append(
                f"    {i}. {reached or 'the school recipients'}{channels}; waits "
                f"{tier.wait:g} min in read hours, {tier.wait_outside:g} outside, "
                f"re-alerts every {tier.realert:g} min"
            )
    return lines
