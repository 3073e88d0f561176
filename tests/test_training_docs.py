"""docs/TRAINING.md keeps up with the code: every state file, config key and roster status."""

from __future__ import annotations

import pytest

from keytool.roster_report import STATUS_ORDER
from quietdoor.config import TRAINING_KEYS, known_states

from .support.paths import ROOT

DOC = (ROOT / "docs" / "TRAINING.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", known_states())
def test_every_state_file_has_a_row_in_the_rules_table(code: str) -> None:
    assert f"\n| {code} |" in DOC


@pytest.mark.parametrize("key", sorted(TRAINING_KEYS | {"state"}))
def test_every_training_config_key_is_documented(key: str) -> None:
    assert f"`{key}" in DOC or f"{key} =" in DOC


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_every_roster_status_is_explained(status: str) -> None:
    assert f"| `{status}` |" in DOC
