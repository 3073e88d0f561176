"""The completion page shows the state's attestation in the page's language, and the record
the lead reads carries that text, its day and its wording (state and version)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re

import pytest
from playwright.sync_api import Browser, Page, Route

from builder.state_rules import load_state_rules
from quietdoor.course import CourseState, course_bytes, parse_course

from .support.keytool import keytool_cli
from .support.site import Site

pytestmark = pytest.mark.browser
ACK = "I read every module and I will report to the hotline myself, then tell the lead."


def complete_progress(course: dict[str, object], today: str) -> str:
    """What this device holds after every module and a passed final check, as the page saves it."""
    done = {"score": 3, "questions": 3, "completed_on": today}
    answers = [{"item": f"item-{n}", "chosen": 0} for n in range(9)]
    passed = {"score": 9, "questions": 9, "taken_on": today, "skills_right": [], "answers": answers}
    modules = {m["id"]: {"version": m["version"], **done} for m in course["modules"]}  # type: ignore[attr-defined]
    return json.dumps({"modules": modules, "tests": {"post": {"first": passed, "passed": passed}}})


def sign_and_send(page: Page, name: str) -> None:
    """Fill the completion form for Cedar Valley High, tick the attestation and send."""
    page.fill("#qd-name", name)
    page.fill("#qd-role", "Teacher")
    page.select_option("#qd-district", "cedar-valley")
    page.wait_for_selector("#qd-school option[value='cedar-valley-high']", state="attached")
    page.select_option("#qd-school", "cedar-valley-high")
    page.check("#qd-attest")
    page.fill("#qd-ack", ACK)
    page.click("#qd-completion-form button")


@pytest.mark.parametrize(("state", "lang"), [("FL", "en"), ("FL", "es"), ("TX", "en")])
def test_the_attestation_is_the_states_and_the_record_carries_it(
    site: Site, browser: Browser, state: str, lang: str
) -> None:
    """The site is the example's (no state); its course.json is served as the builder writes
    it for `state`, the rest of the course unchanged."""
    rules = load_state_rules(state)
    folder = "es/" if lang == "es" else ""  # a translated course has its own course.json
    built = site.dist / "training" / folder / "course.json"
    general = parse_course(built.read_bytes(), str(built))
    stated = course_bytes(
        general.__class__(
            **{
                **general.__dict__,
                "state": CourseState(
                    state, rules.in_language(lang).name, rules.version, rules.attestations
                ),
            }
        )
    )
    today = datetime.date.today().isoformat()
    context = browser.new_context()
    context.add_init_script(
        "localStorage.setItem('quietdoor.training', "
        f"{json.dumps(complete_progress(json.loads(stated), today))})"
    )

    def serve(route: Route) -> None:
        route.fulfill(body=stated, content_type="application/json")

    context.route(f"**/training/{folder}course.json", serve)
    page = context.new_page()
    base = f"{site.relay.url}/training/{folder}"
    page.goto(base + "complete/")
    wording = rules.attestation if lang == "en" else rules.attestation_es
    expected = wording.replace("{date}", today)
    assert page.inner_text("label[for=qd-attest]") == expected
    name = f"Attester {state} {lang}"
    sign_and_send(page, name)
    page.wait_for_selector("#qd-certificate")
    certificate = page.inner_text("#qd-certificate")
    context.close()
    assert f"({state}.{rules.version})" in certificate and expected in certificate

    home = site.var / "keys" / "ruth-nakamura"
    # at least this record (other tests on this worker's shared site may have sent some)
    assert re.search(r"cedar-valley-high: [1-9][0-9]* new", keytool_cli(site, "fetch", home=home))
    out = keytool_cli(site, "roster", "--modules", str(site.dist), home=home)
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["name"] == name]
    assert len(rows) == 1, out
    (row,) = rows
    assert row["attestation"] == expected and row["attested_on"] == today
    assert row["attestation_wording"] == f"{state}.{rules.version}"


def test_the_day_signed_is_the_schools_and_the_words_signed_are_the_words_shown(
    site: Site, browser: Browser
) -> None:
    """A device on Kiritimati (UTC+14) at 03:00 UTC is a day ahead of a school in the
    example's Los Angeles: the page shows the school's day and asks for the tick again."""
    school = json.loads((site.dist / "training" / "schools" / "cedar-valley-high.json").read_text())
    assert school["timezone"] == "America/Los_Angeles"
    built = (site.dist / "training" / "course.json").read_text()
    context = browser.new_context(timezone_id="Pacific/Kiritimati")
    context.clock.install(time=datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC))
    context.add_init_script(
        "localStorage.setItem('quietdoor.training', "
        f"{json.dumps(complete_progress(json.loads(built), '2026-12-06'))})"
    )
    page = context.new_page()
    page.goto(f"{site.relay.url}/training/complete/")
    assert "on 2026-12-06." in page.inner_text("label[for=qd-attest]")  # the device's day
    sign_and_send(page, "Kiri Device")
    page.locator("#qd-status", has_text="at your school").wait_for()
    assert "at your school the date is 2026-12-05" in page.inner_text("#qd-status")
    assert not page.is_checked("#qd-attest")
    assert "on 2026-12-05." in page.inner_text("label[for=qd-attest]")
    page.check("#qd-attest")
    page.click("#qd-completion-form button")
    page.wait_for_selector("#qd-certificate")
    certificate = page.inner_text("#qd-certificate")
    context.close()
    assert "Attestation, signed on 2026-12-05 (the school’s date)" in certificate
    assert "I completed this training myself on 2026-12-05." in certificate
