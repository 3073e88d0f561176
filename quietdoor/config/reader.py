"""Typed access to a config's raw values: each check raises ConfigError naming the field.

The same Reader reads TOML tables and the rows of CSV files (``cells=True``), so a
school or placement is checked the same way whichever the file.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quietdoor.config.errors import ConfigError
from quietdoor.config.hours import ReadHours, parse_hours, valid_time
from quietdoor.config.keys import (
    EMAIL_RE,
    ENV_NAME_RE,
    NOTIFY_KEYS,
    NOTIFY_MODES,
    PLACEMENT_ID_RE,
    PREVIOUS_KEYS,
    RELAY_COUNTS,
    RELAY_KEYS,
    RELAY_ZERO_TURNS_OFF,
    SMTP_SCHEMES,
)
from quietdoor.config.model import NotifySettings, PreviousKeys, Recipient, RelayLimits
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.protocol import SLUG_RE
from quietdoor.states import STATE_CODE_RE, US_STATES, known_states

CSV_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class Reader:
    """Typed access to raw TOML values (or CSV cells), raising ConfigError that names the field."""

    def __init__(self, path: Path | str, cells: bool = False) -> None:
        self.path = path
        self.cells = cells  # reading a CSV file, whose cells are all text

    def _get(self, table: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
        if key in table:
            return table[key]
        if default is not None:
            return default
        raise ConfigError(self.path, join(where, key), "missing")

    def text(
        self, table: Mapping[str, Any], key: str, where: str = "", default: str | None = None
    ) -> str:
        value = self._get(table, key, where, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.path, join(where, key), f"expected text, got {value!r}")
        return value.strip()

    def slug(self, table: Mapping[str, Any], field_name: str) -> str:
        where, _, key = field_name.rpartition(": " if field_name.startswith("line ") else ".")
        value = self.text(table, key, where)
        if not SLUG_RE.fullmatch(value):
            raise ConfigError(
                self.path,
                field_name,
                f"{value!r} is not a valid slug (use lowercase letters, digits and hyphens)",
            )
        return value

    def url(
        self, table: Mapping[str, Any], key: str, default: str | None = None, where: str = ""
    ) -> str:
        value = self.text(table, key, where, default)
        field = join(where, key)
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(self.path, field, f"{value!r} is not an absolute http(s) URL")
        if not sends_safely(value):
            raise ConfigError(self.path, field, f"{value!r} must use https (http is for 127.0.0.1)")
        if parts.query or parts.fragment:
            raise ConfigError(self.path, field, f"{value!r} must not have a query or fragment")
        return value.rstrip("/")

    def email(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = self.text(table, key, where)
        if not EMAIL_RE.fullmatch(value):
            raise ConfigError(
                self.path, join(where, key), f"{value!r} is not an email address like a@b.org"
            )
        return value

    def webhook(self, table: Mapping[str, Any], key: str, where: str) -> str:
        """An incoming-webhook URL, or env:NAME to read it from the environment at start.

        A webhook URL is a secret (whoever has it can post to the channel), so a
        deployment whose config is shared may keep it in the environment instead.
        """
        value = self.text(table, key, where)
        if ENV_NAME_RE.fullmatch(value):
            return value
        if not sends_safely(value):
            raise ConfigError(
                self.path,
                join(where, key),
                f"{value[:60]!r} is not an https URL (http is for 127.0.0.1) or env:NAME",
            )
        return value

    def notify(self, table: Mapping[str, Any]) -> NotifySettings:
        where = "notify"
        self.known_keys(table, where, NOTIFY_KEYS)
        defaults = NotifySettings()
        smtp = self.text(table, "smtp", where) if "smtp" in table else ""
        if smtp:
            parts = urlsplit(smtp)
            if parts.scheme not in SMTP_SCHEMES or not parts.hostname or parts.password:
                raise ConfigError(
                    self.path,
                    "notify.smtp",
                    f"{smtp!r}: write smtp+starttls://user@host:587, smtps://user@host:465 or "
                    "smtp://host:25 (plain, 127.0.0.1 only); the password goes in the "
                    "environment variable QUIETDOOR_SMTP_PASSWORD, never here",
                )
            if parts.scheme == "smtp" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError(
                    self.path, "notify.smtp", f"{smtp!r}: use smtp+starttls:// or smtps://"
                )
        sender = self.email(table, "from", where) if smtp else ""
        minutes = table.get("window_minutes", defaults.window_minutes)
        if (
            not isinstance(minutes, int | float)
            or isinstance(minutes, bool)
            or not 0 < minutes <= 1440
        ):
            raise ConfigError(
                self.path,
                "notify.window_minutes",
                f"expected minutes from 0 to 1440, got {minutes!r}",
            )
        mode = table.get("mode", defaults.mode)
        if mode not in NOTIFY_MODES:
            raise ConfigError(
                self.path, "notify.mode", f"{mode!r}: expected one of {', '.join(NOTIFY_MODES)}"
            )
        digest_at = self.text(table, "digest_at", where, defaults.digest_at)
        if not re.fullmatch(r"\d\d:\d\d", digest_at) or not valid_time(digest_at):
            raise ConfigError(
                self.path, "notify.digest_at", f"{digest_at!r}: write a time like 07:00"
            )
        return NotifySettings(
            smtp=smtp,
            sender=sender,
            window_minutes=float(minutes),
            mode=mode,
            digest_at=digest_at,
        )

    def relay_limits(self, table: Mapping[str, Any]) -> RelayLimits:
        self.known_keys(table, "relay", RELAY_KEYS)
        defaults = RelayLimits()
        counts = {
            name: self.positive_int(table, name, "relay", getattr(defaults, name))
            for name in RELAY_COUNTS
        }
        zero_off: dict[str, int] = {}
        for name in RELAY_ZERO_TURNS_OFF:
            value = table.get(name, getattr(defaults, name))
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(
                    self.path,
                    f"relay.{name}",
                    f"expected a whole number (0 turns it off), got {value!r}",
                )
            zero_off[name] = value
        proof = table.get("proof_of_work", defaults.proof_of_work)
        if not isinstance(proof, bool):
            raise ConfigError(
                self.path, "relay.proof_of_work", f"expected true or false, got {proof!r}"
            )
        if counts["normal_daily_per_school"] >= counts["daily_quota_per_school"]:
            raise ConfigError(
                self.path,
                "relay.normal_daily_per_school",
                f"{counts['normal_daily_per_school']} must be below daily_quota_per_school "
                f"({counts['daily_quota_per_school']}): above it challenges are busy, and past the "
                "quota the relay warns of a flood",
            )
        proxies = self.strings(table, "trusted_proxies", "relay", default=[])
        for i, proxy in enumerate(proxies):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    self.path,
                    f"relay.trusted_proxies[{i}]",
                    f"{proxy[:60]!r} is not an address or network like 10.0.0.5 or 10.0.0.0/8",
                ) from None
        return RelayLimits(
            **counts,
            **zero_off,
            proof_of_work=proof,
            trusted_proxies=tuple(proxies),
            v2_since=self.day(table, "v2_since", "relay").isoformat()
            if "v2_since" in table
            else "",
        )

    def timezone(self, table: Mapping[str, Any], key: str, where: str = "") -> str:
        value = self.text(table, key, where)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder
            raise ConfigError(
                self.path,
                join(where, key),
                f'{value!r} is not a time zone; use an IANA name such as "America/Chicago"',
            ) from None
        return value

    def strings(
        self, table: Mapping[str, Any], key: str, where: str = "", default: list[str] | None = None
    ) -> list[str]:
        value = self._get(table, key, where, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                self.path, join(where, key), f"expected a list of text, got {value!r}"
            )
        return value

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        """An optional [key] table: empty when absent."""
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(self.path, key, f"expected a [{key}] table")
        return value

    def tables(
        self, table: Mapping[str, Any], key: str, known: frozenset[str]
    ) -> Sequence[Mapping[str, Any]]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(self.path, key, f"expected [[{key}]] tables")
        for i, item in enumerate(value):
            self.known_keys(item, f"{key}[{i}]", known)
        return value

    def known_keys(self, table: Mapping[str, Any], where: str, known: frozenset[str]) -> None:
        """A key we do not know is a typo until proven otherwise: name it, suggest the closest."""
        for key in sorted(set(table) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known keys: {', '.join(sorted(known))}"
            )
            what = "column" if self.cells else "key"
            raise ConfigError(self.path, join(where, key), f"unknown {what} ({hint})")

    def key(self, table: Mapping[str, Any], key: str, where: str) -> bytes:
        value = self.text(table, key, where)
        try:
            raw = b64u_decode(value)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                self.path,
                join(where, key),
                f"{value!r} is not a public key (expected 32 bytes in base64url, "
                "as printed by `quietdoor-keytool init`)",
            )
        return raw

    def previous_keys(self, table: Mapping[str, Any], where: str) -> tuple[PreviousKeys, ...]:
        """`previous = [{x25519, ed25519, until}]`: keys a rotation replaced, as `rotate` prints."""
        value = table.get("previous", [])
        fname = join(where, "previous")
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(
                self.path, fname, "expected a list of { x25519, ed25519, until } tables"
            )
        found = []
        for i, item in enumerate(value):
            here = f"{fname}[{i}]"
            self.known_keys(item, here, PREVIOUS_KEYS)
            found.append(
                PreviousKeys(
                    x25519=self.key(item, "x25519", here),
                    ed25519=self.key(item, "ed25519", here),
                    until=self.day(item, "until", here),
                )
            )
        return tuple(found)

    def day(self, table: Mapping[str, Any], key: str, where: str) -> datetime.date:
        value = self._get(table, key, where, None)
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(self.path, join(where, key), f"{value!r} is not a day such as 2027-01-31")

    def unique_keys(self, recipients: Sequence[Recipient]) -> None:
        """No key, current or previous, belongs to two recipients or appears twice."""
        for algorithm in ("x25519", "ed25519"):
            seen: dict[bytes, str] = {}
            for i, rec in enumerate(recipients):
                where = f"recipients[{i}]"
                keys = [(f"{where}.{algorithm}", getattr(rec, algorithm))]
                keys += [
                    (f"{where}.previous[{j}].{algorithm}", getattr(p, algorithm))
                    for j, p in enumerate(rec.previous)
                ]
                for fname, key in keys:
                    if key in seen:
                        raise ConfigError(
                            self.path,
                            fname,
                            f"{b64u_encode(key)!r} is used twice (also at {seen[key]})",
                        )
                    seen[key] = fname

    def hours(self, table: Mapping[str, Any], where: str) -> ReadHours:
        value = self.text(table, "read_hours", where)
        hours = parse_hours(value)
        if isinstance(hours, str):
            raise ConfigError(self.path, join(where, "read_hours"), hours)
        return hours

    def choice(
        self,
        table: Mapping[str, Any],
        key: str,
        choices: Sequence[str],
        where: str = "",
        default: str | None = None,
    ) -> str:
        value = self.text(table, key, where, default)
        if value not in choices:
            raise ConfigError(
                self.path,
                join(where, key),
                f"{value!r} is not one of {', '.join(map(repr, choices))}",
            )
        return value

    def boolean(self, table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
        """true or false; in a CSV cell also yes, no, 1 or 0, in any case."""
        value = table.get(key, default)
        if self.cells and isinstance(value, str):
            value = CSV_BOOLEANS.get(value.strip().lower(), value)
        if not isinstance(value, bool):
            raise ConfigError(self.path, join(where, key), f"expected true or false, got {value!r}")
        return value

    def placement_id(self, table: Mapping[str, Any], where: str) -> str:
        value = self.text(table, "id", where)
        if not PLACEMENT_ID_RE.match(value):
            raise ConfigError(
                self.path,
                join(where, "id"),
                f"{value!r} is not a valid placement id (up to 24 lowercase letters, digits "
                'and hyphens, such as "b2-stalls")',
            )
        return value

    def state(self, table: Mapping[str, Any]) -> str:
        """An optional state the course has rules for, so a typo cannot pass silently."""
        if "state" not in table:
            return ""
        value = self.text(table, "state")
        known = known_states()
        if value in known:
            return value
        listed = ", ".join(known) or "none yet"
        fix = (
            f"to add it, write content/training/states/{value}.toml "
            "and list it in quietdoor/states.py"
            if STATE_CODE_RE.match(value) and value in US_STATES
            else "use a US state's two-letter postal code in capitals, such as TX"
        )
        raise ConfigError(
            self.path,
            "state",
            f"no state rules for {value!r} (available: {listed}); {fix}, "
            "or leave state out for the general text",
        )

    def positive_int(self, table: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(
                self.path, join(where, key), f"expected a positive whole number, got {value!r}"
            )
        return value

    def unique(self, values: list[str], where: str, key: str) -> None:
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value in seen:
                raise ConfigError(self.path, f"{where}[{i}].{key}", f"{value!r} is used twice")
            seen.add(value)


def sends_safely(url: str) -> bool:
    """Whether a URL that carries a secret (a webhook, a routing key in its body) goes
    encrypted: https, or plain http only to this machine. The host is compared whole:
    http://localhost.example.org is another machine."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and on_this_machine(url))


def on_this_machine(url: str) -> bool:
    """Whether a URL names this machine: localhost or a loopback address, compared whole
    (127.0.0.1.nip.io is another machine); "env:NAME" and "" name no host."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def join(where: str, key: str) -> str:
    """``schools[2].slug`` in a TOML table; ``line 7: slug`` in a CSV file."""
    if not where:
        return key
    return f"{where}: {key}" if where.startswith("line ") else f"{where}.{key}"
