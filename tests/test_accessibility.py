"""WCAG 2.2 A/AA checks with axe-core in Chromium: student pages, the course, the lead's desk.

axe-core comes from the npm registry (package.json, pinned by package-lock.json);
scripts/test installs it. The page's CSP is bypassed for the test only, so that
axe itself can be injected.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page

from quietdoor import protocol

from .support.axe import violations
from .support.keytool import PASS, Leads
from .support.processes import start_desk, stop_desk
from .support.site import Site, post_conversation

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Page:
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740})
    return context.new_page()


@pytest.mark.parametrize("path", ["s/riverside-middle/", "s/riverside-middle/es/"])
def test_landing_page_has_no_wcag_violations(site: Site, page: Page, path: str) -> None:
    page.goto(f"{site.relay.url}/{path}")
    assert violations(page) == []


def test_error_and_sent_states_have_no_wcag_violations(site: Site, page: Page) -> None:
    page.goto(f"{site.relay.url}/s/riverside-middle/")
    page.click("#send")  # nothing written: the error state
    page.wait_for_selector("#what-error:not([hidden])")
    assert violations(page) == []
    page.fill("#what", "An accessibility check.")
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)")
    assert violations(page) == []


@pytest.mark.parametrize("lang", ["", "es/"])
def test_case_page_has_no_wcag_violations_in_any_state(site: Site, page: Page, lang: str) -> None:
    """Code entry, a wrong code, and a thread with a report, a read receipt, a reply and the
    student's unread addition."""
    case = post_conversation(
        site, "riverside-middle", "marcus-lee", "An accessibility check.", "Thank you. We read it."
    )
    page.goto(f"{site.relay.url}/s/riverside-middle/{lang}case/")
    assert violations(page) == []
    page.fill("#code", protocol.format_case_code(protocol.new_case_code()))
    page.click("#open")
    page.wait_for_selector("#code-error:not(:empty)")
    assert violations(page) == []
    page.fill("#code", case.code)
    page.click("#open")
    page.wait_for_selector("#thread:visible")
    assert page.locator("#messages > li").count() == 3
    assert violations(page) == []
    page.fill("#add-text", "One more thing.")
    page.click("#add-send")
    page.wait_for_selector("#read-state:visible")
    assert violations(page) == []


@pytest.mark.parametrize(
    "path",
    [
        "training/",
        "training/pretest/",
        "training/modules/04-reporting-protocol/",
        "training/modules/05-responding-to-disclosure/",
        "training/modules/09-missing-returning-disability/",
        "training/final-check/",
        "training/complete/",
        "training/es/",  # the Spanish course: its language links and review note
        "training/es/final-check/",
        "training/es/complete/",
    ],
)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_course_pages_have_no_wcag_violations(
    site: Site, browser: Browser, path: str, scheme: str
) -> None:
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{site.relay.url}/{path}")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    context.close()


def test_completion_form_and_certificate_have_no_wcag_violations(
    site: Site, browser: Browser
) -> None:
    """The form once the course is done (acknowledgment shown), then the certificate."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{site.relay.url}/training/complete/")
    course = json.loads((site.dist / "training" / "course.json").read_text())
    today = datetime.date.today().isoformat()
    progress = {
        "modules": {
            m["id"]: {"version": m["version"], "score": 3, "questions": 4, "completed_on": today}
            for m in course["modules"]
        },
        "tests": {
            "pre": {"score": 8, "questions": 11, "taken_on": today, "skills_right": []},
            "post": {  # the first attempt, and the first at or above the pass mark
                "first": {"score": 8, "questions": 11, "taken_on": today, "skills_right": []},
                "passed": {"score": 11, "questions": 11, "taken_on": today, "skills_right": []},
            },
        },
    }
    page.evaluate("p => localStorage.setItem('quietdoor.training', JSON.stringify(p))", progress)
    page.reload()
    page.wait_for_selector("#qd-ack")
    page.select_option("#qd-district", "riverside-unified")
    # riverside-middle: the school whose inbox no other test counts (the site is shared)
    page.wait_for_selector("#qd-school option[value='riverside-middle']", state="attached")
    page.select_option("#qd-school", "riverside-middle")
    page.fill("#qd-name", "Axe Check")
    page.fill("#qd-role", "Teacher")
    assert violations(page) == []
    page.check("#qd-attest")
    page.fill("#qd-ack", "I completed this course and I know how to report a concern at school.")
    page.click("#qd-completion-form button")
    page.wait_for_selector("#qd-certificate")
    assert violations(page) == []
    context.close()


def test_axe_finds_a_real_problem(site: Site, page: Page, tmp_path: Path) -> None:
    """The check can fail: an unlabelled field on a copy of the page is reported."""
    page.goto(f"{site.relay.url}/s/riverside-middle/")
    page.evaluate("document.querySelector('label[for=what]').remove()")
    assert "label" in {v["id"] for v in violations(page)}


# The page's background in each scheme the lead's computer may ask for.
DESK_BACKGROUND = {"light": "rgb(246, 245, 242)", "dark": "rgb(20, 23, 28)"}


@pytest.mark.usefixtures("keytool_passphrase")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_desk_has_no_wcag_violations(
    leads: Leads, browser: Browser, tmp_path: Path, scheme: Literal["light", "dark"]
) -> None:
    """The unlock page, the inbox (urgent and other cases), a case with a reply and a note,
    and the numbers page, in the colour scheme the computer asks for."""
    leads.post("An accessibility check of the desk.", safe_now="no")
    leads.post("Another one.", safe_now="unsure")
    leads.post("A calm one.", safe_now="yes")
    desk = start_desk(leads.home, leads.config, leads.relay.url, tmp_path)
    context = browser.new_context(
        bypass_csp=True, viewport={"width": 1280, "height": 900}, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.goto(desk.link)
        background = "getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(background) == DESK_BACKGROUND[scheme]
        assert violations(page) == []
        page.fill("#passphrase", "a wrong passphrase")
        page.click("form.unlock button")
        page.wait_for_selector("#passphrase-error")
        assert violations(page) == []
        page.fill("#passphrase", PASS)
        page.click("form.unlock button")
        page.wait_for_selector("tr.case >> nth=2", timeout=30_000)
        assert violations(page) == []
        page.click("tr.urgent th a")
        page.wait_for_selector("#thread-h")
        page.fill("#reply-text", "We read it.")
        page.click("form.reply button")
        page.wait_for_selector("p.done[role=status]")
        page.select_option("#status", "in_progress")
        page.fill("#note", "A note for the team.")
        page.click("form.status button")
        page.wait_for_selector("ol.history li")
        assert page.query_selector(".alert.urgent") is not None  # the urgent case's page
        assert violations(page) == []
        page.set_viewport_size({"width": 390, "height": 800})
        assert violations(page) == []
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(desk.base + "/stats")  # the numbers page: its tables, wide and narrow
        page.wait_for_selector("table.cases caption")
        assert violations(page) == []
        page.set_viewport_size({"width": 390, "height": 800})
        assert violations(page) == []
    finally:
        context.close()
        stop_desk(desk)
