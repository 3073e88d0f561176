"""Whether an escalation alert can reach a person who can act on it: the one rule for
the student pages (may they say a person on call is alerted?), the readiness report
and the relay (where does an alert go?).

A person can act on an alert about a school when it reaches them (e-mail, with
[notify] smtp set, or their webhook) and they hold a key for the school. A tier
counts as cover around the clock when, at every minute of the week, it reaches
such a person, or it has a channel of its own (a pager or an SMS gateway).

A channel that posts to this machine (loopback) counts only where the relay runs on
this machine too, as in the demo, which listens there: copied into a deployment
whose relay is elsewhere, it would promise an alert that nothing receives.
"""

from __future__ import annotations

from quietdoor.config.ladder import Tier
from quietdoor.config.model import Deployment, Recipient
from quietdoor.config.reader import on_this_machine


def alert_routes(deployment: Deployment, recipient: Recipient) -> tuple[str, ...]:
    """How an alert reaches a person: "email" (when [notify] smtp is set), "webhook"."""
    routes = []
    if recipient.email and deployment.notify.smtp:
        routes.append("email")
    if recipient.webhook:
        routes.append("webhook")
    return tuple(routes)


def without_route(deployment: Deployment, tier: Tier) -> tuple[str, ...]:
    """The people a tier names whom no alert reaches (no e-mail with smtp, no webhook)."""
    found = []
    for who in deployment.escalation.named(tier):
        person = deployment.recipient(who)
        if person is None or not alert_routes(deployment, person):
            found.append(who)
    return tuple(found)


def without_keys(deployment: Deployment, slug: str, tier: Tier) -> tuple[str, ...]:
    """The people a tier names who hold no key for the school: an alert sends them to nothing."""
    readers = {r.id for r in deployment.recipients_for(slug)}
    return tuple(who for who in deployment.escalation.named(tier) if who not in readers)


def channels_elsewhere(deployment: Deployment, tier: Tier) -> tuple[str, ...]:
    """The tier's channels that count: all of them where the relay runs on this machine,
    else those that do not post to this machine."""
    relay_here = on_this_machine(deployment.relay_url)
    escalation = deployment.escalation
    return tuple(
        c for c in tier.channels if relay_here or not on_this_machine(escalation.channel(c).url)
    )


def covers_every_hour(deployment: Deployment, slug: str, tier: Tier) -> bool:
    """Whether a tier past the school's own alerts someone who can act, at any time."""
    if tier.school:
        return False
    escalation = deployment.escalation
    if channels_elsewhere(deployment, tier):
        able = set(escalation.named(tier))
    else:
        cannot = {*without_route(deployment, tier), *without_keys(deployment, slug, tier)}
        able = set(escalation.named(tier)) - cannot
    if tier.rota:
        return not escalation.rota(tier.rota).holes_among(frozenset(able))
    return bool(able)


def on_call_around_the_clock(deployment: Deployment, slug: str) -> bool:
    """Whether the school's ladder has a tier that alerts someone who can act at any hour.

    Only then may a student page say that a person on call is alerted outside read hours.
    """
    school = deployment.school(slug)
    ladder = None if school is None else deployment.escalation.ladder_for(slug, school.district)
    return ladder is not None and any(covers_every_hour(deployment, slug, t) for t in ladder.tiers)
