"""The rule for keys replaced by `keytool rotate`: one definition for the relay and the key tool.

A rotated recipient's config lists each previous key with `until`, its last
UTC day: the relay still accepts envelopes sealed to it (a student's phone may
hold an old page), and the key tool still trusts what it signed, until that day ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def still_counts(until: date, when: date | datetime) -> bool:
    """True while a key whose last day is `until` still counts: up to the end of that UTC day.

    when is a UTC day, or a moment (timezone-aware), which counts on its UTC day.
    """
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("still_counts needs a moment with its timezone")
        when = when.astimezone(UTC).date()
    return when <= until
