"""Small pieces of the sentences the key tool prints, for every module that prints them."""

from __future__ import annotations


def plural(count: int, one: str, many: str = "") -> str:
    """ "1 report", "2 reports": a count with its noun."""
    return f"{count} {one if count == 1 else many or one + 's'}"
