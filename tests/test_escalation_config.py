from __future__ import annotations

import dataclasses
import datetime
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from builder.plan import school_problems
from demo.alerts import alert_routes
from quietdoor.config import (
    ConfigError,
    covers_every_hour,
    dump_config,
    load_config,
    on_call_around_the_clock,
    parse_config,
)

from .support.ladders import (
    KEYS,
    ON_CALL,
    UNREACHABLE,
    example_without_ladder,
    ladder_text,
    write_ladder,
)
from .support.paths import EXAMPLE, ROOT


def test_the_ladder_loads(tmp_path: Path) -> None:
    d = load_config(write_ladder(tmp_path))
    ladder = d.escalation.ladder_for("lincoln-high", "riverside-unified")
    assert ladder is not None
    assert [(t.school, t.rota, t.recipients) for t in ladder.tiers] == [
        (True, "", ()),
        (False, "on-call", ()),
        (False, "", ("marcus-lee",)),
    ]
    assert [t.wait for t in ladder.tiers] == [60, 30, 15]
    assert d.escalation.ladder_for("cedar-valley-high", "cedar-valley") is None
    assert not d.escalation.urgent_hint
    assert d.escalation.channel("sms").headers == (("Authorization", "env:QD_TEST_SMS_TOKEN"),)
    covers = [covers_every_hour(d, "lincoln-high", t) for t in ladder.tiers]
    assert covers == [False, True, True]


def test_a_rota_picks_by_day_and_hour_and_finds_holes(tmp_path: Path) -> None:
    text = ladder_text().replace("sat-sun 00:00-24:00", "sat-sun 08:00-20:00")
    rota = load_config(write_ladder(tmp_path, text)).escalation.rota("on-call")
    zone = ZoneInfo("America/Los_Angeles")
    assert rota.on_call(datetime.datetime(2026, 12, 4, 23, 30, tzinfo=zone)) == ("ana-wu",)
    assert rota.on_call(datetime.datetime(2026, 12, 5, 9, 0, tzinfo=zone)) == ("ben-cho",)
    assert rota.on_call(datetime.datetime(2026, 12, 5, 21, 0, tzinfo=zone)) == ()
    assert (5, 20) in rota.holes and (5, 7) in rota.holes and (5, 8) not in rota.holes


def test_a_gap_of_a_few_minutes_is_a_hole(tmp_path: Path) -> None:
    text = ladder_text().replace("sat-sun 00:00-24:00", "sat-sun 00:00-16:01")
    text = text.replace(
        "shifts = [", 'shifts = [{ recipient = "ben-cho", hours = "sat-sun 16:04-24:00" }, ', 1
    )
    rota = load_config(write_ladder(tmp_path, text)).escalation.rota("on-call")
    assert (5, 16) in rota.holes and (6, 16) in rota.holes and (5, 17) not in rota.holes


def test_a_district_keeps_its_own_clock_and_closures(tmp_path: Path) -> None:
    text = ladder_text().replace(
        'name = "Riverside Unified School District"',
        'name = "Riverside Unified School District"\ntimezone = "America/Chicago"\n'
        'closures = ["2026-12-21/2027-01-01", "2027-05-31"]',
    )
    d = load_config(write_ladder(tmp_path, text))
    cal = d.calendar("lincoln-high")
    assert cal.timezone == d.timezone_of("lincoln-high") == "America/Chicago"
    assert d.calendar("cedar-valley-high").timezone == "America/Los_Angeles"
    assert not d.calendar("cedar-valley-high").closures
    assert cal.closed(datetime.date(2026, 12, 25)) and cal.closed(datetime.date(2027, 5, 31))
    assert not cal.closed(datetime.date(2027, 1, 2))
    hours = d.school("lincoln-high").read_hours  # type: ignore[union-attr]
    zone = ZoneInfo("America/Chicago")
    monday = datetime.datetime(2026, 12, 14, 10, 0, tzinfo=zone)
    assert cal.in_read_hours(hours, monday)
    assert not cal.in_read_hours(hours, monday + datetime.timedelta(days=7))  # closed
    assert not cal.in_read_hours(hours, monday.replace(hour=18))


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            'recipients = ["marcus-lee"]',
            'recipients = ["nobody"]',
            "escalation.ladders[0].tiers[2].recipients[0]",
            "no recipient has id 'nobody'",
        ),
        (
            '{ recipient = "ben-cho"',
            '{ recipient = "bem-cho"',
            "escalation.rotas[0].shifts[1].recipient",
            "no recipient has id 'bem-cho'",
        ),
        (
            'recipients = ["marcus-lee"]',
            'recipients = ["ana-wu"]',
            "escalation.ladders[0].tiers[2]",
            "overlaps itself: 'ana-wu' already in tiers[1]",
        ),
        (
            'rota = "on-call"',
            "school = true",
            "escalation.ladders[0].tiers[1]",
            "overlaps itself: the school's recipients",
        ),
        (
            '[[escalation.channels]]\nid = "pager"',
            '[escalation]\npagerduty_url = "http://pager.example/enqueue"\n\n'
            '[[escalation.channels]]\nid = "pager"',
            "escalation.pagerduty_url",
            "must use https",
        ),
        (
            "school = true\nwait = 60",
            'recipients = ["dana-ortiz"]\nwait = 60',
            "escalation.ladders[0].tiers[0].school",
            "the first tier is the school's own recipients",
        ),
        ("wait = 60", "wait = 0", "escalation.ladders[0].tiers[0].wait", "above zero"),
        ("wait = 60", "wait = inf", "escalation.ladders[0].tiers[0].wait", "above zero"),
        ("wait = 60", "wait = nan", "escalation.ladders[0].tiers[0].wait", "above zero"),
        ("wait = 60", "wait = 10095", "escalation.ladders[0].tiers[0].wait", "at most 10080"),
        ("wait = 60", "wait = 20", "escalation.ladders[0].tiers[0].wait", "multiple"),
        (
            'realert = 15\nchannels = ["pager"]',
            'realert = true\nchannels = ["pager"]',
            "escalation.ladders[0].tiers[2].realert",
            "above zero",
        ),
        (
            'districts = ["riverside-unified"]\n\n[[escalation.ladders.tiers]]',
            'districts = ["riverside-unified"]\nschool = true\n\n[[escalation.ladders.tiers]]',
            "escalation.ladders[0].school",
            "unknown key",
        ),
        (
            'channels = ["sms"]',
            'channels = ["telex"]',
            "escalation.ladders[0].tiers[1].channels[0]",
            "no channel",
        ),
        (
            'rota = "on-call"',
            'rota = "on-cal"',
            "escalation.ladders[0].tiers[1].rota",
            "no rota has id",
        ),
        (
            'rota = "on-call"',
            'rota = "on-call"\nrecipients = ["ana-wu"]',
            "escalation.ladders[0].tiers[1]",
            "exactly one of",
        ),
        (
            'hours = "mon-fri 00:00-24:00"',
            'hours = "mon-fri 20:00-08:00"',
            "escalation.rotas[0].shifts[0].hours",
            "start before end",
        ),
        (
            'routing_key = "env:QD_TEST_ROUTING_KEY"',
            'routing_key = "R0UT1NGKEY"',
            "escalation.channels[0].routing_key",
            "env:NAME",
        ),
        (
            "has waited {waited} minutes",
            "has waited {waited} minutes, case {case}",
            "escalation.channels[1].body.text",
            "only placeholders are {school} and {waited}",
        ),
        (
            'content_type = "json"',
            'content_type = "xml"',
            "escalation.channels[1].content_type",
            "not one of",
        ),
        (
            'districts = ["riverside-unified"]\n\n[[escalation',
            'districts = ["riverside-unified"]\nschools = ["nowhere"]\n\n[[escalation',
            "escalation.ladders[0].schools[0]",
            "no school has slug 'nowhere'",
        ),
        (
            'name = "Riverside Unified School District"',
            'name = "Riverside Unified School District"\ntimezone = "Pacific"',
            "districts[0].timezone",
            "IANA name",
        ),
        (
            'name = "Riverside Unified School District"',
            'name = "Riverside Unified School District"\nclosures = ["2027-01-05/2027-01-01"]',
            "districts[0].closures[0]",
            "a range like",
        ),
        (
            'name = "Riverside Unified School District"',
            'name = "Riverside Unified School District"\nclosures = ["2027-05-31/"]',
            "districts[0].closures[0]",
            "a range like",
        ),
        ("window_minutes = 15", 'mode = "digest"', "escalation.ladders", "digest"),
        (
            "window_minutes = 15",
            "window_minutes = 10",
            "escalation.ladders[0].tiers[0].wait_outside",
            "(10)",
        ),
        (
            "[[escalation.rotas]]",
            "[escalation]\nurgent = true\n\n[[escalation.rotas]]",
            "escalation.urgent",
            "unknown key",
        ),
    ],
)
def test_a_bad_ladder_is_refused_by_name(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    text = ladder_text()
    assert old in text
    with pytest.raises(ConfigError) as err:
        load_config(write_ladder(tmp_path, text.replace(old, new, 1)))
    assert f": {field}" in str(err.value) and words in str(err.value)


def test_a_school_in_two_ladders_is_refused(tmp_path: Path) -> None:
    text = ladder_text() + (
        '\n[[escalation.ladders]]\nid = "again"\ndistricts = ["riverside-unified"]\n'
        "[[escalation.ladders.tiers]]\nschool = true\nwait = 15\nwait_outside = 15\nrealert = 15\n"
    )
    with pytest.raises(
        ConfigError, match=r"ladders\[1\].districts\[0\]: 'riverside-unified' already"
    ):
        load_config(write_ladder(tmp_path, text))


def test_a_ladder_round_trips_through_dump(tmp_path: Path) -> None:
    text = ladder_text().replace(
        'name = "Riverside Unified School District"',
        'name = "Riverside Unified School District"\ntimezone = "America/Chicago"\n'
        'closures = ["2026-12-21/2027-01-01", "2027-05-31"]',
    )
    d = load_config(write_ladder(tmp_path, text))
    assert parse_config(tomllib.loads(dump_config(d))) == d


def ladder_messages(tmp_path: Path, text: str, slug: str = "lincoln-high") -> dict[str, str]:
    """The ladder problems the readiness report finds for a school: check -> messages."""
    d = load_config(write_ladder(tmp_path, text))
    school = d.school(slug)
    assert school is not None
    found: dict[str, str] = {}
    for f in school_problems(d, school):
        if f.level == "problem" and f.check in LADDER_CHECKS:
            found[f.check] = " | ".join(filter(None, (found.get(f.check), f.message)))
    return found


def ladder_findings(tmp_path: Path, text: str, slug: str = "lincoln-high") -> set[str]:
    return set(ladder_messages(tmp_path, text, slug))


LADDER_CHECKS = ("no-on-call-tier", "rota-hole", "tier-unreachable", "tier-without-keys")
ON_THIS_MACHINE = "channel-on-this-machine"


def test_a_sound_ladder_has_no_ladder_findings(tmp_path: Path) -> None:
    assert ladder_findings(tmp_path, ladder_text()) & set(LADDER_CHECKS) == set()


@pytest.mark.parametrize(
    ("old", "new", "found"),
    [
        # A rota with a hole every night, and no last tier: no one at every hour.
        (
            '"mon-fri 00:00-24:00"',
            '"mon-fri 07:00-22:00"',
            {"rota-hole"},
        ),
        (
            'recipients = ["marcus-lee"]\nwait = 15',
            'recipients = ["ruth-nakamura"]\nwait = 15',
            {"tier-without-keys"},  # Ruth reads Cedar Valley only
        ),
    ],
    ids=["rota-hole", "tier-without-keys"],
)
def test_the_readiness_report_flags_a_ladder_that_will_not_reach_anyone(
    tmp_path: Path, old: str, new: str, found: set[str]
) -> None:
    text = ladder_text()
    assert old in text
    assert ladder_findings(tmp_path, text.replace(old, new)) & set(LADDER_CHECKS) == found


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("no-email", {"tier-unreachable": ("Tier 2", "ana-wu", "ben-cho", "Tier 3", "marcus-lee")}),
        ("weekends-no-email", {"tier-unreachable": ("Tier 2", "ben-cho", "Tier 3", "marcus-lee")}),
        (
            "weekends-no-key",
            {"tier-unreachable": ("Tier 3", "marcus-lee"), "tier-without-keys": ("ben-cho",)},
        ),
    ],
)
def test_the_readiness_report_names_who_an_alert_cannot_reach(
    tmp_path: Path, config: str, named: dict[str, tuple[str, ...]]
) -> None:
    found = ladder_messages(tmp_path, UNREACHABLE[config])
    assert set(found) == {"no-on-call-tier", *named}
    for check, words in named.items():
        assert all(w in found[check] for w in words), found[check]
    assert "ana-wu" not in found.get("tier-without-keys", "")
    if config != "no-email":
        assert "ana-wu" not in found["tier-unreachable"]


def test_each_person_on_a_tier_without_keys_is_named(tmp_path: Path) -> None:
    """Marcus Lee reads Lincoln High; Ruth Nakamura, beside him on the tier, does not."""
    old = 'recipients = ["marcus-lee"]\nwait = 15'
    text = ladder_text().replace(old, 'recipients = ["marcus-lee", "ruth-nakamura"]\nwait = 15')
    assert old in ladder_text()
    found = ladder_messages(tmp_path, text)
    assert set(found) == {"tier-without-keys"}
    assert "Tier 3" in found["tier-without-keys"] and "ruth-nakamura" in found["tier-without-keys"]
    assert "marcus-lee" not in found["tier-without-keys"]


def test_a_school_whose_ladder_has_no_one_at_every_hour_is_flagged(tmp_path: Path) -> None:
    text = ladder_text().replace('"mon-fri 00:00-24:00"', '"mon-fri 07:00-22:00"')
    text = text[: text.index('[[escalation.ladders.tiers]]\nrecipients = ["marcus-lee"]')]
    assert ladder_findings(tmp_path, text) & set(LADDER_CHECKS) == {"no-on-call-tier", "rota-hole"}
    # Cedar Valley High has no ladder in a deployment that uses them.
    assert "no-on-call-tier" in ladder_findings(tmp_path, ladder_text(), "cedar-valley-high")


def test_the_deployment_guides_ladder_loads(tmp_path: Path) -> None:
    """docs/DEPLOYMENT.md's example escalation, with the people it names, as written."""
    guide = (ROOT / "docs" / "DEPLOYMENT.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Escalation") :]
    block = section[section.index("```toml\n") + 8 : section.index("```\n", 10)]
    people = ON_CALL.format(**KEYS).split('[[recipients]]\nid = "ben-cho"')[0]
    text = example_without_ladder() + people + block
    d = load_config(write_ladder(tmp_path, text.replace('email = "ana@riverside.example"\n', "")))
    assert [c.kind for c in d.escalation.channels] == ["pagerduty", "webhook", "webhook"]
    assert on_call_around_the_clock(d, "lincoln-high")


@pytest.mark.parametrize("relay", ["as the example has it", "on this machine, as in the demo"])
def test_the_examples_ladder_counts_its_channel_only_where_something_listens(relay: str) -> None:
    # The example's channel posts to this machine, where the demo listens. Copied into a
    # deployment whose relay is elsewhere, it must not make the pages promise anyone on call.
    d = load_config(EXAMPLE)
    demo = relay.startswith("on this machine")
    if demo:
        d = dataclasses.replace(d, relay_url="http://127.0.0.1:8000")
    for school in d.schools:
        assert on_call_around_the_clock(d, school.slug) is demo, school.slug
        found = {f.check for f in school_problems(d, school)} & {*LADDER_CHECKS, ON_THIS_MACHINE}
        unheard = {"no-on-call-tier", "tier-unreachable", ON_THIS_MACHINE}
        assert found == (set() if demo else unheard), school.slug


def test_the_demo_says_where_the_examples_alerts_go() -> None:
    d = load_config(EXAMPLE)
    routes = alert_routes(d)
    assert routes[:3] == [
        "Escalation alerts, when no one views a school's inbox:",
        "  riverside (riverside-unified):",
        "    1. the school's recipients; waits 60 min in read hours, 15 outside, "
        "re-alerts every 15 min",
    ]
    assert routes[3].startswith(
        "    2. Marcus Lee (no e-mail or webhook); "
        "channel district-on-call (webhook to 127.0.0.1:8025); waits 15 min"
    )


def test_the_demo_says_where_a_rota_s_alerts_go_and_when_there_is_no_ladder(
    tmp_path: Path,
) -> None:
    routes = alert_routes(load_config(write_ladder(tmp_path)))
    assert routes[3] == (
        "    2. whoever the rota on-call has on call: Ana Wu (e-mail ana@riverside.example); "
        "Ben Cho (e-mail ben@riverside.example); channel sms (webhook to 127.0.0.1:9); "
        "waits 30 min in read hours, 30 outside, re-alerts every 15 min"
    )
    routes = alert_routes(load_config(write_ladder(tmp_path, example_without_ladder())))
    assert routes[0].startswith("No escalation ladder")
