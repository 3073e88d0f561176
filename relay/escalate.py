"""The escalation engine: when a school's open escalation is due, which tier it alerts.

A report opens an escalation at the end of the window it came in, when the school's
recipients get their notice (tier 1). Each tier waits for a `seen` acknowledgment
(its `wait` when it starts inside the school's read hours, `wait_outside` outside
them or on a closure day) and re-alerts its people every `realert` meanwhile; then
the next tier takes over; the last one re-alerts until someone looks. A student's
urgent bit moves the escalation to the first tier after the school's own at the next
window's end, with short waits, at most once a window. Steps fall on notice windows.

`plan` decides a step from the stored state and the config alone, so the whole
ladder can be checked at any time of any day (tests/test_escalation_plan.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from quietdoor.config import Deployment, alert_routes
from quietdoor.config.ladder import Ladder, Tier
from relay.escalation_store import TRIGGER, Alert, Open, Step


class Planner:
    """The ladder of each school, and the clock of its district."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.escalation = deployment.escalation
        self.window = int(round(deployment.notify.window_minutes * 60))

    @property
    def active(self) -> bool:
        return bool(self.escalation.ladders)

    def ladder(self, school: str) -> Ladder | None:
        s = self.deployment.school(school)
        return None if s is None else self.escalation.ladder_for(s.slug, s.district)

    def window_end(self, now: float) -> int:
        """The end of the fixed notice window `now` falls in (Unix seconds)."""
        return int(math.floor(now / self.window) * self.window + self.window)

    def plan(self, was: Open, now: int) -> Step | None:
        """The next step of a due escalation; None when its school has no ladder any more."""
        ladder = self.ladder(was.school)
        if ladder is None:
            return None
        tiers = ladder.tiers
        at = max(was.next_step, now - now % self.window)  # on a window, never before it was due
        tier, since, urgent_window = was.tier, was.tier_since, was.urgent_window
        urgent = 2 if urgent_window else 0  # an urgent start keeps its short waits
        alert = True
        on_call = 1 if len(tiers) > 1 else 0
        if was.urgent == 1 and tier < on_call:
            tier, since, urgent, urgent_window = on_call, at, 2, at
        elif tier < 0:
            tier, since, alert = 0, was.started, False
        elif tier < len(tiers) - 1 and at >= since + self._wait(
            was.school, tiers[tier], since, urgent
        ):
            tier, since = tier + 1, at
        current = tiers[tier]
        next_step = at + self._minutes(current.realert)
        if tier < len(tiers) - 1:
            next_step = min(next_step, since + self._wait(was.school, current, since, urgent))
        next_step = max(next_step, at + self.window)
        alerts = self._alerts(was, current, at) if alert else []
        paged = set(filter(None, was.paged.split(",")))
        paged |= {a.target.removeprefix("channel:") for a in alerts if self._pages(a.target)}
        month = ""
        if was.tier < 1 <= tier:
            month = datetime.fromtimestamp(at, self._zone(was.school)).strftime("%Y-%m")
        return Step(
            tier=tier,
            tier_since=since,
            next_step=next_step,
            urgent=urgent,
            urgent_window=urgent_window,
            paged=",".join(sorted(paged)),
            alerts=alerts,
            climbed_month=month,
        )

    def people(self, school: str, tier: Tier, at: int) -> Sequence[str]:
        """Whom a tier reaches at a time: the school's recipients, who is on call, or the named."""
        if tier.school:  # but not those a later tier reaches at this time (who is on call now)
            ladder = self.ladder(school)
            later = (
                {p for t in ladder.tiers if not t.school for p in self.people(school, t, at)}
                if ladder
                else set()
            )
            return [r.id for r in self.deployment.recipients_for(school) if r.id not in later]
        if tier.rota:
            local = datetime.fromtimestamp(at, self._zone(school))
            return self.escalation.rota(tier.rota).on_call(local)
        return tier.recipients

    def inside_read_hours(self, school: str, at: int) -> bool:
        s = self.deployment.school(school)
        if s is None:
            return False
        calendar = self.deployment.calendar(school)
        local = datetime.fromtimestamp(at, ZoneInfo(calendar.timezone))
        return calendar.in_read_hours(s.read_hours, local)

    def _alerts(self, was: Open, tier: Tier, at: int) -> list[Alert]:
        waited = max(0, (at - was.started) // 60)
        targets = []
        for who in self.people(was.school, tier, at):
            r = self.deployment.recipient(who)
            if r is not None:
                targets += [f"{route}:{who}" for route in alert_routes(self.deployment, r)]
        targets += [f"channel:{c}" for c in tier.channels]
        step = was.steps + 1
        return [Alert(was.dedup_key, step, t, was.school, TRIGGER, waited, at) for t in targets]

    def _pages(self, target: str) -> bool:
        if not target.startswith("channel:"):
            return False
        return self.escalation.channel(target.removeprefix("channel:")).kind == "pagerduty"

    def _wait(self, school: str, tier: Tier, since: int, urgent: int) -> int:
        short = urgent == 2 or not self.inside_read_hours(school, since)
        return self._minutes(tier.wait_outside if short else tier.wait)

    def _minutes(self, minutes: float) -> int:
        return int(round(minutes * 60))

    def _zone(self, school: str) -> ZoneInfo:
        return ZoneInfo(self.deployment.timezone_of(school))
