"""The relay's one error base, so that `python -m relay` catches one thing."""

from __future__ import annotations


class RelayError(Exception):
    """Something the relay cannot do; the message is one sentence for a person."""
