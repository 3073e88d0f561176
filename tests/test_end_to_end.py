"""A report travels from the landing page in Chromium to the key tool, encrypted all the way."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Request

from builder.course import parse_module
from demo.prepare import PASSPHRASE

from .helpers import ROOT, Site

pytestmark = pytest.mark.browser
TRAINING_DOCS = ROOT / "content" / "training" / "docs"
CASE_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def keytool(site: Site, *args: str, home: Path | None = None) -> str:
    home = home or site.var / "keys" / "dana-ortiz"
    result = subprocess.run(
        [sys.executable, "-m", "keytool", "--home", str(home), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "QUIETDOOR_PASSPHRASE": PASSPHRASE},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_report_from_browser_reaches_the_lead_and_nothing_else(
    site: Site, browser: Browser
) -> None:
    marker = "MARKER-" + secrets.token_hex(8)
    requests: list[Request] = []
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.on("request", lambda r: requests.append(r))
    page.goto(site.deployment.landing_url("lincoln-high"))
    page.fill("#what", f"Someone is making me work nights. {marker}")
    page.check("input[name=safe_now][value=no]")
    page.fill("#more", "Ich bin okay. ¿Qué pasa? 你好")
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)", timeout=15_000)
    code = page.inner_text("#case-code").strip()
    assert CASE_CODE.match(code), code
    assert page.input_value("#what") == ""  # the form is cleared once sent
    page.screenshot(path=str(site.dist.parent / "sent.png"), full_page=True)
    context.close()

    origin = site.relay.url
    assert requests and all(r.url.startswith(origin + "/") for r in requests), [
        r.url for r in requests
    ]
    posts = [r for r in requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].url == origin + "/api/v1/cases"
    assert marker not in (posts[0].post_data or "")

    assert keytool(site, "fetch").strip() == "lincoln-high: 1 new"
    cases = json.loads(keytool(site, "list", "--json"))["cases"]
    assert len(cases) == 1 and cases[0]["flags"] == ["NOT SAFE NOW"]
    shown = json.loads(keytool(site, "show", cases[0]["id"], "--json"))
    payload = shown["messages"][0]["payload"]
    assert marker in payload["answers"]["what"]
    assert payload["answers"]["safe_now"] == "no"
    assert payload["answers"]["more"] == "Ich bin okay. ¿Qué pasa? 你好"
    assert payload["lang"] == "en" and payload["kind"] == "report"
    assert len(payload["reply_pk"]) == 43

    stored = b"".join(p.read_bytes() for p in site.relay.db_path.parent.glob("relay.db*"))
    assert b"messages" in stored  # we are looking at the real database
    assert marker.encode() not in stored
    assert marker not in site.relay.log()


def test_every_school_qr_decodes_to_its_landing_url(site: Site, browser: Browser) -> None:
    manifest = json.loads((site.dist / "manifest.json").read_text())
    page = browser.new_page(viewport={"width": 600, "height": 600})
    for school in manifest["schools"]:
        png = zxingcpp.read_barcodes(Image.open(site.dist / school["qr_png"]))
        assert [b.text for b in png] == [school["landing_url"]]
        assert png[0].format == zxingcpp.BarcodeFormat.QRCode
        assert png[0].ec_level in ("M", "Q", "H")
        # The SVG is what gets printed: render it in Chromium and decode the pixels.
        page.goto(f"{site.relay.url}/{school['qr_svg']}")
        shot = site.dist.parent / f"{school['slug']}-svg.png"
        page.locator("svg").screenshot(path=str(shot))
        assert [b.text for b in zxingcpp.read_barcodes(Image.open(shot))] == [school["landing_url"]]
    page.close()


def test_staff_knowledge_check_and_completion_reach_the_roster(
    site: Site, browser: Browser
) -> None:
    module = parse_module(TRAINING_DOCS / "modules" / "03-limits-of-observation.md")
    requests: list[Request] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: requests.append(r))
    page.goto(f"{site.relay.url}/training/{module.path}")
    forms = page.locator("form.qd-quiz")
    forms.first.wait_for()
    assert forms.count() == len(module.questions)
    for i, question in enumerate(module.questions):
        right = next(n for n, o in enumerate(question.options) if o.correct)
        wrong = next(n for n, o in enumerate(question.options) if not o.correct)
        form = forms.nth(i)
        if i == 0:  # a wrong first try counts against the score, and explains why
            form.locator(f"input[value='{wrong}']").check()
            form.locator("button").click()
            feedback = form.locator(".qd-feedback").inner_text()
            assert (
                feedback.startswith("Not quite.") and question.options[wrong].feedback in feedback
            )
        form.locator(f"input[value='{right}']").check()
        form.locator("button").click()
        assert form.locator(".qd-feedback").inner_text().startswith("Correct.")
    questions = len(module.questions)
    assert f"You answered {questions - 1} of {questions}" in page.inner_text(".qd-summary")

    page.goto(f"{site.relay.url}/training/complete/")
    page.fill("#qd-name", "Rosa Díaz")
    page.fill("#qd-role", "School nurse")
    page.select_option("#qd-school", "cedar-valley-high")
    page.click("#qd-completion-form button")
    # The course's policy forbids eval, so wait on the text, not on a script.
    page.locator("#qd-status", has_text="Recorded").wait_for()
    page.screenshot(path=str(site.dist.parent / "training-complete.png"), full_page=True)
    context.close()
    assert all(r.url.startswith(site.relay.url + "/") for r in requests), [r.url for r in requests]
    posts = [r for r in requests if r.method == "POST"]
    assert len(posts) == 1 and "Rosa" not in (posts[0].post_data or "")

    home = site.var / "keys" / "ruth-nakamura"
    assert "cedar-valley-high: 1 new" in keytool(site, "fetch", home=home)
    rows = list(
        csv.DictReader(io.StringIO(keytool(site, "roster", "--modules", str(site.dist), home=home)))
    )
    done = [r for r in rows if r["status"] != "not completed"]
    assert [
        (r["name"], r["role"], r["module"], r["score"], r["questions"], r["status"]) for r in done
    ] == [("Rosa Díaz", "School nurse", "m03", str(questions - 1), str(questions), "current")]
    assert done[0]["version"] == module.version


def test_course_pages_read_offline_after_first_load(site: Site, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    url = f"{site.relay.url}/training/modules/07-placing-the-codes/"
    page.goto(url)
    ready = page.evaluate(
        "Promise.race([navigator.serviceWorker.ready.then(() => true),"
        " new Promise(r => setTimeout(() => r(false), 10000))])"
    )
    assert ready, "the course registered no service worker"
    page.reload()  # now under the service worker, which keeps what it serves
    page.locator("form.qd-quiz").first.wait_for()
    context.set_offline(True)
    page.reload()
    assert "Where the codes go" in page.inner_text("h1")
    page.locator("form.qd-quiz").first.wait_for()  # scripts and course.json came from the cache
    context.close()
