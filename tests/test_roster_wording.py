"""The roster checks each record's attestation against the wording the course publishes, in
the record's language, and Florida counts only what it could check or an older wording."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest

from keytool.roster import CourseInfo, completion, load_course_info, people, published_wordings
from keytool.roster_report import SUMMARY_COLUMNS, Roster, summary_rows, to_csv, to_html
from quietdoor import payloads

from .test_roster_states import MODULES, NAMES, finished

ENGLISH = (
    "I acknowledge that I received this training on Florida's reporting rules,\n"
    "and that I completed it myself on {date}."
)
SPANISH = "Declaro que recibí esta formación y que la completé personalmente el {date}."
DAY = "2026-09-01"


def course_json(version: int, texts: dict[str, str]) -> str:
    return json.dumps(
        {
            "modules": [
                {"id": m.id, "title": m.title, "version": m.version, "minutes": m.minutes}
                for m in MODULES.values()
            ],
            "state": {"code": "FL", "name": "Florida", "version": version, "attestation": texts},
        }
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A built site as the builder lays it out: the English course, the Spanish one beside it
    (whose file gives the Spanish text for both languages, as the Spanish build does). The
    English course's Spanish text is an earlier draft: the Spanish page shows its own file's."""
    (tmp_path / "training" / "es").mkdir(parents=True)
    (tmp_path / "training" / "course.json").write_text(
        course_json(2, {"en": ENGLISH, "es": SPANISH.replace("Declaro", "Afirmo")})
    )
    (tmp_path / "training" / "es" / "course.json").write_text(
        course_json(2, {"en": SPANISH, "es": SPANISH})
    )
    return tmp_path


def signed(text: str, wording: str = "FL.2", language: str = "") -> payloads.Training:
    record = finished(DAY)
    attestation = payloads.Attestation(text.replace("{date}", DAY), DAY, wording)
    return dataclasses.replace(record, attestation=attestation, language=language)


def summary(info: CourseInfo, record: payloads.Training) -> dict[str, str]:
    published = published_wordings(info, [record.language])
    found = people([completion("env0", "2026-10-01", record, published)])
    (values,) = summary_rows(Roster(info, found, NAMES, datetime.date(2026, 10, 1)))
    return dict(zip(SUMMARY_COLUMNS, values, strict=True))


@pytest.mark.parametrize(
    ("record", "check", "status", "rule"),
    [
        (signed(ENGLISH), "", "complete", "acknowledged on Tue 1 Sep 2026 (FL.2 wording)"),
        (signed(SPANISH, language="es"), "", "complete", "acknowledged on Tue 1 Sep 2026"),
        (
            signed(ENGLISH.replace("myself", "with help")),
            "differs from the published FL.2 wording",
            "partial",
            "acknowledgment not counted: differs from the published FL.2 wording",
        ),
        (  # the English text sent as if from the Spanish course
            signed(ENGLISH, language="es"),
            "differs from the published FL.2 wording",
            "partial",
            "acknowledgment not counted",
        ),
        (
            signed("An older text I signed on {date}.", wording="FL.1"),
            "FL.1: an older wording, not checked",
            "complete",
            "(FL.1 wording); FL.1: an older wording, not checked",
        ),
        (
            signed(ENGLISH, wording="FL.3"),
            "FL.3: newer than the published FL.2",
            "partial",
            "acknowledgment not counted: FL.3: newer than the published FL.2",
        ),
        (
            signed(ENGLISH, wording="CA.2"),
            "CA.2: not the course's state rules (FL.2)",
            "partial",
            "acknowledgment not counted",
        ),
        (
            signed("Whatever I wrote on {date}.", wording=""),
            "no wording named",
            "complete",
            "acknowledged on Tue 1 Sep 2026",
        ),
    ],
    ids=[
        "matches",
        "spanish",
        "forged",
        "wrong-language",
        "older",
        "newer",
        "other-state",
        "no-wording",
    ],
)
def test_each_attestation_is_checked_against_the_published_wording(
    site: Path, record: payloads.Training, check: str, status: str, rule: str
) -> None:
    r = summary(load_course_info(str(site)), record)
    assert (r["attestation_check"], r["status"]) == (check, status)
    assert rule in r["state_rule"]


def test_a_wrong_day_in_a_checked_text_differs(site: Path) -> None:
    text = ENGLISH.replace("{date}", DAY)
    moved = dataclasses.replace(
        signed(ENGLISH), attestation=payloads.Attestation(text, "2026-09-02", "FL.2")
    )
    r = summary(load_course_info(str(site)), moved)
    assert r["attestation_check"] == "differs from the published FL.2 wording"


def test_whitespace_the_roster_tidies_away_still_differs(site: Path) -> None:
    """The check reads the text as sent, before it is tidied for printing."""
    r = summary(load_course_info(str(site)), signed(ENGLISH.replace("\n", "\u200b\n")))
    assert r["attestation_check"] == "differs from the published FL.2 wording"


def test_a_language_without_a_published_course_is_not_checked(site: Path) -> None:
    r = summary(load_course_info(str(site)), signed(SPANISH, language="fr"))
    assert r["attestation_check"].startswith("FL.2: not checked (fr wording: cannot read ")
    assert r["status"] == "partial"
    (site / "training" / "es" / "course.json").write_text("{}")
    r = summary(load_course_info(str(site)), signed(SPANISH, language="es"))
    assert "not a Quiet Door course.json" in r["attestation_check"]


def test_a_record_opened_without_the_published_wording_does_not_count_for_florida(
    site: Path,
) -> None:
    info = load_course_info(str(site))
    found = people([completion("env0", "2026-10-01", signed(ENGLISH))])
    (values,) = summary_rows(Roster(info, found, NAMES, datetime.date(2026, 10, 1)))
    r = dict(zip(SUMMARY_COLUMNS, values, strict=True))
    assert (r["status"], r["attestation_check"]) == (
        "partial",
        "not checked: no published wording given",
    )


def test_the_check_reaches_the_csv_and_the_printable_page(site: Path) -> None:
    info = load_course_info(str(site))
    forged = signed('=HYPERLINK("x") <b>I did it</b> on {date}.')
    found = people([completion("env0", "2026-10-01", forged, published_wordings(info, []))])
    roster = Roster(info, found, NAMES, datetime.date(2026, 10, 1))
    text = to_csv(SUMMARY_COLUMNS, summary_rows(roster))
    assert "differs from the published FL.2 wording" in text
    assert "'=HYPERLINK" in text  # the record's text, neutralised
    page = to_html(roster, "Roster")
    assert "<td>differs from the published FL.2 wording</td>" in page
    assert "Tue 1 Sep 2026 (FL.2): differs from the published FL.2 wording" in page
    assert "<b>I did it</b>" not in page and "&lt;b&gt;I did it&lt;/b&gt;" in page
