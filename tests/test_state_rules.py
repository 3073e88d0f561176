"""State rules: every data file is complete and sourced, and the built course shows its rules."""

from __future__ import annotations

import hashlib
import html
import re
import tomllib
from pathlib import Path

import pytest

from builder.course import load_course
from builder.course_source import write_course_source
from builder.state_rules import (
    STATE_RULES_DIR,
    StateRulesError,
    load_state_rules,
    parse_state_rules,
)
from builder.training import build_training
from quietdoor.config import known_states

from .support.paths import ROOT

TRAINING = ROOT / "content" / "training"
STATES = known_states()


def test_the_course_covers_the_states_the_issue_names() -> None:
    assert set(STATES) >= {"TX", "FL", "CA", "OH", "NY"}


@pytest.mark.parametrize("code", [*STATES, ""])
def test_every_rules_file_is_complete_with_statutes_and_sources(code: str) -> None:
    rules = load_state_rules(code)
    assert rules.code == (code or "general")
    assert rules.statutes and rules.sources
    assert all(s.url.startswith("https://") for s in rules.sources)
    if code:
        assert rules.reporting.line and rules.reporting.deadline_short
        assert rules.name not in ("", "your state")


GOOD = (STATE_RULES_DIR / "TX.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('code = "TX"', 'code = "FL"', "code: 'FL' does not match the file name"),
        ("version = 1", "version = 0", "version: expected a whole number from 1"),
        ('checked = "2025-11-20"', 'checked = "last week"', "checked: expected a date"),
        ("[reporting]\n", "[reporting]\nwhen = 'x'\n", "reporting.when: unknown key"),
        ('url = "https://www.txabusehotline.org/"', 'url = "http://x.example/"', "https address"),
        ("[training]\n", "[training]\nrecord = 'x'\n", "training.record: unknown key"),
        ('deadline_short = "24 hours at the latest"\n', "", "reporting.deadline_short"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_field(old: str, new: str, message: str) -> None:
    assert old in GOOD
    raw = tomllib.loads(GOOD.replace(old, new, 1))
    with pytest.raises(StateRulesError, match=re.escape(message)):
        parse_state_rules(raw, Path("TX.toml"), "TX")


def test_an_unknown_state_has_no_rules() -> None:
    with pytest.raises(StateRulesError, match="no rules file for 'WA'"):
        load_state_rules("WA")
    with pytest.raises(StateRulesError, match="not a state code"):
        load_state_rules("../general")


def test_modules_showing_state_rules_carry_the_rules_version() -> None:
    texas = load_course(TRAINING / "docs", load_state_rules("TX"))
    general = load_course(TRAINING / "docs", load_state_rules(""))
    by_id = {m.id: m for m in texas.modules}
    assert by_id["m04"].version.endswith("+TX.1") and by_id["m08"].version.endswith("+TX.1")
    assert by_id["m03"].version == "2"  # shows no state rules: the same in every state
    changed = {
        a.id for a, b in zip(texas.modules, general.modules, strict=True) if a.version != b.version
    }
    assert changed == {"m04", "m08"}


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("code", STATES)
def test_the_built_course_shows_the_state_rules(code: str, tmp_path: Path) -> None:
    rules = load_state_rules(code)
    before = tree_digest(TRAINING)
    write_course_source(TRAINING, tmp_path / "src", rules)
    build_training(tmp_path / "src", tmp_path / "out")
    assert tree_digest(TRAINING) == before  # nothing is ever written into content/
    front = " ".join(page_text(tmp_path / "out" / "index.html").split())
    reporting = " ".join(
        page_text(tmp_path / "out" / "modules" / "04-reporting-protocol" / "index.html").split()
    )
    duties = " ".join(
        page_text(
            tmp_path / "out" / "modules" / "08-legal-duties-and-records" / "index.html"
        ).split()
    )
    assert f"The rules in {rules.name}" in front
    assert rules.reporting.deadline in front and rules.reporting.personal in front
    for gap in rules.gaps:
        assert gap in front
    assert f"In {rules.name}" in reporting
    assert rules.reporting.to_whom in reporting and rules.reporting.line in reporting
    assert rules.reporting.deadline_short in reporting
    assert rules.training_rule in duties and rules.records in duties
    for statute in rules.statutes:
        assert statute in duties
    for source in rules.sources:
        assert source.url in reporting


def test_without_a_state_the_course_shows_the_general_text(tmp_path: Path) -> None:
    write_course_source(TRAINING, tmp_path / "src", load_state_rules(""))
    build_training(tmp_path / "src", tmp_path / "out")
    front = page_text(tmp_path / "out" / "index.html")
    assert "Reporting rules differ from state to state" in front
    assert "The rules in" not in front
    source = (tmp_path / "src" / "docs" / "modules" / "04-reporting-protocol.md").read_text()
    assert "qd:state" not in source  # every block was rendered
    assert "State child abuse reporting line" in source
