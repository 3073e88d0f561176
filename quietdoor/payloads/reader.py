"""Typed access to JSON from outside, each failure naming the field at fault.

The JSON is first parsed within limits (`quietdoor.strictjson`); a Reader then
validates it field by field. Payloads raise ProtocolError; other formats (the
course's files) pass their own error class, so the message still names the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from quietdoor.encoding import b64u_decode
from quietdoor.errors import QuietDoorError
from quietdoor.protocol import SLUG_RE, ProtocolError

MAX_TEXT = 20_000  # characters of one free-text answer, reply or note
MAX_SHORT = 200  # a name, a role, a module id or version
SENT_FORMAT = "%Y-%m-%dT%H:%MZ"
DAY_FORMAT = "%Y-%m-%d"


class Reader:
    """One JSON object, read field by field; `where` is how messages name it."""

    def __init__(self, obj: Any, where: str, error: type[QuietDoorError] = ProtocolError) -> None:
        if not isinstance(obj, dict):
            raise error(f"{where} must be a JSON object")
        self.obj: dict[str, Any] = obj
        self.where = where
        self.error = error

    def field(self, name: str) -> Any:
        if name not in self.obj:
            raise self.error(f"{self.where}.{name}: missing")
        return self.obj[name]

    def fail(self, name: str, problem: str) -> QuietDoorError:
        return self.error(f"{self.where}.{name}: {problem}")

    def only(self, names: Sequence[str]) -> None:
        for extra in sorted(set(self.obj) - set(names)):
            raise self.fail(extra[:32], "unknown field")

    def text(self, name: str, limit: int = MAX_TEXT, *, empty: bool = True) -> str:
        value = self.field(name)
        if not isinstance(value, str):
            raise self.fail(name, "must be text")
        if len(value) > limit:
            raise self.fail(name, f"longer than {limit} characters")
        if not empty and not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    def choice(self, name: str, options: Sequence[str]) -> str:
        value = self.field(name)
        if not isinstance(value, str) or value not in options:
            raise self.fail(name, f"must be one of {', '.join(repr(o) for o in options)}")
        return value

    def pattern(self, name: str, regex: re.Pattern[str], description: str) -> str:
        value = self.text(name, MAX_SHORT)
        if not regex.fullmatch(value):
            raise self.fail(name, f"must be {description}")
        return value

    def moment(self, name: str, fmt: str, description: str) -> str:
        """A time or day written exactly as fmt writes it (zero-padded), and a real one."""
        value = self.text(name, MAX_SHORT)
        try:
            valid = datetime.strptime(value, fmt).strftime(fmt) == value
        except ValueError:
            valid = False
        if not valid:
            raise self.fail(name, f"must be {description}")
        return value

    def slug(self, name: str) -> str:
        return self.pattern(name, SLUG_RE, "a slug (lowercase letters, digits, hyphens)")

    def binary(self, name: str, size: int) -> bytes:
        value = self.field(name)
        try:
            raw = b64u_decode(value)
        except ValueError:
            raise self.fail(name, "must be base64url without padding") from None
        if len(raw) != size:
            raise self.fail(name, f"must be {size} bytes")
        return raw

    def count(self, name: str, high: int, low: int = 0) -> int:
        value = self.field(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(name, f"must be a whole number from {low} to {high}")
        return value

    def table(self, name: str) -> Reader:
        return Reader(self.field(name), f"{self.where}.{name}", self.error)

    def tables(self, name: str, limit: int) -> list[Reader]:
        value = self.field(name)
        if not isinstance(value, list) or len(value) > limit:
            raise self.fail(name, f"must be a list of at most {limit} objects")
        return [
            Reader(item, f"{self.where}.{name}[{i}]", self.error) for i, item in enumerate(value)
        ]
