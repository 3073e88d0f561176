"""CSV cells a spreadsheet reads as text, never as a formula.

Every CSV the project writes (the builder's plan and readiness, the key tool's
roster and stats) holds names someone else typed: a school named
`=HYPERLINK(...)` must not become a link or a command when a lead opens the file.

A carriage return becomes a line feed: Python's csv writer with "\n" line ends
leaves a bare CR unquoted, and a spreadsheet would start a new row there.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value: object) -> object:
    """Text that starts like a formula, with a ' in front; anything else as it is."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text.startswith(FORMULA_START) else text


def cells(values: Iterable[object]) -> list[object]:
    return [cell(v) for v in values]
