"""docs/KEYTOOL.md names every command and every option the key tool's CLI has."""

from __future__ import annotations

import argparse
import re

import pytest

from keytool.cli import build_parser

from .support.paths import ROOT

DOC = (ROOT / "docs" / "KEYTOOL.md").read_text(encoding="utf-8")


def commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(commands()))
def test_every_command_and_option_is_documented(command: str) -> None:
    assert re.search(rf"quietdoor-keytool [^\n]*\b{command}\b", DOC), command
    for action in commands()[command]._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert option in DOC, f"{command} {option}"
