"""No flood closes a school's door: a genuine report from Chromium still lands.

One address (127.0.0.2) posts valid envelopes as fast as it can, solving every
challenge it gets; meanwhile a student on another address opens the school's page
in Chromium, writes, and sends within 30 seconds. The flood stops once the report has
landed and the relay has held the flood back (at most 120 seconds: with parallel
workers on two cores, 200 answers can take longer than 30). That relay runs with its
production friction: proof of work and per-address limits at their defaults.

A flood past a small daily quota leaves the school open (at the busy difficulty);
at its storage budget the relay answers 507 and both student pages show the
hotline with a line that says the inbox is full.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from threading import Event

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page

from builder.assets import build_assets
from builder.landing import case_paths, landing_paths, render_case, render_landing
from quietdoor import payloads, protocol
from quietdoor.config import RelayLimits
from quietdoor.encoding import b64u_encode

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import StudentCase, new_case
from .support.processes import RelayProcess, free_port, start_relay, stop_relay, wait_until
from .support.relay_api import messages_path, signed_headers, solve_proof

pytestmark = pytest.mark.browser
FLOOD_SECONDS = 30  # the student's report must land within this
MAX_FLOOD_SECONDS = 120
FLOODERS = 4


def serve(tmp_path: Path, limits: RelayLimits) -> tuple[KeyedDeployment, RelayProcess]:
    """Lincoln High's English landing and case pages, served by a relay with these limits."""
    port = free_port()
    td = make_deployment(tmp_path, base_url=f"http://127.0.0.1:{port}", relay=limits)
    dist = tmp_path / "dist"
    assets = build_assets(dist)
    school = td.deployment.school("lincoln-high")
    assert school is not None
    for paths, render in ((landing_paths, render_landing), (case_paths, render_case)):
        page = paths(td.deployment, school)["en"]
        (dist / page).parent.mkdir(parents=True, exist_ok=True)
        (dist / page).write_text(render(td.deployment, school, "en", assets, page))
    relay = start_relay(td.path, f"sqlite:///{tmp_path / 'relay.db'}", tmp_path, dist, port)
    return td, relay


@pytest.fixture
def guarded_site(tmp_path: Path) -> Iterator[tuple[KeyedDeployment, RelayProcess]]:
    td, relay = serve(tmp_path, RelayLimits())  # production friction
    try:
        yield td, relay
    finally:
        stop_relay(relay)


def flood(
    relay: RelayProcess, td: KeyedDeployment, until: float, stop: Event, seen: Counter[int]
) -> None:
    """One flooder: a challenge, solved, and a valid new case, again and again, from 127.0.0.2."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as client:
        while time.monotonic() < until and not stop.is_set():
            headers = {}
            challenge = client.get(relay.url + "/api/v1/challenge?school=lincoln-high")
            seen[challenge.status_code] += 1
            if challenge.status_code == 200:
                headers["x-qd-proof"] = solve_proof(challenge.json())
            body = new_case(td.deployment, "lincoln-high", "junk").body
            seen[
                client.post(relay.url + "/api/v1/cases", json=body, headers=headers).status_code
            ] += 1


def held_back(seen: Counter[int]) -> bool:
    """More than 100 refusals in more than 200 answers (by key: the flooders add to seen)."""
    return seen[429] > 100 and seen[200] + seen[201] + seen[429] > 200


def test_a_genuine_report_lands_while_one_address_floods(
    guarded_site: tuple[KeyedDeployment, RelayProcess], browser: Browser
) -> None:
    td, relay = guarded_site
    seen: Counter[int] = Counter()
    started = time.monotonic()
    until = started + MAX_FLOOD_SECONDS
    stop = Event()
    flooders = [
        threading.Thread(target=flood, args=(relay, td, until, stop, seen)) for _ in range(FLOODERS)
    ]
    for f in flooders:
        f.start()
    try:
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(td.deployment.landing_url("lincoln-high"))
        page.fill("#what", "A genuine report, sent during a flood.")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)", timeout=FLOOD_SECONDS * 1000)
        landed = time.monotonic()
        code = page.inner_text("#case-code").strip()
        context.close()
        # Until the relay has shown it holds the flood back (or the flood's time is up).
        wait_until(
            lambda: held_back(seen) or time.monotonic() >= until,
            timeout=MAX_FLOOD_SECONDS + 5,
        )
    finally:
        stop.set()
        for f in flooders:
            f.join()
    flood_seconds = time.monotonic() - started
    assert landed < until  # it landed while the flood was still running
    assert seen[429] > 100 and sum(seen.values()) > 200  # the flood ran, and was held back
    # The report is there, and it is the student's: the lead opens it.
    case_id = protocol.CaseKeys.derive(code).case_id
    path = messages_path("lincoln-high", limit=200)
    rows = httpx.get(
        relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
    ).json()["messages"]
    opened = [
        payloads.open_payload(protocol.parse_envelope(r["envelope"]), td.keys["dana-ortiz"].box)
        for r in rows
    ]
    reports = [p for p in opened if isinstance(p, payloads.Report)]
    assert any(
        p.header.case_id == case_id and p.answers.what.startswith("A genuine report")
        for p in reports
    )
    # One address got its burst and a trickle: 20, then 10 a minute.
    flooded = sum(1 for p in reports if p.answers.what == "junk")
    assert 0 < flooded <= 20 + 10 * flood_seconds / 60 + 1


# --- past the quota, and at the budget --------------------------------------------

PHONE = {"width": 360, "height": 740}
FULL_LINE = "The school’s inbox is full right now. Please call or text for help:"


def send_report(browser: Browser, td: KeyedDeployment, words: str) -> Page:
    """A student writes on Lincoln High's page in Chromium and sends; the page, answered."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(td.deployment.landing_url("lincoln-high"))
    page.fill("#what", words)
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty), #form-error:not(:empty)", timeout=60_000)
    return page


def test_a_flood_past_the_daily_quota_leaves_the_school_open(
    tmp_path: Path, browser: Browser
) -> None:
    limits = lenient_limits(
        proof_of_work=True,
        proof_of_work_tries=8,
        normal_daily_per_school=2,
        daily_quota_per_school=4,
    )
    td, relay = serve(tmp_path, limits)
    try:
        with httpx.Client(base_url=relay.url, timeout=30) as client:
            for n in range(8):  # twice the quota, each with its solved challenge
                challenge = client.get("/api/v1/challenge?school=lincoln-high").json()
                proof = {"x-qd-proof": solve_proof(challenge)}
                body = new_case(td.deployment, "lincoln-high", f"junk {n}").body
                assert client.post("/api/v1/cases", json=body, headers=proof).status_code == 201
            busy = client.get("/api/v1/challenge?school=lincoln-high").json()
        assert busy["parameters"]["data"]["busy"] is True
        page = send_report(browser, td, "A genuine report, after the flood.")
        assert page.inner_text("#form-error") == ""
        code = page.inner_text("#case-code").strip()
        page.context.close()
        path = messages_path("lincoln-high", limit=200)
        rows = httpx.get(
            relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
        ).json()["messages"]
        assert len(rows) == 9
        assert rows[-1]["case_id"] == b64u_encode(protocol.CaseKeys.derive(code).case_id)
    finally:
        stop_relay(relay)


def test_at_the_budget_both_pages_show_the_hotline(tmp_path: Path, browser: Browser) -> None:
    (tmp_path / "sizing").mkdir()
    sizing = make_deployment(tmp_path / "sizing")
    envelope = new_case(sizing.deployment, "lincoln-high").body["envelope"]
    size = len(protocol.parse_envelope(envelope).canonical())  # every report's, in its bucket
    td, relay = serve(tmp_path, lenient_limits(school_budget_bytes=size + size // 2))
    try:
        case = new_case(td.deployment, "lincoln-high")
        assert httpx.post(relay.url + "/api/v1/cases", json=case.body).status_code == 201
        landing = send_report(browser, td, "A report when the inbox is full.")
        assert_hotline_shown(landing, "#form-error")
        assert landing.inner_text("#case-code") == ""
        assert landing.input_value("#what") == "A report when the inbox is full."
        landing.context.close()
        page = browser.new_context(viewport=PHONE).new_page()
        add_to_case(page, td, case)
        assert_hotline_shown(page, "#add-error")
        assert page.input_value("#add-text") == "One more thing."
        page.context.close()
    finally:
        stop_relay(relay)


def add_to_case(page: Page, td: KeyedDeployment, case: StudentCase) -> None:
    """Open the case on Lincoln High's case page and send an addition; wait for its answer."""
    page.goto(td.deployment.landing_url("lincoln-high") + "case/")
    page.fill("#code", case.code)
    page.click("#open")
    page.wait_for_selector("#thread:not([hidden])")
    page.fill("#add-text", "One more thing.")
    page.click("#add-send")
    page.wait_for_selector("#add-error:not(:empty)")


def assert_hotline_shown(page: Page, error: str) -> None:
    """The inbox-full line shows above the hotline's numbers, and the student is taken there."""
    assert page.locator("#inbox-full").is_visible()
    assert page.inner_text("#inbox-full") == FULL_LINE
    assert page.locator("#help a[href='sms:233733']").is_visible()
    assert page.evaluate("document.activeElement.id") == "help"
    assert page.inner_text(error).startswith("Your message did not send. The numbers")
