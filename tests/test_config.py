from __future__ import annotations

import dataclasses
import datetime
import gc
import tomllib
from pathlib import Path
from typing import Any

import pytest

from quietdoor.config import (
    RELAY_KEYS,
    ConfigError,
    Deployment,
    District,
    RelayLimits,
    School,
    TrainingSettings,
    csv_schools,
    dump_config,
    entries,
    known_states,
    load_config,
    parse_config,
)
from quietdoor.config.csv_files import CsvTable

from .support.paths import EXAMPLE
from .support.processes import open_files


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
    assert d.landing_url("lincoln-high", "en") == d.landing_url("lincoln-high")
    assert d.landing_url("lincoln-high", "es") == d.landing_url("lincoln-high") + "es/"
    assert str(d.school("cedar-valley-high").read_hours) == "always"  # type: ignore[union-attr]


def test_dump_round_trips() -> None:
    d = load_config(EXAMPLE)
    assert parse_config(tomllib.loads(dump_config(d))) == d


def test_the_day_of_version_2_loads_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "since.toml"
    path.write_text(example_text().replace("[relay]\n", '[relay]\nv2_since = "2026-11-02"\n', 1))
    d = load_config(path)
    assert d.relay.v2_since == "2026-11-02" and load_config(EXAMPLE).relay.v2_since == ""
    assert parse_config(tomllib.loads(dump_config(d))) == d


def test_a_school_may_have_its_own_languages() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'read_hours = "mon-fri 07:30-16:30"',
        'read_hours = "mon-fri 07:30-16:30"\nlanguages = ["ar", "en", "vi"]',
        1,
    )
    d = parse_config(tomllib.loads(text))
    assert d.allow_draft_languages and d.languages == ("en", "es")
    assert d.languages_for("lincoln-high") == ("ar", "en", "vi")
    assert d.languages_for("riverside-middle") == ("en", "es")
    assert d.offered_languages == ("en", "es", "ar", "vi")
    assert d.landing_url("lincoln-high") == "https://report.riverside.example/s/lincoln-high/"
    assert d.landing_url("lincoln-high", "en").endswith("/s/lincoln-high/en/")
    assert parse_config(tomllib.loads(dump_config(d))) == d
    assert not dataclasses.replace(d, allow_draft_languages=False) == d


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
        ('languages = ["en", "es"]', 'languages = ["en", "es", "en"]', "languages", "twice"),
        ('languages = ["en", "es"]', 'languages = ["en", "zh"]', "languages[1]", "not translated"),
        (
            "allow_draft_languages = true",
            'allow_draft_languages = "yes"',
            "allow_draft_languages",
            "expected true or false",
        ),
        (
            'read_hours = "mon-fri 07:30-16:30"',
            'read_hours = "mon-fri 07:30-16:30"\nlanguages = ["ar", "xx"]',
            "schools[0].languages[1]",
            "'xx' is not translated",
        ),
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
        *(
            ("[relay]\n", f"[relay]\nv2_since = {day}\n", "relay.v2_since", "is not a day")
            for day in ('"2026-02-30"', '"12/01/2026"', '""', "20261201", "true")
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
            "known keys: closures, name, slug, timezone",
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


def test_loading_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    load_config(EXAMPLE)
    assert gc.isenabled()
    with pytest.raises(ConfigError):
        load_text(tmp_path, "organisation = [")
    assert gc.isenabled()
    gc.disable()
    try:
        load_config(EXAMPLE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_lookups_use_an_index_built_once() -> None:
    d = load_config(EXAMPLE)
    assert d.school("nowhere") is None
    assert d.recipients_for("nowhere") == ()
    assert d.recipients_for("riverside-middle") == tuple(
        r for r in d.recipients if r.id in ("marcus-lee",)
    )


def test_recipients_of_a_school_come_in_config_order_once_each(tmp_path: Path) -> None:
    text = example_text().replace(
        'districts = ["riverside-unified"]',
        'districts = ["riverside-unified", "riverside-unified"]\nschools = ["riverside-middle"]',
        1,  # Marcus Lee's, not the ladder's
    )
    text = text.replace(
        'districts = ["cedar-valley"]',
        'districts = ["cedar-valley"]\nschools = ["lincoln-high"]',
        1,
    )
    path = tmp_path / "order.toml"
    path.write_text(text, encoding="utf-8")
    d = load_config(path)
    assert [r.id for r in d.recipients_for("lincoln-high")] == [
        "dana-ortiz",
        "marcus-lee",
        "ruth-nakamura",
    ]
    assert [r.id for r in d.recipients_for("riverside-middle")] == ["marcus-lee"]
    assert [r.id for r in d.recipients_for("cedar-valley-high")] == ["ruth-nakamura"]


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


def test_placements_have_ids_kinds_and_privacy() -> None:
    d = load_config(EXAMPLE)
    assert d.paper == "letter"
    stalls, counseling = d.placements_for("lincoln-high")
    assert (stalls.id, stalls.kind, stalls.private) == ("stalls-2f", "sticker", True)
    assert (counseling.id, counseling.kind, counseling.private) == ("counseling", "sign", False)
    assert d.placements_for("nowhere") == ()


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('paper = "letter"', 'paper = "legal"', "paper", "not one of 'letter', 'a4'"),
        ('id = "counseling"', 'id = "Counseling Office"', "placements[1].id", "placement id"),
        ('id = "counseling"', 'id = "stalls-2f"', "placements[1].id", "used twice at"),
        ('kind = "sign"', 'kind = "poster"', "placements[1].kind", "not one of"),
        (
            'sticker"\nprivate = true',
            'sticker"\nprivate = "yes"',
            "placements[0].private",
            "true or false",
        ),
        ('id = "counseling"\n', "", "placements[1].id", "missing"),
    ],
)
def test_bad_placement_and_paper_values(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    text = example_text()
    assert old in text
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text.replace(old, new, 1))
    assert err.value.field_name == field
    assert words in err.value.problem


def test_a_placement_id_may_repeat_at_another_school(tmp_path: Path) -> None:
    text = example_text().replace('id = "gym-stalls"', 'id = "stalls-2f"')
    path = tmp_path / "ok.toml"
    path.write_text(text)
    assert [p.id for p in load_config(path).placements_for("cedar-valley-high")] == ["stalls-2f"]


SCHOOLS_CSV = (
    "slug,name,district,district_name,read_hours\n"
    "oak-elementary,Oak Elementary,oak-district,Oak District,mon-fri 08:00-15:00\n"
    'pine-k8,"Pine K-8, North",oak-district,Oak District,always\n'
    "\n"
    "elm-high,Elm High,riverside-unified,,mon-fri 08:00-16:00\n"
)


def with_csv(tmp_path: Path, schools: str, placements: str = "") -> Path:
    (tmp_path / "schools.csv").write_text(schools, encoding="utf-8")
    text = example_text().replace('paper = "letter"', 'paper = "a4"\nschools_csv = "schools.csv"')
    if placements:
        (tmp_path / "placements.csv").write_text(placements, encoding="utf-8")
        text = text.replace('paper = "a4"', 'paper = "a4"\nplacements_csv = "placements.csv"')
    text += '\n[[recipients]]\nid = "oak-lead"\nname = "Oak Lead"\n'
    text += 'x25519 = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"\n'
    text += 'ed25519 = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"\n'
    text += 'districts = ["oak-district"]\n'
    path = tmp_path / "state.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_schools_and_placements_from_csv(tmp_path: Path) -> None:
    placements = "school,id,location,kind,private\npine-k8,b1,Boys' restroom,sticker,yes\n"
    d = load_config(with_csv(tmp_path, "\ufeff" + SCHOOLS_CSV, placements))
    assert [s.slug for s in d.schools][-3:] == ["oak-elementary", "pine-k8", "elm-high"]
    assert d.school("pine-k8").name == "Pine K-8, North"  # type: ignore[union-attr]
    assert d.district("oak-district").name == "Oak District"  # type: ignore[union-attr]
    assert [r.id for r in d.recipients_for("elm-high")] == ["marcus-lee"]
    (placement,) = d.placements_for("pine-k8")
    assert (placement.kind, placement.private, placement.location) == (
        "sticker",
        True,
        "Boys' restroom",
    )
    assert parse_config(tomllib.loads(dump_config(d))) == d


@pytest.mark.parametrize(
    ("schools", "field", "words"),
    [
        (
            SCHOOLS_CSV.replace("read_hours\n", "read_hours,website\n", 1),
            "line 1: website",
            "unknown column",
        ),
        (SCHOOLS_CSV.replace(",read_hours\n", "\n", 1), "line 1", "missing the column"),
        (
            SCHOOLS_CSV.replace("read_hours\n", "read_hours,name\n", 1).replace(
                ",always\n", ",always,Other\n"
            ),
            "line 1: name",
            "named twice",
        ),
        (SCHOOLS_CSV.replace("always", "weekdays"), "line 3: read_hours", "not understood"),
        (SCHOOLS_CSV.replace("elm-high,", "pine-k8,"), "line 5: slug", "used twice"),
        (SCHOOLS_CSV.replace("riverside-unified,,", "maple,,"), "line 5: district", "no district"),
        (
            SCHOOLS_CSV.replace("Oak District,always", "Oak Dist.,always"),
            "line 3: district_name",
            "differs",
        ),
        (SCHOOLS_CSV.replace(",always", ",always,extra"), "line 3", "6 cells"),
        (SCHOOLS_CSV.replace("Elm High", " "), "line 5: name", "missing"),
    ],
)
def test_bad_csv_rows_name_file_line_and_column(
    tmp_path: Path, schools: str, field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(with_csv(tmp_path, schools))
    assert err.value.path == str(tmp_path / "schools.csv")
    assert err.value.field_name == field
    assert words in err.value.problem


HEADER = "slug,name,district,district_name,read_hours\n"
OAK = "oak-elementary,Oak Elementary,oak-district,Oak District,mon-fri 08:00-15:00\n"
ODD_SCHOOL_CSVS = {
    "plain": SCHOOLS_CSV,
    "padded cells": HEADER + " oak-elementary , Oak Elementary , oak-district , Oak District ,"
    " mon-fri 08:00-15:00 \npine-k8,Pine,oak-district,Oak District,always\n",
    "a padded name given again": SCHOOLS_CSV.replace(
        ",Oak District,always", ", Oak District,always"
    ),
    "a name given once": SCHOOLS_CSV.replace(",Oak District,always", ",,always"),
    "a name given again, differently": SCHOOLS_CSV.replace("Oak District,always", "Oak,always"),
    "a table's district named": HEADER + OAK + "elm,Elm,riverside-unified,"
    "Riverside Unified School District,always\n",
    "a table's district named differently": HEADER + OAK + "elm,Elm,riverside-unified,R,always\n",
    "capitals in a slug": SCHOOLS_CSV.replace("elm-high,", "Elm-High,"),
    "a letter beyond ASCII in a slug": SCHOOLS_CSV.replace("elm-high,", "\u00e9lm-high,"),
    "a slug ending in a hyphen": SCHOOLS_CSV.replace("elm-high,", "elm-,"),
    "a slug too long": SCHOOLS_CSV.replace("elm-high,", "e" * 65 + ","),
    "a blank slug": SCHOOLS_CSV.replace("elm-high,", " ,"),
    "a blank name": SCHOOLS_CSV.replace("Elm High", " "),
    "a name on two lines": SCHOOLS_CSV.replace("Elm High", '"Elm\nHigh"'),
    "blank read hours": SCHOOLS_CSV.replace("mon-fri 08:00-16:00", " "),
    "read hours backwards": SCHOOLS_CSV.replace("08:00-16:00", "16:00-08:00"),
    "read hours not understood": SCHOOLS_CSV.replace("always", "weekdays"),
    "a slug twice": SCHOOLS_CSV.replace("elm-high,", "pine-k8,"),
    "a table's slug again": SCHOOLS_CSV.replace("elm-high,", "lincoln-high,"),
    "a district no one declares": SCHOOLS_CSV.replace("riverside-unified,,", "maple,,"),
    "a district slug with capitals": SCHOOLS_CSV.replace("oak-district", "Oak-District"),
    "a district no one reads": SCHOOLS_CSV.replace("riverside-unified,,", "maple,Maple,"),
    "a blank row": SCHOOLS_CSV.replace("\n\n", "\n,,,,\n"),
    "columns in another order": "district_name,read_hours,district,name,slug\n"
    "Oak,always,oak-district,Oak,oak\n,always,riverside-unified,Elm High,elm-high\n",
    "no district_name column": "read_hours,district,name,slug\n"
    "always,riverside-unified,Elm High,elm-high\nalways,cedar-valley,Fir,fir\n",
}


def _row_by_row(
    table: CsvTable, schools: dict[str, School], districts: dict[str, District]
) -> None:
    """Every CSV row through the checks a [[schools]] table goes through."""
    for values in table.rows:
        entries.add_school(table.reader, table.here(), table.table(values), schools, districts)


@pytest.mark.parametrize("schools", ODD_SCHOOL_CSVS.values(), ids=ODD_SCHOOL_CSVS)
def test_csv_schools_load_as_tables_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schools: str
) -> None:
    """The short path for plain CSV rows accepts and refuses exactly what the table checks do."""

    def outcome() -> Deployment | str:
        try:
            return load_config(with_csv(tmp_path, schools))
        except ConfigError as exc:
            return str(exc)

    short = outcome()
    monkeypatch.setattr(csv_schools, "add_csv_schools", _row_by_row)
    assert outcome() == short


def test_plain_csv_rows_take_the_short_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    add_school = entries.add_school

    def counted(*args: Any) -> None:
        checked.append(args[1])
        add_school(*args)

    monkeypatch.setattr(entries, "add_school", counted)
    load_config(with_csv(tmp_path, SCHOOLS_CSV))
    assert [where for where in checked if where.startswith("line")] == ["line 2"]  # declares oak


def test_a_csv_school_without_recipient_names_its_line(tmp_path: Path) -> None:
    schools = ODD_SCHOOL_CSVS["a district no one reads"]
    with pytest.raises(ConfigError) as err:
        load_config(with_csv(tmp_path, schools.replace("\n\n", "\n")))
    assert str(err.value) == (
        f"{tmp_path / 'schools.csv'}: line 4: no recipient reads reports for 'elm-high'"
    )


def test_bad_placements_csv(tmp_path: Path) -> None:
    placements = "school,id,location,private\npine-k8,b1,Restroom,maybe\n"
    with pytest.raises(ConfigError) as err:
        load_config(with_csv(tmp_path, SCHOOLS_CSV, placements))
    assert str(err.value) == (
        f"{tmp_path / 'placements.csv'}: line 2: private: expected true or false, got 'maybe'"
    )


def test_missing_csv_is_named_in_the_config(tmp_path: Path) -> None:
    path = with_csv(tmp_path, SCHOOLS_CSV)
    (tmp_path / "schools.csv").unlink()
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.field_name == "schools_csv"
    assert "file not found" in err.value.problem


def test_csv_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """A bad byte far down the file (read as the rows are checked) names the file."""
    path = with_csv(tmp_path, SCHOOLS_CSV)
    csv_path = tmp_path / "schools.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"Elm High", b"Elm H\xe9gh"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.path == str(csv_path)
    assert "cannot read the file" in err.value.problem


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("oak-elementary,Oak Elementary,oak-district,,mon-fry 08:00-15:00", "not understood"),
        ("lone-high,Lone High,lone-district,Lone District,always", "no recipient reads"),
    ],
    ids=["a bad row, with rows after it", "a school no recipient reads, found by reading again"],
)
def test_a_csv_error_leaves_the_file_closed(tmp_path: Path, row: str, problem: str) -> None:
    """Closed when the error is raised, not when the cyclic collector next runs."""
    path = with_csv(tmp_path, SCHOOLS_CSV.replace("\n\n", f"\n{row}\n"))
    csv_path = tmp_path / "schools.csv"
    gc.disable()
    try:
        # Not pytest.raises: its traceback would hold the reading frames, as a CLI's does not.
        try:
            load_config(path)
        except ConfigError as exc:
            message = exc.problem
        else:
            pytest.fail("the config loaded")
        assert problem in message
        assert str(csv_path) not in open_files()
    finally:
        gc.enable()


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


RELAY_SETTINGS = """[relay]
max_body_bytes = 98304
daily_quota_per_school = 400
normal_daily_per_school = 30
retention_days = 60
proof_of_work = false
proof_of_work_tries = 25
address_burst = 5
address_per_minute = 0
trusted_proxies = ["10.0.0.5", "fd00::/8"]
"""


def test_relay_settings_load_and_round_trip(tmp_path: Path) -> None:
    text = example_text().replace(
        "[relay]\nmax_body_bytes = 98304\ndaily_quota_per_school = 500\n", RELAY_SETTINGS
    )
    assert RELAY_SETTINGS in text
    path = tmp_path / "relay.toml"
    path.write_text(text, encoding="utf-8")
    d = load_config(path)
    assert d.relay == RelayLimits(
        daily_quota_per_school=400,
        normal_daily_per_school=30,
        retention_days=60,
        proof_of_work=False,
        proof_of_work_tries=25,
        address_burst=5,
        address_per_minute=0,
        trusted_proxies=("10.0.0.5", "fd00::/8"),
    )
    dumped = dump_config(d)
    assert parse_config(tomllib.loads(dumped)) == d
    # Every [relay] key is written, so the dump shows each setting in force (v2_since, which
    # has no default, when it is set: see test_the_day_of_version_2_loads_and_round_trips).
    written = tomllib.loads(dumped)["relay"]
    assert set(written) == RELAY_KEYS - {"v2_since"}


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("proof_of_work = false", "relay.proof_of_work", "true or false"),
        ("retention_days = 0", "relay.retention_days", "positive whole number"),
        ("address_per_minute = 0", "relay.address_per_minute", ""),
        ("normal_daily_per_school = 500", "relay.normal_daily_per_school", "below daily_quota"),
        ('trusted_proxies = ["10.0.0.0/8", "gateway"]', "relay.trusted_proxies[1]", "'gateway'"),
        ("trusted_proxies = [1]", "relay.trusted_proxies", "list of text"),
        ("retention = 90", "relay.retention", "did you mean 'retention_days'?"),
    ],
)
def test_bad_relay_settings_name_the_field(
    tmp_path: Path, value: str, field: str, words: str
) -> None:
    bad = {
        "proof_of_work = false": 'proof_of_work = "no"',
        "address_per_minute = 0": "address_per_minute = -1",
    }.get(value, value)
    text = example_text().replace(
        "daily_quota_per_school = 500\n", f"daily_quota_per_school = 500\n{bad}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text)
    assert err.value.field_name == field
    assert words in err.value.problem
