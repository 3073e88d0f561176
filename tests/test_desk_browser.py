"""The desk in Chromium against a real relay: a lead unlocks, triages, replies and hands a case
off; a colleague's key tool sees it; every way in that is not the lead's browser is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from keytool.cases import case_ref
from quietdoor import payloads

from .support.envelopes import StudentCase, sealed_training, training_record
from .support.keytool import PASS, Leads, listed_cases, run_keytool
from .support.processes import DeskProcess, start_desk, stop_desk

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("keytool_passphrase")]


@pytest.fixture
def desk(leads: Leads, tmp_path: Path) -> Iterator[DeskProcess]:
    running = start_desk(leads.home, leads.config, leads.relay.url, tmp_path)
    try:
        yield running
    finally:
        code = stop_desk(running)
        assert code == 0 and "The desk is closed." in running.output(), running.output()
        assert "Traceback" not in running.output()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield ctx
    finally:
        ctx.close()


def unlock(page: Page, desk: DeskProcess, expected_cases: int) -> None:
    page.goto(desk.link)
    page.fill("#passphrase", PASS)
    page.click("form.unlock button")
    # The first check starts at once; the inbox shows its cases when it ends.
    page.wait_for_selector(f"tr.case >> nth={expected_cases - 1}", timeout=30_000)
    # The inbox then posts "seen" by itself; it removes the form once the desk has it.
    page.wait_for_selector("form.seen", state="detached")


def ref(case: StudentCase) -> str:
    return case_ref(case.keys.case_id)


def test_a_lead_triages_and_hands_off_and_a_colleague_sees_it(
    leads: Leads,
    desk: DeskProcess,
    context: BrowserContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calm = leads.post("calm report, marker 1111", safe_now="yes")
    unsafe = leads.post("he waits after practice, marker 2222", safe_now="no")
    unsure = leads.post("I do not know, marker 3333", safe_now="unsure")
    record = training_record("lincoln-high", "Rosa Trainee", [("m01", "1", "2026-11-28")])
    answer = httpx.post(
        leads.relay.url + "/api/v1/cases", json=sealed_training(leads.deployment, record)
    )
    assert answer.status_code == 201

    page = context.new_page()
    policy_errors: list[str] = []
    page.on(
        "console",
        lambda m: policy_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(desk.link)
    page.fill("#passphrase", "not the passphrase")
    page.click("form.unlock button")
    assert "does not open these keys" in page.inner_text("#passphrase-error")
    page.fill("#passphrase", PASS)
    page.click("form.unlock button")
    page.wait_for_selector("tr.case >> nth=2", timeout=30_000)

    rows = page.eval_on_selector_all("tr.case", "rows => rows.map(r => r.dataset.ref)")
    assert rows == [ref(unsafe), ref(unsure), ref(calm)]  # urgent first, then newest
    assert page.inner_text(f"tr[data-ref='{ref(unsafe)}'] .flag") == "Not safe now"
    assert page.inner_text(f"tr[data-ref='{ref(unsure)}'] .flag") == "Not sure"
    # The rows can show while the check still runs (it stores, then asks once more).
    page.wait_for_selector("#last-checked:has-text('Last checked at')", timeout=30_000)
    text = page.inner_text("main")
    assert "Lincoln High School" in text and "Last checked at" in text
    assert "Rosa Trainee" not in text and "marker" not in text  # no training, no report text

    page.click(f"tr[data-ref='{ref(unsafe)}'] th a")
    page.wait_for_selector("#thread-h")
    page.wait_for_selector("text=The student can now see that the school read this.")
    assert "he waits after practice, marker 2222" in page.inner_text("ol.thread")
    assert "not safe now" in page.inner_text(".alert.urgent")
    page.fill("#reply-text", "We read your message. Are you safe tonight?")
    page.click("form.reply button")
    page.wait_for_selector("p.done[role=status]")
    page.select_option("#status", "referred")
    page.select_option("#disposition", "cps")
    page.fill("#note", "Called CPS intake at 2 pm, marker 4444.")
    page.click("form.status button")
    page.wait_for_selector("ol.history li")
    history = page.inner_text("ol.history")
    assert "Dana Ortiz" in history and "Referred to child protective services" in history
    assert "marker 4444" in history

    # The student sees the receipt and the reply, and nothing of the note.
    thread = leads.thread(unsafe)
    assert [p.header.kind for p in thread] == ["report", "receipt", "reply"]
    assert isinstance(thread[2], payloads.Reply) and "Are you safe tonight?" in thread[2].text

    # Marcus's key tool fetches, and shows who set what, and when.
    leads.fetch(capsys, leads.colleague)
    status = {c["case_id"]: c["status"] for c in listed_cases(capsys, leads.colleague)}
    assert status[unsafe.case_id] == "referred"
    code, out, err = run_keytool(capsys, "--home", leads.colleague, "show", ref(unsafe), "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert [(n["payload"]["status"], n["payload"]["disposition"]) for n in notes] == [
        ("referred", "cps")
    ]
    assert notes[0]["payload"]["from"]["id"] == "dana-ortiz"
    assert notes[0]["payload"]["text"] == "Called CPS intake at 2 pm, marker 4444."
    code, out, _ = run_keytool(capsys, "--home", leads.colleague, "show", ref(unsafe))
    assert "Note by Dana Ortiz" in out and "Status: referred, cps" in out

    # Closed, the urgent case leaves the top of the inbox.
    page.select_option("#status", "closed")
    page.click("form.status button")
    page.wait_for_selector("p.done[role=status]")
    page.click("p.back a")
    rows = page.eval_on_selector_all("tr.case", "rows => rows.map(r => r.dataset.ref)")
    assert rows == [ref(unsure), ref(unsafe), ref(calm)]

    # A new report: "Check now" brings it in without waiting for the next round.
    later = leads.post("a new one, marker 6666", safe_now="no")
    page.click("form[action='/check'] button")
    page.wait_for_selector(f"tr[data-ref='{ref(later)}']", timeout=30_000)
    rows = page.eval_on_selector_all("tr.case", "rows => rows.map(r => r.dataset.ref)")
    assert rows[0] == ref(later)
    assert policy_errors == []


def test_everyone_but_the_lead_s_browser_is_refused(
    leads: Leads, desk: DeskProcess, browser: Browser, context: BrowserContext
) -> None:
    case = leads.post("please help, marker 5555", safe_now="no")
    page = context.new_page()
    unlock(page, desk, 1)
    cookie = {c["name"]: c["value"] for c in context.cookies()}

    # Another browser (or another user of this computer) without the link, or with it spent.
    stranger = browser.new_context()
    other = stranger.new_page()
    answer = other.goto(desk.base + "/")
    assert answer is not None and answer.status == 403
    assert "marker" not in other.content()
    answer = other.goto(desk.link)
    assert answer is not None and answer.status == 403 and "used already" in other.content()
    stranger.close()

    # A page whose name an attacker points at 127.0.0.1 sends its own Host header.
    port = desk.base.rsplit(":", 1)[1]
    rebound = httpx.get(
        desk.base + f"/case/{ref(case)}",
        headers={"host": f"attacker.example:{port}", "cookie": f"qd_desk={cookie['qd_desk']}"},
    )
    assert rebound.status_code == 403 and "marker" not in rebound.text

    # Another origin (here the relay's, on 127.0.0.1; a server on another port of the desk's
    # own address would be the same site, and get the cookie sent) posts a form and a fetch.
    page.goto(leads.relay.url + "/api/openapi.json")
    page.evaluate(
        """([target]) => fetch(target + '/lock', {method: 'POST', mode: 'no-cors',
             credentials: 'include', body: new URLSearchParams({x: '1'})})
           .catch(() => 'its answer is withheld from the page too (CORP)')""",
        [desk.base],
    )
    with page.expect_navigation():
        page.evaluate(
            """([action]) => {
                 const f = document.createElement('form');
                 f.method = 'POST'; f.action = action;
                 for (const [k, v] of [['status', 'closed'], ['disposition', 'junk'],
                                       ['note', 'forged']]) {
                   const i = document.createElement('input');
                   i.name = k; i.value = v; f.appendChild(i);
                 }
                 document.body.appendChild(f); f.submit();
               }""",
            [f"{desk.base}/case/{ref(case)}/status"],
        )
    assert "did not come from the desk" in page.content()

    # Nothing happened: still unlocked, no note sent.
    page.goto(desk.base + "/")
    assert page.query_selector(f"tr[data-ref='{ref(case)}']") is not None
    page.goto(desk.base + f"/case/{ref(case)}")
    assert "No status changes or notes yet." in page.inner_text("#team")

    # Lock forgets the keys: the pages ask for the passphrase again.
    page.click("form.lock button")
    page.wait_for_selector("#passphrase")
    page.goto(desk.base + f"/case/{ref(case)}")
    assert page.query_selector("#passphrase") is not None
    assert "marker" not in page.content()


def test_opening_a_case_in_the_page_sends_one_receipt_by_post(
    leads: Leads, desk: DeskProcess, context: BrowserContext
) -> None:
    case = leads.post("read me once", safe_now="yes")
    page = context.new_page()
    unlock(page, desk, 1)
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    for _ in range(3):  # opened, reloaded, opened again
        page.goto(desk.base + f"/case/{ref(case)}")
        page.wait_for_selector("#thread-h")
        if page.query_selector("form#receipt") is not None:
            page.wait_for_selector("text=The student can now see that the school read this.")
    assert [p.header.kind for p in leads.thread(case)] == ["report", "receipt"]
    receipt = desk.base + f"/case/{ref(case)}/receipt"
    assert requests.count(("POST", receipt)) == 1
    assert all(method == "GET" for method, url in requests if url != receipt)


def test_a_lock_while_the_lead_writes_keeps_the_text_on_the_page(
    leads: Leads, desk: DeskProcess, context: BrowserContext
) -> None:
    case = leads.post("write back", safe_now="yes")
    page = context.new_page()
    unlock(page, desk, 1)
    page.clock.install()  # the page's 15-second status polls run when the test says
    page.goto(desk.base + f"/case/{ref(case)}")
    page.fill("#reply-text", "a long answer, marker 8888")
    other = context.new_page()  # locked elsewhere, as the idle lock would
    other.goto(desk.base + "/")
    other.click("form.lock button")
    other.wait_for_selector("#passphrase")
    page.clock.run_for(16_000)
    page.wait_for_selector("#fresh.problem:has-text('Your text is still here')")
    assert page.input_value("#reply-text") == "a long answer, marker 8888"
    page.fill("#reply-text", "")  # nothing to lose: the next poll goes to the unlock page
    page.clock.run_for(16_000)
    page.wait_for_selector("#passphrase")
