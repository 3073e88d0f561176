"""The core's state table agrees with the course's rules folder."""

from __future__ import annotations

import tomllib

from builder.state_rules import GENERAL, STATE_RULES_DIR
from quietdoor.states import COURSE_STATES, STATE_CODE_RE, US_STATES, known_states


def test_the_course_states_are_the_rules_files() -> None:
    files = sorted(p.stem for p in STATE_RULES_DIR.glob("*.toml") if p.stem != GENERAL)
    assert list(COURSE_STATES) == files
    assert known_states() == COURSE_STATES


def test_each_course_state_is_a_us_state_named_as_its_rules_file_names_it() -> None:
    for code in COURSE_STATES:
        rules = tomllib.loads((STATE_RULES_DIR / f"{code}.toml").read_text(encoding="utf-8"))
        assert rules["name"] == US_STATES[code]


def test_the_us_table_has_the_fifty_states_and_dc_as_postal_codes() -> None:
    assert len(US_STATES) == 51
    assert all(STATE_CODE_RE.fullmatch(code) for code in US_STATES)
