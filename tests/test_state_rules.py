"""State rules: every data file is complete and sourced, and the built course shows its rules."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import tomllib
from pathlib import Path

import jinja2
import pytest

from builder.course import load_course
from builder.course_source import write_course_source
from builder.state_rules import (
    STATE_RULES_DIR,
    UNVERIFIED,
    UNVERIFIED_ES,
    StateRules,
    StateRulesError,
    claims_table,
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
    assert rules.statutes
    if code:
        assert rules.sources and all(s.url.startswith("https://") for s in rules.sources)
        assert rules.reporting.line and rules.reporting.deadline_short
        assert rules.name not in ("", "your state")
        assert rules.claim("penalty") is not None  # the issue: every state states its penalty


@pytest.mark.parametrize("code", STATES)
def test_every_quoted_source_is_dated_and_quoted(code: str) -> None:
    for claim in load_state_rules(code).claims:
        for source in claim.sources:
            assert source.quote and source.read == "2026-12-06", (code, claim.id)


def test_a_claim_without_a_quote_is_shown_as_not_yet_verified() -> None:
    raw = tomllib.loads(GOOD)
    raw["claims"] = [{**c, "sources": []} if c["id"] == "deadline" else c for c in raw["claims"]]
    rules = parse_state_rules(raw, Path("TX.toml"), "TX")
    deadline = rules.claim("deadline")
    assert deadline is not None and not deadline.verified
    assert rules.shown("deadline").startswith(UNVERIFIED)


def with_deadline_sources(kinds: list[str]) -> StateRules:
    """The Texas rules with the deadline resting on one source of each kind given."""
    raw = tomllib.loads(GOOD)
    sources = [
        {
            "title": f"Source {i}",
            "url": f"https://example.org/{i}",
            "quote": "within 24 hours",
            "read": "2026-12-06",
            "kind": kind,
        }
        for i, kind in enumerate(kinds)
    ]
    raw["claims"] = [
        {**c, "sources": sources} if c["id"] == "deadline" else c for c in raw["claims"]
    ]
    return parse_state_rules(raw, Path("TX.toml"), "TX")


@pytest.mark.parametrize(
    ("kinds", "verified"),
    [
        (["secondary"], False),
        (["secondary", "secondary"], False),
        (["secondary", "primary"], True),
        (["primary"], True),
    ],
)
def test_a_claim_is_verified_only_by_a_primary_source(kinds: list[str], verified: bool) -> None:
    rules = with_deadline_sources(kinds)
    assert rules.shown("deadline").startswith(UNVERIFIED) is not verified
    for lang, label in (("en", UNVERIFIED), ("es", UNVERIFIED_ES)):
        assert rules.in_language(lang).shown("deadline").startswith(label) is not verified


@pytest.mark.parametrize(("kinds", "verified"), [(["secondary"], False), (["primary"], True)])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_checklist_marks_a_deadline_that_is_not_verified(
    kinds: list[str], verified: bool, lang: str
) -> None:
    rules = with_deadline_sources(kinds).in_language(lang)
    template = STATE_RULES_DIR / "templates" / ("es/" if lang == "es" else "") / "checklist.md.j2"
    shown = jinja2.Template(template.read_text(encoding="utf-8")).render(rules=rules)
    deadline = next(line for line in shown.splitlines() if rules.reporting.deadline_short in line)
    assert (rules.unverified_short in deadline) is not verified


def test_the_claims_table_marks_a_secondary_source(tmp_path: Path) -> None:
    secondary = 'kind = "secondary"\n'
    all_primary = GOOD.replace(secondary, "")
    first_read = 'read = "2026-12-06"\n'
    marked = all_primary.replace(first_read, first_read + secondary, 1)
    (tmp_path / "TX.toml").write_text(marked, encoding="utf-8")
    rows = claims_table(["TX"], tmp_path).splitlines()
    who = [r for r in rows if r.startswith("| TX | `who`")]
    to_whom = [r for r in rows if r.startswith("| TX | `to_whom`")]
    assert who and all("(not yet verified) | *secondary, a lead:*" in r for r in who)
    assert to_whom and not any("secondary" in r or "not yet" in r for r in to_whom)


GOOD = (STATE_RULES_DIR / "TX.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('code = "TX"', 'code = "FL"', "code: 'FL' does not match the file name"),
        ("version = 2", "version = 0", "version: expected a whole number from 1"),
        ('checked = "2026-12-06"', 'checked = "last week"', "checked: expected a date"),
        ("[reporting]\n", "[reporting]\nwhen = 'x'\n", "reporting.when: unknown key"),
        ('url = "https://www.tasb.org/', 'url = "http://www.tasb.org/', "claims[2].sources[0].url"),
        ('read = "2026-12-06"', 'read = "yesterday"', "claims[0].sources[0].read"),
        ('kind = "secondary"', 'kind = "summary"', "claims[0].sources[0].kind: 'summary'"),
        ('id = "penalty"', 'id = "fine"', "no claim with id 'penalty'"),
        ('id = "written"', 'id = "deadline"', "id 'deadline' is used twice"),
        ('label = "School police', 'labels = "School police', "claims[9].labels: unknown key"),
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
    assert all(by_id[m].version.endswith("+TX.2") for m in ("m04", "m08", "m10"))
    assert by_id["m03"].version == "2"  # shows no state rules: the same in every state
    changed = {
        a.id for a, b in zip(texas.modules, general.modules, strict=True) if a.version != b.version
    }
    assert changed == {"m04", "m08", "m10"}


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
    roles = " ".join(
        page_text(tmp_path / "out" / "modules" / "10-notes-for-your-role" / "index.html").split()
    )
    assert f"The rules in {rules.name}" in front
    for claim_id in ("who", "personal", "to_whom", "deadline", "penalty", "training"):
        assert shown_text(rules, claim_id) in front, claim_id
    for gap in rules.gaps:
        assert gap in front
    assert f"In {rules.name}" in reporting
    assert shown_text(rules, "to_whom") in reporting and rules.reporting.line in reporting
    assert shown_text(rules, "penalty") in reporting
    for claim in rules.extra_claims:
        assert plain(claim.shown) in reporting
    for claim in rules.role_notes:
        assert plain(claim.shown) in roles
    assert rules.reporting.deadline_short in reporting
    assert shown_text(rules, "training") in duties and shown_text(rules, "records") in duties
    for statute in rules.statutes:
        assert statute in duties
    for source in rules.sources:
        assert source.url in reporting
        lead = f"{source.title} (a secondary source: a lead to check"
        assert (lead in reporting) is not source.primary, source.url
    unverified = [c for c in rules.claims if not c.verified]
    assert ("Not yet verified" in front + reporting + duties + roles) == bool(unverified)


def plain(markdown: str) -> str:
    """A claim's Markdown as the page's text shows it (emphasis marks gone)."""
    return markdown.replace("*", "")


def shown_text(rules: StateRules, claim_id: str) -> str:
    return plain(rules.shown(claim_id))


def test_without_a_state_the_course_shows_the_general_text(tmp_path: Path) -> None:
    write_course_source(TRAINING, tmp_path / "src", load_state_rules(""))
    build_training(tmp_path / "src", tmp_path / "out")
    front = page_text(tmp_path / "out" / "index.html")
    assert "Reporting rules differ from state to state" in front
    assert "The rules in" not in front
    source = (tmp_path / "src" / "docs" / "modules" / "04-reporting-protocol.md").read_text()
    assert "qd:state" not in source  # every block was rendered
    assert "State child abuse reporting line" in source


def test_training_doc_lists_every_claim_and_its_source() -> None:
    doc = (ROOT / "docs" / "TRAINING.md").read_text(encoding="utf-8")
    assert claims_table(STATES) in doc, "regenerate the table: see docs/TRAINING.md"


@pytest.mark.parametrize("code", ["", *known_states()])
def test_every_state_file_words_its_attestation_with_the_day(code: str) -> None:
    rules = load_state_rules(code)
    for text in (rules.attestation, rules.attestation_es):
        assert text.count("{date}") == 1
    # Florida asks for an acknowledgment of having received the training (s. 1006.481(3)).
    assert rules.attestation.startswith("I acknowledge") == (code == "FL")
    assert rules.attestations == {"en": rules.attestation, "es": rules.attestation_es}


def test_an_attestation_without_its_day_or_its_spanish_text_is_named(tmp_path: Path) -> None:
    rules = load_state_rules("FL")
    with pytest.raises(StateRulesError, match=r"FL\.toml: attestation_es is missing"):
        dataclasses.replace(rules, attestation_es="").in_language("es")
    source = (STATE_RULES_DIR / "FL.toml").read_text(encoding="utf-8")
    (tmp_path / "FL.toml").write_text(source.replace("on {date}.", "today."), encoding="utf-8")
    with pytest.raises(StateRulesError, match=r"FL\.toml: attestation: name the day it is signed"):
        load_state_rules("FL", tmp_path)
