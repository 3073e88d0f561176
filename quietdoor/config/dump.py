"""Write a Deployment back as TOML, and one recipient's table as the key tool prints it."""

from __future__ import annotations

from collections.abc import Sequence

from quietdoor.config.hours import days_text
from quietdoor.config.keys import RELAY_COUNTS, RELAY_ZERO_TURNS_OFF
from quietdoor.config.ladder import Escalation, Shift
from quietdoor.config.model import Deployment, Recipient
from quietdoor.encoding import b64u_encode


def dump_config(d: Deployment) -> str:
    """Write a Deployment back as TOML that load_config reads to an equal Deployment."""
    out = [
        f"organisation = {_q(d.organisation)}",
        f"base_url = {_q(d.base_url)}",
        f"relay_url = {_q(d.relay_url)}",
        f"quick_exit_url = {_q(d.quick_exit_url)}",
        f"timezone = {_q(d.timezone)}",
        f"languages = {_list(d.languages)}",
        f"allow_draft_languages = {'true' if d.allow_draft_languages else 'false'}",
        f"paper = {_q(d.paper)}",
        "",
        "[relay]",
        *(
            f"{name} = {getattr(d.relay, name)}"
            for name in sorted((*RELAY_COUNTS, *RELAY_ZERO_TURNS_OFF))
        ),
        f"proof_of_work = {'true' if d.relay.proof_of_work else 'false'}",
        f"trusted_proxies = {_list(d.relay.trusted_proxies)}",
        *([f"v2_since = {_q(d.relay.v2_since)}"] if d.relay.v2_since else []),
        "",
        "[notify]",
        *(
            [f"smtp = {_q(d.notify.smtp)}", f"from = {_q(d.notify.sender)}"]
            if d.notify.smtp
            else []
        ),
        f"window_minutes = {d.notify.window_minutes!r}",
        f"mode = {_q(d.notify.mode)}",
        f"digest_at = {_q(d.notify.digest_at)}",
        "",
        "[training]",
        f"new_hire_days = {d.training.new_hire_days}",
        f"pass_percent = {d.training.pass_percent}",
    ]
    if d.training.school_year_starts:
        out.append(f"school_year_starts = {_q(d.training.school_year_starts)}")
    if d.training.refresher_months is not None:
        out.append(f"refresher_months = {d.training.refresher_months}")
    if d.state:
        out.insert(5, f"state = {_q(d.state)}")
    for dist in d.districts:
        out += ["", "[[districts]]", f"slug = {_q(dist.slug)}", f"name = {_q(dist.name)}"]
        if dist.timezone:
            out.append(f"timezone = {_q(dist.timezone)}")
        if dist.closures:
            days = [a.isoformat() if a == b else f"{a}/{b}" for a, b in dist.closures]
            out.append(f"closures = {_list(days)}")
    for s in d.schools:
        out += [
            "",
            "[[schools]]",
            f"slug = {_q(s.slug)}",
            f"name = {_q(s.name)}",
            f"district = {_q(s.district)}",
            f"read_hours = {_q(str(s.read_hours))}",
            *(
                [f"languages = {_list(d.school_languages[s.slug])}"]
                if s.slug in d.school_languages
                else []
            ),
        ]
    for rec in d.recipients:
        out += ["", recipient_snippet(rec)]
    for p in d.placements:
        out += [
            "",
            "[[placements]]",
            f"school = {_q(p.school)}",
            f"id = {_q(p.id)}",
            f"location = {_q(p.location)}",
            f"kind = {_q(p.kind)}",
            f"private = {'true' if p.private else 'false'}",
        ]
    out += escalation_lines(d.escalation)
    return "\n".join(out) + "\n"


def escalation_lines(e: Escalation) -> list[str]:
    """The [escalation] table and its arrays, or nothing when there is no ladder."""
    if e == Escalation():
        return []
    out = [
        "",
        "[escalation]",
        f"urgent_hint = {'true' if e.urgent_hint else 'false'}",
        f"pagerduty_url = {_q(e.pagerduty_url)}",
    ]
    for c in e.channels:
        out += ["", "[[escalation.channels]]", f"id = {_q(c.id)}", f"kind = {_q(c.kind)}"]
        out += [f"url = {_q(c.url)}"] if c.url else []
        if c.kind == "pagerduty":
            out.append(f"routing_key = {_q(c.routing_key)}")
            continue
        out += [
            f"method = {_q(c.method)}",
            f"content_type = {_q(c.content_type)}",
            f"headers = {_inline(c.headers)}",
            f"body = {_inline(c.body)}",
        ]
    for rota in e.rotas:
        shifts = ", ".join(
            f"{{ recipient = {_q(s.recipient)}, hours = {_q(shift_text(s))} }}" for s in rota.shifts
        )
        out += ["", "[[escalation.rotas]]", f"id = {_q(rota.id)}", f"shifts = [{shifts}]"]
    for ladder in e.ladders:
        out += [
            "",
            "[[escalation.ladders]]",
            f"id = {_q(ladder.id)}",
            f"schools = {_list(ladder.schools)}",
            f"districts = {_list(ladder.districts)}",
        ]
        for t in ladder.tiers:
            out += ["", "[[escalation.ladders.tiers]]"]
            out += ["school = true"] if t.school else []
            out += [f"rota = {_q(t.rota)}"] if t.rota else []
            out += [f"recipients = {_list(t.recipients)}"] if t.recipients else []
            out += [
                f"wait = {t.wait!r}",
                f"wait_outside = {t.wait_outside!r}",
                f"realert = {t.realert!r}",
                f"channels = {_list(t.channels)}",
            ]
    return out


def shift_text(s: Shift) -> str:
    return (
        f"{days_text(s.days)} {s.start // 60:02}:{s.start % 60:02}-{s.end // 60:02}:{s.end % 60:02}"
    )


def _inline(pairs: Sequence[tuple[str, str]]) -> str:
    return "{ " + ", ".join(f"{_q(k)} = {_q(v)}" for k, v in pairs) + " }" if pairs else "{}"


def recipient_snippet(rec: Recipient) -> str:
    """The [[recipients]] table for one person, as `keytool init` and `rotate` print it."""
    lines = [
        "[[recipients]]",
        f"id = {_q(rec.id)}",
        f"name = {_q(rec.name)}",
        f"x25519 = {_q(b64u_encode(rec.x25519))}",
        f"ed25519 = {_q(b64u_encode(rec.ed25519))}",
        f"schools = {_list(rec.schools)}",
        f"districts = {_list(rec.districts)}",
        *([f"email = {_q(rec.email)}"] if rec.email else []),
        *([f"webhook = {_q(rec.webhook)}"] if rec.webhook else []),
    ]
    if rec.previous:
        lines.append("previous = [")
        lines += [
            f"  {{ x25519 = {_q(b64u_encode(p.x25519))}, "
            f"ed25519 = {_q(b64u_encode(p.ed25519))}, until = {p.until.isoformat()} }},"
            for p in rec.previous
        ]
        lines.append("]")
    return "\n".join(lines)


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"
