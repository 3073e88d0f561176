"""One clock: every day and time a lead reads is in the school's time zone (quietdoor.clock).

The example deployment is in America/Los_Angeles. A report sent at 01:47 UTC is the
evening before there: `list`, `show`, the desk's pages, `stats` and the roster all say
the school's day, name the zone once, and `--json` keeps UTC.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest

from keytool.cases import case_ref
from quietdoor.clock import Clock, moment_of
from quietdoor.config import ConfigError, dump_config, load_config
from quietdoor.payloads import SENT_FORMAT

from .support.days import said_day, said_time
from .support.desk import cells, inbox_row, unlocked_desk
from .support.envelopes import new_case, update
from .support.keytool import Leads, listed_cases, run_keytool

LA = ZoneInfo("America/Los_Angeles")
ZONE_LINE = "Times are in America/Los_Angeles."


def near_midnight() -> tuple[datetime, str]:
    """01:47 UTC today (the relay's day), and how a lead in Los Angeles reads it."""
    moment = datetime.now(UTC).replace(hour=1, minute=47, second=0, microsecond=0)
    local = moment.astimezone(LA)
    return moment, f"{said_day(local.date(), datetime.now(LA).year)}, {said_time(local)}"


def test_a_report_near_midnight_is_the_school_s_day_everywhere(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    moment, local = near_midnight()
    case = leads.open(new_case(leads.deployment, "lincoln-high", "near midnight", now=moment))
    leads.fetch(capsys)
    ref = case_ref(case.keys.case_id)

    code, out, err = run_keytool(capsys, "--home", leads.home, "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ZONE_LINE  # the zone, named once
    assert lines[1].startswith(f"{ref}  {local}  lincoln-high")

    (listed,) = listed_cases(capsys, leads.home)  # machines keep UTC
    assert listed["came_in"] == moment.strftime("%Y-%m-%dT%H:%MZ")
    assert listed["opened"] == listed["last_activity"] == moment.date().isoformat()

    with unlocked_desk(leads.home, leads.config, leads.relay.url) as desk:
        inbox = desk.get("/").text
        case_page = desk.get(f"/case/{ref}").text
    row = cells(inbox_row(inbox, ref))
    assert row[0] == local and row[-1] == local  # came in, last activity
    assert inbox.count(ZONE_LINE) == 1
    assert f"Came in {local} · last activity {local}" in case_page
    assert f'<p class="when">{local} · written in English</p>' in case_page
    assert case_page.count(ZONE_LINE) == 1

    code, out, err = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert code == 0, err
    assert f"Came in   {local}" in out and "Times     in America/Los_Angeles" in out
    assert f"--- Report from the student, {local} (message" in out
    assert " UTC" not in out

    # stats counts the report on the school's day, the day before the relay's.
    school_day = moment.astimezone(LA).date().isoformat()
    table = tmp_path / "stats.csv"
    code, out, err = run_keytool(
        capsys, "--home", leads.home, "stats", "--from", school_day, "--to", school_day,
        "--csv", table,
    )  # fmt: skip
    assert code == 0, err
    said = said_day(moment.astimezone(LA).date(), datetime.now(LA).year)
    assert out.splitlines()[-1] == f"1 report in 1 school, {said} to {said}"
    rows = {r["month"]: r for r in csv.DictReader(io.StringIO(table.read_text()))}
    assert rows["all"]["reports"] == "1"
    code, out, err = run_keytool(capsys, "--home", leads.home, "stats")
    assert out.rstrip().endswith(ZONE_LINE)
    page = tmp_path / "stats.html"
    assert run_keytool(capsys, "--home", leads.home, "stats", "--html", page)[0] == 0
    assert page.read_text().count(ZONE_LINE) == 1


@pytest.mark.parametrize(
    ("sent", "local"),
    [
        # Daylight saving ends on 1 Nov 2026 at 2 am: 1 am to 2 am happens twice.
        ("2026-11-01T07:30Z", "Sun 1 Nov, 12:30 am"),
        ("2026-11-01T10:30Z", "Sun 1 Nov, 2:30 am"),
        # It starts on 8 Mar 2026: 2 am is 3 am.
        ("2026-03-08T09:59Z", "Sun 8 Mar, 1:59 am"),
        ("2026-03-08T10:01Z", "Sun 8 Mar, 3:01 am"),
    ],
)
def test_across_a_daylight_saving_change_and_a_relay_day_far_off(
    leads: Leads, capsys: pytest.CaptureFixture[str], sent: str, local: str
) -> None:
    moment = datetime.strptime(sent, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    case = leads.open(new_case(leads.deployment, "lincoln-high", "a while ago", now=moment))
    leads.fetch(capsys)
    ref = case_ref(case.keys.case_id)
    relay_day = Clock(leads.deployment).relay_day(datetime.now(UTC).date().isoformat())
    came_in = f"{local}; the relay dated it {relay_day}"  # written long before it arrived

    code, out, _ = run_keytool(capsys, "--home", leads.home, "list")
    assert out.splitlines()[1].startswith(f"{ref}  {came_in}  lincoln-high")
    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert f"Came in   {came_in}" in out
    assert f"--- Report from the student, {local} (message" in out
    with unlocked_desk(leads.home, leads.config, leads.relay.url) as desk:
        row = cells(inbox_row(desk.get("/").text, ref))
        case_page = desk.get(f"/case/{ref}").text
    assert row[0] == came_in
    assert f"Came in {came_in} ·" in case_page


@pytest.mark.parametrize("sent", ["2026-11-28T14:05Z", "2024-02-29T00:00Z", "1999-12-31T23:59Z"])
def test_a_sent_time_reads_as_the_format_writes_it(sent: str) -> None:
    moment = moment_of(sent)
    assert moment == datetime.strptime(sent, SENT_FORMAT).replace(tzinfo=UTC)
    assert moment.strftime(SENT_FORMAT) == sent


@pytest.mark.parametrize(
    "sent",
    [
        "2026-1-5T3:04Z",
        "2026-11-28T14:05",
        "2026-11-28 14:05Z",
        "2026-11-28T14:05:00Z",
        "2026-02-30T10:00Z",
    ],
)
def test_a_sent_time_in_any_other_form_is_refused(sent: str) -> None:
    with pytest.raises(ValueError, match="is not a UTC time such as"):
        moment_of(sent)


def test_rotate_says_when_the_old_key_s_last_utc_day_ends_in_the_school_s_zone(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_keytool(
        capsys, "--home", leads.home, "--config", leads.config, "rotate", "--overlap-days", "3"
    )
    assert code == 0, err
    until = datetime.now(UTC).date() + timedelta(days=3)
    ends = datetime.combine(until + timedelta(days=1), time(), UTC).astimezone(LA)  # 4 or 5 pm
    this_year = datetime.now(LA).year
    assert (
        "Students' pages that still hold your old key are accepted until the end of "
        f"{said_day(until, this_year)} (UTC), which is {said_day(ends.date(), this_year)}, "
        f"{said_time(ends)} in America/Los_Angeles."
    ) in out.splitlines()
    assert f"until = {until.isoformat()} }}," in out  # the config keeps the UTC day


def test_a_district_may_keep_its_own_time_zone(tmp_path: Path) -> None:
    example = load_config(Path(__file__).parent.parent / "examples" / "demo.toml")
    riverside = example.districts[0]
    districts = (
        dataclasses.replace(riverside, timezone="America/New_York"),
        *example.districts[1:],
    )
    path = tmp_path / "two-zones.toml"
    path.write_text(dump_config(dataclasses.replace(example, districts=districts)))
    deployment = load_config(path)  # written and read back
    own = next(s.slug for s in deployment.schools if s.district == riverside.slug)
    other = next(s.slug for s in deployment.schools if s.district != riverside.slug)
    clock = Clock(deployment, today=date(2026, 12, 6))
    assert clock.moment("2026-12-06T01:47Z", own) == "Sat 5 Dec, 8:47 pm"
    assert clock.moment("2026-12-06T01:47Z", other) == "Sat 5 Dec, 5:47 pm"
    assert clock.zones_line([own, other]) == (
        "Times are in each school's time zone (America/Los_Angeles, America/New_York)."
    )

    path.write_text(path.read_text().replace('"America/New_York"', '"Eastern"'))
    with pytest.raises(
        ConfigError, match=r"districts\[0\]\.timezone: 'Eastern' is not a time zone"
    ):
        load_config(path)


def a_zone_on_another_day() -> str:
    """A zone whose date is not UTC's right now (so "today" there is not the UTC day)."""
    return "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"


def test_the_roster_is_as_of_the_school_s_day_and_names_the_state(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    zone = a_zone_on_another_day()
    config = tmp_path / "elsewhere.toml"
    deployment = dataclasses.replace(leads.deployment, timezone=zone, state="CA")
    config.write_text(dump_config(deployment))
    course = tmp_path / "course.json"
    general = {"code": "general", "name": "your state", "version": 1}
    course.write_text(json.dumps({"modules": [], "state": general}))
    page = tmp_path / "roster.html"
    code, _, err = run_keytool(
        capsys, "--home", leads.home, "--config", config, "roster", "--modules", course,
        "--html", page,
    )  # fmt: skip
    assert code == 0, err
    text = page.read_text()
    today = datetime.now(ZoneInfo(zone)).date()
    assert today != datetime.now(UTC).date()
    assert f"As of {today:%a} {today.day} {today:%b %Y} ({zone})" in text
    assert "State rules in the course: California (but this course shows the general" in text
    assert "your state" not in text


def test_an_unread_follow_up_needs_attention_in_list_and_the_desk_and_notes_keep_time(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    case = leads.post("a report")
    leads.fetch(capsys)
    ref = case_ref(case.keys.case_id)
    assert listed_cases(capsys, leads.home)[0]["attention"] == "new"
    assert run_keytool(capsys, "--home", leads.home, "show", ref)[0] == 0  # read: a receipt
    note = ("note", ref, "--status", "in_progress", "--message", "called the family")
    assert run_keytool(capsys, "--home", leads.home, *note)[0] == 0
    leads.fetch(capsys)
    assert listed_cases(capsys, leads.home)[0]["attention"] == ""
    added = update(leads.deployment, case, "one more thing")
    answer = httpx.post(leads.relay.url + "/api/v1/case/messages", json=added, headers=case.headers)
    assert answer.status_code == 201, answer.text
    leads.fetch(capsys)

    (listed,) = listed_cases(capsys, leads.home)
    assert listed["attention"] == "new message"
    code, out, _ = run_keytool(capsys, "--home", leads.home, "list")
    assert " NEW MESSAGE " in out.splitlines()[1]
    with unlocked_desk(leads.home, leads.config, leads.relay.url) as desk:
        assert "New message" in cells(inbox_row(desk.get("/").text, ref))[0]

    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", ref)
    order = [out.index(t) for t in ("Report from", "Opened by", "Note by", "The student added")]
    assert order == sorted(order)  # the note sits in time order among the messages
