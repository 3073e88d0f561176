from __future__ import annotations

import datetime
import tomllib
from pathlib import Path

import pytest

from quietdoor.config import (
    ConfigError,
    TrainingSettings,
    dump_config,
    known_states,
    load_config,
    parse_config,
)

from .helpers import EXAMPLE


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def load_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    load_config(path)


def test_example_loads_with_recipients_per_school() -> None:
    d = load_config(EXAMPLE)
    assert [s.slug for s in d.schools] == ["lincoln-high", "riverside-middle", "cedar-valley-high"]
    assert [r.id for r in d.recipients_for("lincoln-high")] == ["dana-ortiz", "marcus-lee"]
    assert [r.id for r in d.recipients_for("cedar-valley-high")] == ["ruth-nakamura"]
    assert d.landing_url("lincoln-high") == "https://report.riverside.example/s/lincoln-high/"
    assert str(d.school("cedar-valley-high").read_hours) == "always"  # type: ignore[union-attr]


def test_dump_round_trips() -> None:
    d = load_config(EXAMPLE)
    assert parse_config(tomllib.loads(dump_config(d))) == d


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('organisation = "Riverside County Schools (example)"\n', "", "organisation", "missing"),
        ('slug = "riverside-middle"', 'slug = "lincoln-high"', "schools[1].slug", "used twice"),
        (
            'slug = "riverside-middle"',
            'slug = "Riverside Middle"',
            "schools[1].slug",
            "not a valid slug",
        ),
        (
            'x25519 = "Ra5SBDRb-XAwnemqSAvZXEry8gfibDko3r93730hXyE"',
            'x25519 = "not-a-key"',
            "recipients[0].x25519",
            "not a public key",
        ),
        (
            'ed25519 = "5i6prI2RQUntXqAspFMud2gU1CKDBTVNMUXqzPQ2UEk"',
            'ed25519 = "5i6prI2RQUntXqAspFMud2gU1CKDBTVNMUXqzPQ2UE"',
            "recipients[0].ed25519",
            "not a public key",
        ),
        (
            'base_url = "https://report.riverside.example"',
            'base_url = "http://report.riverside.example"',
            "base_url",
            "must use https",
        ),
        ('languages = ["en", "es"]', 'languages = ["en", "fr"]', "languages[1]", "not translated"),
        (
            'read_hours = "mon-fri 07:30-16:30"',
            'read_hours = "weekdays"',
            "schools[0].read_hours",
            "not understood",
        ),
        (
            'read_hours = "mon-fri 07:30-16:30"',
            'read_hours = "mon-fri 17:30-16:30"',
            "schools[0].read_hours",
            "start before end",
        ),
        ('district = "cedar-valley"', 'district = "nowhere"', "schools[2].district", "no district"),
        (
            'timezone = "America/Los_Angeles"',
            'timezone = "Pacific Time"',
            "timezone",
            "IANA name",
        ),
        ('timezone = "America/Los_Angeles"\n', "", "timezone", "missing"),
        (
            'schools = ["lincoln-high"]',
            'schools = ["nowhere"]',
            "recipients[0].schools[0]",
            "no school",
        ),
        ('districts = ["cedar-valley"]\n', "", "recipients[2]", "name the schools or districts"),
        (
            "daily_quota_per_school = 500",
            "daily_quota_per_school = 0",
            "relay.daily_quota_per_school",
            "positive whole number",
        ),
    ],
)
def test_bad_values_name_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    text = example_text()
    assert old in text
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text.replace(old, new, 1))
    assert err.value.field_name == field
    assert words in err.value.problem
    assert str(err.value).startswith(f"{tmp_path / 'bad.toml'}: {field}: ")


def test_school_without_recipient_is_refused(tmp_path: Path) -> None:
    text = example_text().replace('districts = ["cedar-valley"]', 'schools = ["lincoln-high"]')
    with pytest.raises(
        ConfigError, match=r"schools\[2\]: no recipient reads reports for 'cedar-valley-high'"
    ):
        load_text(tmp_path, text)


def test_unreadable_files_get_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_text(tmp_path, "organisation = [")


@pytest.mark.parametrize(
    ("old", "new", "field", "hint"),
    [
        ("languages = ", "langauges = ", "langauges", "did you mean 'languages'?"),
        ("[relay]\n", "[relay]\nmax_bodybytes = 1\n", "relay.max_bodybytes", "'max_body_bytes'"),
        (
            'read_hours = "always"',
            'read_hours = "always"\nreadhours = "x"',
            "schools[2].readhours",
            "did you mean 'read_hours'?",
        ),
        ('name = "Dana Ortiz"', 'name = "Dana Ortiz"\nemial = "d@x"', "recipients[0].emial", ""),
        (
            'location = "Nurse',
            'locaton = "x"\nlocation = "Nurse',
            "placements[2].locaton",
            "did you mean 'location'?",
        ),
        (
            'name = "Cedar Valley School District"',
            'name = "C"\nzzz = 1',
            "districts[1].zzz",
            "known keys: name, slug",
        ),
    ],
)
def test_unknown_keys_are_named_with_the_closest_known_one(
    tmp_path: Path, old: str, new: str, field: str, hint: str
) -> None:
    text = example_text()
    assert old in text
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text.replace(old, new, 1))
    assert err.value.field_name == field
    assert err.value.problem.startswith("unknown key")
    assert hint in err.value.problem


def test_lookups_use_an_index_built_once() -> None:
    d = load_config(EXAMPLE)
    assert d.school("nowhere") is None
    assert d.recipients_for("nowhere") == ()
    assert d.recipients_for("riverside-middle") == tuple(
        r for r in d.recipients if r.id in ("marcus-lee",)
    )


def with_training(text: str) -> str:
    """The example with a state and a full [training] table."""
    old = '# state = "CA"\n'
    assert old in text and "[training]\nnew_hire_days = 30\n" in text
    return text.replace(old, 'state = "TX"\n').replace(
        "[training]\nnew_hire_days = 30\n", "[training]\nrefresher_months = 6\nnew_hire_days = 45\n"
    )


def test_state_and_training_settings_load_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "tx.toml"
    path.write_text(with_training(example_text()), encoding="utf-8")
    d = load_config(path)
    assert d.state == "TX"
    assert d.training == TrainingSettings(refresher_months=6, new_hire_days=45)
    assert parse_config(tomllib.loads(dump_config(d))) == d
    plain = load_config(EXAMPLE)
    assert plain.state == "" and plain.training == TrainingSettings(None, 30)
    assert "state" not in dump_config(plain) and "refresher_months" not in dump_config(plain)


def test_every_state_with_a_rules_file_is_known() -> None:
    assert set(known_states()) >= {"CA", "FL", "NY", "OH", "TX"}
    assert "general" not in known_states()


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ('state = "WA"', "state", "no state rules for 'WA' (available: CA, FL, NY, OH, TX"),
        ('state = "WA"', "state", "write content/training/states/WA.toml"),
        ('state = "texas"', "state", "two-letter postal code"),
        ('state = "tx"', "state", "two-letter postal code"),
        ("state = 48", "state", "expected text"),
        ("refresher_months = 0", "training.refresher_months", "positive whole number"),
        ('new_hire_days = "30"', "training.new_hire_days", "positive whole number"),
        ("new_hire_day = 30", "training.new_hire_day", "did you mean 'new_hire_days'?"),
    ],
)
def test_bad_state_or_training_values_name_the_field(
    tmp_path: Path, value: str, field: str, words: str
) -> None:
    text = with_training(example_text())
    key = value.split(" ")[0]
    old = {"state": 'state = "TX"', "refresher_months": "refresher_months = 6"}.get(
        key, "new_hire_days = 45"
    )
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text.replace(old, value, 1))
    assert err.value.field_name == field
    assert words in err.value.problem


OLD_X = "A" * 42 + "E"  # 32 bytes of base64url, distinct from every example key
OLD_ED = "B" * 42 + "E"


def with_previous(text: str, entry: str) -> str:
    old = 'ed25519 = "5i6prI2RQUntXqAspFMud2gU1CKDBTVNMUXqzPQ2UEk"\n'
    assert old in text
    return text.replace(old, old + f"previous = [{entry}]\n", 1)


def test_previous_keys_load_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rotated.toml"
    entry = f'{{ x25519 = "{OLD_X}", ed25519 = "{OLD_ED}", until = 2027-01-31 }}'
    path.write_text(with_previous(example_text(), entry), encoding="utf-8")
    d = load_config(path)
    dana = d.recipients[0]
    assert [p.until for p in dana.previous] == [datetime.date(2027, 1, 31)]
    assert parse_config(tomllib.loads(dump_config(d))) == d
    assert dana.previous[0].x25519 != dana.x25519
    # A day written as text is read the same.
    path.write_text(with_previous(example_text(), entry.replace("2027-01-31", '"2027-01-31"')))
    assert load_config(path) == d


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        (f'{{ x25519 = "{OLD_X}", ed25519 = "{OLD_ED}", until = "soon" }}', "until", "not a day"),
        (f'{{ x25519 = "{OLD_X}", ed25519 = "{OLD_ED}" }}', "until", "missing"),
        (f'{{ x25519 = "short", ed25519 = "{OLD_ED}", until = 2027-01-31 }}', "x25519", "public"),
        (
            f'{{ x25519 = "{OLD_X}", ed25519 = "{OLD_ED}", until = 2027-01-31, untill = 1 }}',
            "untill",
            "unknown key",
        ),
        (
            '{ x25519 = "Ra5SBDRb-XAwnemqSAvZXEry8gfibDko3r93730hXyE", '
            f'ed25519 = "{OLD_ED}", until = 2027-01-31 }}',
            "x25519",
            "used twice (also at recipients[0].x25519)",
        ),
    ],
)
def test_bad_previous_keys_name_the_field(
    tmp_path: Path, entry: str, field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, with_previous(example_text(), entry))
    assert err.value.field_name.startswith("recipients[0].previous[0]")
    assert err.value.field_name.endswith(field)
    assert words in err.value.problem
