"""The builder's one error base: build.py and the demo catch it and print its sentence."""

from __future__ import annotations


class BuildError(Exception):
    """The site cannot be built; the message says why and what to do."""
