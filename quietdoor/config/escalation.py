"""Read the [escalation] table and a district's closures into checked records."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from quietdoor.config.errors import ConfigError
from quietdoor.config.hours import parse_days
from quietdoor.config.keys import (
    CHANNEL_KEYS,
    CHANNEL_KINDS,
    ENV_NAME_RE,
    ESCALATION_KEYS,
    LADDER_KEYS,
    PLACEHOLDER_RE,
    ROTA_KEYS,
    SHIFT_KEYS,
    TIER_KEYS,
    WEBHOOK_CONTENT_TYPES,
)
from quietdoor.config.ladder import PAGERDUTY_URL, Channel, Escalation, Ladder, Rota, Shift, Tier
from quietdoor.config.model import NotifySettings, Recipient
from quietdoor.config.reader import Reader

MAX_WAIT_MINUTES = 7 * 24 * 60  # a wait or re-alert interval longer than a week is a mistake
SHIFT_RE = re.compile(
    r"^(?P<days>[a-z,-]+) (?P<start>\d\d):(?P<sm>\d\d)-(?P<end>\d\d):(?P<em>\d\d)$"
)


def read_escalation(
    r: Reader,
    table: Mapping[str, Any],
    recipients: Sequence[Recipient],
    schools: Mapping[str, Any],
    districts: Mapping[str, Any],
    notify: NotifySettings,
) -> Escalation:
    where = "escalation"
    r.known_keys(table, where, ESCALATION_KEYS)
    if not table:
        return Escalation()
    ids = {rec.id for rec in recipients}
    channels = tuple(
        _channel(r, t, f"{where}.channels[{i}]")
        for i, t in enumerate(_tables(r, table, "channels", where, CHANNEL_KEYS))
    )
    r.unique([c.id for c in channels], f"{where}.channels", "id")
    rotas = tuple(
        _rota(r, t, f"{where}.rotas[{i}]", ids)
        for i, t in enumerate(_tables(r, table, "rotas", where, ROTA_KEYS))
    )
    r.unique([x.id for x in rotas], f"{where}.rotas", "id")
    ladders = []
    context = _Context(ids, {c.id for c in channels}, {x.id: x for x in rotas}, notify)
    for i, t in enumerate(_tables(r, table, "ladders", where, LADDER_KEYS)):
        ladders.append(_ladder(r, t, f"{where}.ladders[{i}]", context, schools, districts))
    _no_school_twice(r, ladders)
    if ladders and notify.mode == "digest":
        raise ConfigError(
            r.path,
            "escalation.ladders",
            "a ladder needs notices on windows: it cannot be combined with "
            '[notify] mode = "digest"',
        )
    urgent = r.boolean(table, "urgent_hint", where, False)
    url = r.url(table, "pagerduty_url", PAGERDUTY_URL, where)
    return Escalation(
        urgent_hint=urgent,
        pagerduty_url=url,
        channels=channels,
        rotas=rotas,
        ladders=tuple(ladders),
    )


def closures(
    r: Reader, table: Mapping[str, Any], where: str
) -> tuple[tuple[datetime.date, datetime.date], ...]:
    """`closures = ["2026-12-21/2027-01-01", "2027-05-31"]`: days the district is closed."""
    found = []
    for i, text in enumerate(r.strings(table, "closures", where, default=[])):
        first, slash, last = text.partition("/")
        try:
            a = datetime.date.fromisoformat(first)
            b = datetime.date.fromisoformat(last) if slash else a
            if b < a:
                raise ValueError("a range that ends before it starts")
        except ValueError:
            raise ConfigError(
                r.path,
                f"{where}.closures[{i}]",
                f"{text[:40]!r}: write a day like 2027-05-31 or a range like 2026-12-21/2027-01-01",
            ) from None
        found.append((a, b))
    return tuple(found)


class _Context:
    def __init__(
        self,
        recipients: set[str],
        channels: set[str],
        rotas: dict[str, Rota],
        notify: NotifySettings,
    ) -> None:
        self.recipients, self.channels, self.rotas, self.notify = (
            recipients,
            channels,
            rotas,
            notify,
        )


def _tables(
    r: Reader, table: Mapping[str, Any], key: str, where: str, known: frozenset[str]
) -> list[Mapping[str, Any]]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(r.path, f"{where}.{key}", f"expected [[{where}.{key}]] tables")
    for i, item in enumerate(value):
        r.known_keys(item, f"{where}.{key}[{i}]", known)
    return value


def _channel(r: Reader, t: Mapping[str, Any], where: str) -> Channel:
    kind = r.choice(t, "kind", CHANNEL_KINDS, where)
    channel_id = r.slug(t, f"{where}.id")
    if kind == "pagerduty":
        key = r.text(t, "routing_key", where)
        if not ENV_NAME_RE.fullmatch(key):
            raise ConfigError(
                r.path, f"{where}.routing_key", "write env:NAME: the routing key is a secret"
            )
        url = r.webhook(t, "url", where) if "url" in t else ""
        return Channel(id=channel_id, kind=kind, url=url, routing_key=key)
    method = r.choice(t, "method", ("POST", "PUT"), where, default="POST")
    content_type = r.choice(t, "content_type", WEBHOOK_CONTENT_TYPES, where, default="json")
    headers = _templates(r, t, "headers", where, env=True)
    body = _templates(r, t, "body", where, env=False)
    if not body:
        raise ConfigError(r.path, f"{where}.body", "give the fields of the body")
    return Channel(
        id=channel_id,
        kind=kind,
        url=r.webhook(t, "url", where),
        method=method,
        content_type=content_type,
        headers=headers,
        body=body,
    )


def _templates(
    r: Reader, t: Mapping[str, Any], key: str, where: str, env: bool
) -> tuple[tuple[str, str], ...]:
    value = t.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(r.path, f"{where}.{key}", "expected a table of text values")
    for name, text in value.items():
        if env and ENV_NAME_RE.fullmatch(text):
            continue
        rest = PLACEHOLDER_RE.sub("", text)
        if "{" in rest or "}" in rest:
            raise ConfigError(
                r.path,
                f"{where}.{key}.{name}",
                f"{text[:60]!r}: the only placeholders are {{school}} and {{waited}}",
            )
    return tuple(value.items())


def _rota(r: Reader, t: Mapping[str, Any], where: str, ids: set[str]) -> Rota:
    rota_id = r.slug(t, f"{where}.id")
    value = t.get("shifts")
    if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(
            r.path,
            f"{where}.shifts",
            'expected [{ recipient = "id", hours = "mon-fri 16:00-24:00" }]',
        )
    shifts = []
    for i, item in enumerate(value):
        here = f"{where}.shifts[{i}]"
        r.known_keys(item, here, SHIFT_KEYS)
        who = r.text(item, "recipient", here)
        if who not in ids:
            raise ConfigError(r.path, f"{here}.recipient", f"no recipient has id {who!r}")
        shifts.append(_shift(r, who, r.text(item, "hours", here), f"{here}.hours"))
    return Rota(id=rota_id, shifts=tuple(shifts))


def _shift(r: Reader, who: str, text: str, where: str) -> Shift:
    m = SHIFT_RE.match(text)
    try:
        if not m:
            raise ValueError(text)
        days = parse_days(m["days"])
        start = int(m["start"]) * 60 + int(m["sm"])
        end = int(m["end"]) * 60 + int(m["em"])
        if int(m["sm"]) > 59 or int(m["em"]) > 59 or not 0 <= start < end <= 1440:
            raise ValueError(text)
    except ValueError:
        raise ConfigError(
            r.path,
            where,
            f'{text[:40]!r}: write days and times such as "mon-fri 16:00-24:00" (start before end)',
        ) from None
    return Shift(recipient=who, days=days, start=start, end=end)


def _ladder(
    r: Reader,
    t: Mapping[str, Any],
    where: str,
    context: _Context,
    schools: Mapping[str, Any],
    districts: Mapping[str, Any],
) -> Ladder:
    ladder_id = r.slug(t, f"{where}.id")
    named = tuple(r.strings(t, "schools", where, default=[]))
    whole = tuple(r.strings(t, "districts", where, default=[]))
    for key, values, known in (("schools", named, schools), ("districts", whole, districts)):
        for j, slug in enumerate(values):
            if slug not in known:
                raise ConfigError(r.path, f"{where}.{key}[{j}]", f"no {key[:-1]} has slug {slug!r}")
    if not named and not whole:
        raise ConfigError(r.path, where, "name the schools or districts this ladder is for")
    tables = _tables(r, t, "tiers", where, TIER_KEYS)
    if not tables:
        raise ConfigError(r.path, f"{where}.tiers", "give at least one tier")
    tiers = [_tier(r, x, f"{where}.tiers[{i}]", context) for i, x in enumerate(tables)]
    if not tiers[0].school:  # the relay's notice goes to them first; the ladder climbs from there
        raise ConfigError(
            r.path,
            f"{where}.tiers[0].school",
            "the first tier is the school's own recipients: write school = true, "
            "and put rotas and named people in the tiers after it",
        )
    reached: dict[str, str] = {}
    for i, tier in enumerate(tiers):
        people = tier.recipients or (
            tuple(s.recipient for s in context.rotas[tier.rota].shifts) if tier.rota else ("",)
        )
        for who in dict.fromkeys(people):
            if who in reached:
                thing = "the school's recipients" if who == "" else repr(who)
                raise ConfigError(
                    r.path,
                    f"{where}.tiers[{i}]",
                    f"the ladder overlaps itself: {thing} already in {reached[who]}",
                )
            reached[who] = f"tiers[{i}]"
    return Ladder(id=ladder_id, schools=named, districts=whole, tiers=tuple(tiers))


def _tier(r: Reader, t: Mapping[str, Any], where: str, context: _Context) -> Tier:
    school = r.boolean(t, "school", where, False)
    rota = r.text(t, "rota", where) if "rota" in t else ""
    people = tuple(r.strings(t, "recipients", where, default=[]))
    if [school, bool(rota), bool(people)].count(True) != 1:
        raise ConfigError(
            r.path, where, 'give exactly one of school = true, rota = "id" or recipients = [...]'
        )
    if rota and rota not in context.rotas:
        raise ConfigError(r.path, f"{where}.rota", f"no rota has id {rota!r}")
    for j, who in enumerate(people):
        if who not in context.recipients:
            raise ConfigError(r.path, f"{where}.recipients[{j}]", f"no recipient has id {who!r}")
    channels = tuple(r.strings(t, "channels", where, default=[]))
    for j, c in enumerate(channels):
        if c not in context.channels:
            raise ConfigError(r.path, f"{where}.channels[{j}]", f"no channel has id {c!r}")
    window = context.notify.window_minutes
    minutes: dict[str, float] = {}
    for key in ("wait", "wait_outside", "realert"):
        value = t.get(key)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 < value <= MAX_WAIT_MINUTES  # also refuses TOML's inf and nan
            or abs(value / window - round(value / window)) > 1e-9
        ):
            raise ConfigError(
                r.path,
                f"{where}.{key}",
                f"expected minutes above zero and at most {MAX_WAIT_MINUTES} (a week), "
                f"a whole multiple of [notify] window_minutes "
                f"({window:g}), got {value!r}",
            )
        minutes[key] = float(value)
    return Tier(school=school, rota=rota, recipients=people, channels=channels, **minutes)


def _no_school_twice(r: Reader, ladders: Sequence[Ladder]) -> None:
    """A school or district belongs to one ladder (a school's own ladder beats its district's)."""
    for key in ("schools", "districts"):
        owner: dict[str, str] = {}
        for i, ladder in enumerate(ladders):
            for j, slug in enumerate(getattr(ladder, key)):
                if slug in owner:
                    raise ConfigError(
                        r.path,
                        f"escalation.ladders[{i}].{key}[{j}]",
                        f"{slug!r} already has a ladder ({owner[slug]})",
                    )
                owner[slug] = f"ladders[{i}]"
