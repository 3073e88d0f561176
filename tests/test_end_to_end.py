"""A report travels from the landing page in Chromium to the key tool, encrypted all the way."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, Request

from builder.course import QUIZ_BLOCK, Question, load_course, parse_question
from builder.course_bank import ItemBank
from builder.course_language import translated_course
from builder.site import TRAINING_SOURCE, default_print_dir
from builder.state_rules import load_state_rules
from quietdoor.payloads.reader import MAX_SHORT

from .support.course_text import said
from .support.keytool import keytool_cli
from .support.paths import ROOT
from .support.site import Site

pytestmark = pytest.mark.browser
TRAINING_DOCS = ROOT / "content" / "training" / "docs"
CASE_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


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

    assert keytool_cli(site, "fetch").strip() == "lincoln-high: 1 new"
    cases = json.loads(keytool_cli(site, "list", "--json"))["cases"]
    assert len(cases) == 1 and cases[0]["flags"] == ["NOT SAFE NOW"]
    shown = json.loads(keytool_cli(site, "show", cases[0]["id"], "--json"))
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


def answer_quiz_page(
    page: Page, url: str, questions: tuple[Question, ...], wrong_first: int = 0, lang: str = "en"
) -> str:
    """Answer every question on a course page; the first `wrong_first` are answered wrongly
    first. Options are found by their written position (the radio's value), whatever order
    the page shows them in. Returns the page's summary line."""
    page.goto(url)
    forms = page.locator("form.qd-quiz")
    forms.first.wait_for()
    assert forms.count() == len(questions)
    for i, question in enumerate(questions):
        right = next(n for n, o in enumerate(question.options) if o.correct)
        form = forms.nth(i)
        if i < wrong_first:
            wrong = next(n for n, o in enumerate(question.options) if not o.correct)
            form.locator(f"input[value='{wrong}']").check()
            form.locator("button").click()
            feedback = form.locator(".qd-feedback").inner_text()
            assert feedback.startswith(said(lang, "feedback_wrong", feedback="").strip())
            assert question.options[wrong].feedback in feedback
        form.locator(f"input[value='{right}']").check()
        form.locator("button").click()
        right_said = said(lang, "feedback_right", feedback="").strip()
        assert form.locator(".qd-feedback").inner_text().startswith(right_said)
    return page.inner_text(".qd-summary")


def take_scored_test(page: Page, url: str, bank: ItemBank, wrong: int = 0) -> str:
    """Answer a scored test (the items the page drew), the first `wrong` of them wrongly,
    submit, and return the result. No feedback may show before submission."""
    page.goto(url)
    fieldsets = page.locator("form.qd-scored fieldset")
    fieldsets.first.wait_for()
    by_text = {i.text: i for i in bank.items}
    assert fieldsets.count() == len(bank.skills)
    for n in range(fieldsets.count()):
        legend = fieldsets.nth(n).locator("legend").inner_text().split(". ", 1)[1]
        item = by_text[legend]
        choice = item.right if n >= wrong else (item.right + 1) % len(item.options)
        fieldsets.nth(n).locator(f"input[value='{choice}']").check()
    assert page.locator("#qd-result").inner_text() == ""
    page.click("form.qd-scored button[type=submit]")
    page.wait_for_selector("#qd-result p")
    return page.inner_text("#qd-result")


def roster_row(site: Site, home: Path, name: str) -> dict[str, str]:
    """Fetch Cedar Valley High's new records as its lead (other tests on this worker's
    shared site may have sent some too), and return the person's roster row, re-scored
    with the build's answer key."""
    assert re.search(r"cedar-valley-high: [1-9][0-9]* new", keytool_cli(site, "fetch", home=home))
    key = default_print_dir(site.dist) / "training-answer-key.json"
    out = keytool_cli(
        site, "roster", "--modules", str(site.dist), "--answer-key", str(key), home=home
    )
    (row,) = [r for r in csv.DictReader(io.StringIO(out)) if r["name"] == name]
    return row


def test_staff_member_trains_prints_a_certificate_and_appears_on_the_roster(
    site: Site, browser: Browser
) -> None:
    course = load_course(TRAINING_DOCS)
    base = f"{site.relay.url}/training/"
    requests: list[Request] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: requests.append(r))

    skills = len(course.bank.skills)
    result = take_scored_test(page, base + course.pretest.path, course.bank, wrong=5)
    assert f"You answered {skills - 5} of {skills}" in result
    assert "recorded on this device as your score before the course" in result
    assert "Skills to look at in the course:" in result
    for module in course.modules:
        wrong = 1 if module.id == "m03" else 0  # a wrong first try counts against the score
        summary = answer_quiz_page(page, base + module.path, module.questions, wrong)
        n = len(module.questions)
        assert f"You answered {n - wrong} of {n}" in summary, module.id
    page.goto(base + "complete/")
    assert page.locator("#qd-ack").count() == 0  # no pass yet, so no acknowledgment
    result = take_scored_test(page, base + course.posttest.path, course.bank, wrong=4)
    assert "below the pass mark of 80%" in result and "Skills to revisit:" in result
    assert page.locator("#qd-result a").count() >= 1  # the modules behind the missed skills
    page.click("#qd-retake")
    result = take_scored_test(page, base + course.posttest.path, course.bank)
    assert "You passed" in result and "stays in your record too" in result

    today = datetime.date.today()
    page.goto(base + "complete/")
    for field in ("#qd-name", "#qd-role"):  # no longer than the key tool reads
        assert page.get_attribute(field, "maxlength") == str(MAX_SHORT)
    page.fill("#qd-name", "Rosa Díaz")
    page.fill("#qd-role", "School nurse")
    page.fill("#qd-staff-id", "E-1042")
    page.select_option("#qd-district", "cedar-valley")
    page.wait_for_selector("#qd-school option[value='cedar-valley-high']", state="attached")
    page.select_option("#qd-school", "cedar-valley-high")
    page.fill("#qd-ack", "Too short.")
    page.click("#qd-completion-form button")
    assert "tick the attestation" in page.inner_text("#qd-status")
    page.check("#qd-attest")
    page.click("#qd-completion-form button")
    assert "at least 10 words" in page.inner_text("#qd-status")
    page.fill("#qd-ack", ACKNOWLEDGMENT)
    page.click("#qd-completion-form button")
    page.wait_for_selector("#qd-certificate")
    certificate = page.inner_text("#qd-certificate")
    assert "Rosa Díaz" in certificate and "Cedar Valley High School" in certificate
    assert f"{skills - 5} of {skills}" in certificate and ACKNOWLEDGMENT in certificate
    assert f"first attempt: {skills - 4} of {skills}" in certificate
    assert f"passed with {skills} of {skills}" in certificate
    organisation = site.deployment.organisation
    assert f"Provider: {organisation}. Course version " in certificate
    assert "(staff ID E-1042)" in certificate and "Credited time: " in certificate
    assert f"Attestation, signed on {today.isoformat()} (the school’s date)" in certificate
    assert f"I completed this training myself on {today.isoformat()}." in certificate
    reference = re.search(r"Record reference (\S+),", certificate)
    assert reference, certificate
    page.screenshot(path=str(site.dist.parent / "training-certificate.png"), full_page=True)

    # Printing the page prints the certificate alone.
    page.emulate_media(media="print")
    pdf = site.dist.parent / "certificate.pdf"
    page.pdf(path=str(pdf), format="Letter")
    printed = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Certificate of completion" in printed and "Rosa Díaz" in printed
    assert reference.group(1) in printed
    assert "Your name" not in printed and "What the record holds" not in printed
    assert "Print my certificate" not in printed
    context.close()

    assert all(r.url.startswith(site.relay.url + "/") for r in requests), [r.url for r in requests]
    posts = [r for r in requests if r.method == "POST"]
    assert len(posts) == 1 and "Rosa" not in (posts[0].post_data or "")
    fetched = {r.url.removeprefix(base) for r in requests if r.url.startswith(base + "schools/")}
    assert fetched == {"schools/cedar-valley-high.json"}  # no other school's keys were loaded

    home = site.var / "keys" / "ruth-nakamura"
    row = roster_row(site, home, "Rosa Díaz")
    assert row["school"] == "Cedar Valley High School" and row["role"] == "School nurse"
    assert row["staff_id"] == "E-1042" and row["answer_key"] == ""
    assert row["attested_on"] == today.isoformat() and row["course_version"]
    assert row["attestation_wording"] == "general.1" and row["provider"] == organisation
    assert row["attestation_check"] == ""  # the words the built course publishes
    assert row["attestation"].startswith(f"I completed this training myself on {today}.")
    assert float(row["hours_credited"]) == float(row["hours_course"]) >= 0
    assert row["status"] == "complete" and row["trained_on"] == today.isoformat()
    due = datetime.date.fromisoformat(row["due_on"])
    assert 365 <= (due - today).days <= 366  # no state set: the refresher is due in 12 months
    assert (row["pre_score"], row["pre_questions"]) == (str(skills - 5), str(skills))
    assert (row["post_score"], row["post_questions"]) == (str(skills - 4), str(skills))
    assert (row["post_passed_score"], row["post_passed_questions"]) == (str(skills), str(skills))
    assert row["modules_current"] == row["modules_total"] == str(len(course.modules))
    assert row["acknowledgment"] == ACKNOWLEDGMENT
    assert row["records"] == reference.group(1)
    archive = site.var / "training-archive"
    # Every record the lead holds (other tests on this worker's shared site may add some).
    added = keytool_cli(site, "roster", "--archive", str(archive), home=home)
    counted = re.search(r": ([0-9]+) records? added, \1 in all, signed", added)
    assert counted and reference.group(1) in added, added
    verified = keytool_cli(site, "roster", "--verify-archive", str(archive), home=home)
    assert re.search(rf"\b{counted[1]} records?, chain intact", verified), verified
    later = keytool_cli(
        site, "roster", "--on", (today + datetime.timedelta(days=400)).isoformat(), home=home
    )
    (row,) = [r for r in csv.DictReader(io.StringIO(later)) if r["name"] == "Rosa Díaz"]
    assert row["status"] == "overdue"


ACKNOWLEDGMENT = (
    "I finished every module. If a student tells me something, I listen, write down their "
    "words, tell the safeguarding lead and call the state line myself."
)


def test_options_appear_in_a_new_order_on_each_visit(site: Site, browser: Browser) -> None:
    module = load_course(TRAINING_DOCS).modules[6]  # four options in its first question
    assert len(module.questions[0].options) == 4
    url = f"{site.relay.url}/training/{module.path}"
    context = browser.new_context()
    page = context.new_page()
    orders = set()
    for _ in range(6):
        page.goto(url)
        first = page.locator("form.qd-quiz").first
        first.wait_for()
        orders.add(tuple(first.locator("input").evaluate_all("els => els.map(e => e.value)")))
    context.close()
    # Six visits of a question with 4 options all showing one order: (1/24)^5, about 1e-7.
    assert len(orders) > 1, orders


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


def test_a_module_read_in_spanish_counts_for_the_same_module(site: Site, browser: Browser) -> None:
    module = load_course(TRAINING_DOCS).modules[0]
    path = TRAINING_DOCS.parent / "es" / "docs" / f"{module.path.rstrip('/')}.md"
    blocks = QUIZ_BLOCK.findall(path.read_text(encoding="utf-8"))
    questions = tuple(parse_question(path, i + 1, b) for i, b in enumerate(blocks))
    base = f"{site.relay.url}/training/"
    context = browser.new_context()
    page = context.new_page()
    summary = answer_quiz_page(page, base + "es/" + module.path, questions, lang="es")
    n = len(questions)
    assert said("es", "practice_first", score=n, total=n) in summary  # course.json of es/
    assert page.get_attribute("html", "lang") == "es"
    stored = page.evaluate("JSON.parse(localStorage.getItem('quietdoor.training'))")
    assert stored["modules"][module.id]["score"] == n  # the same id as the English module
    page.goto(base + "es/complete/")
    link = page.locator(f".qd-progress a[href$='/training/es/{module.path}']")
    assert link.count() == 1  # the Spanish completion page links to the Spanish pages
    context.close()


def spanish_questions(module_path: str) -> tuple[Question, ...]:
    path = TRAINING_DOCS.parent / "es" / "docs" / f"{module_path.rstrip('/')}.md"
    blocks = QUIZ_BLOCK.findall(path.read_text(encoding="utf-8"))
    return tuple(parse_question(path, i + 1, b) for i, b in enumerate(blocks))


def test_staff_member_trains_in_spanish_and_the_record_says_so(
    site: Site, browser: Browser
) -> None:
    rules = load_state_rules(site.deployment.state)
    course = translated_course(load_course(TRAINING_DOCS, rules), TRAINING_SOURCE, rules, "es")
    base = f"{site.relay.url}/training/es/"
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    skills = len(course.bank.skills)
    result = take_scored_test(page, base + course.pretest.path, course.bank, wrong=3)
    assert said("es", "score", score=skills - 3, total=skills, percent="").split("(")[0] in result
    assert said("es", "pre_recorded") in result and said("es", "revisit_pre") in result
    assert page.get_attribute("html", "lang") == "es"
    assert "Traducción en borrador" in page.inner_text(".qd-review-note")
    english = page.locator(".qd-languages a[hreflang='en']")
    assert english.get_attribute("href") is not None
    for module in course.modules:
        questions = spanish_questions(module.path)
        summary = answer_quiz_page(page, base + module.path, questions, lang="es")
        n = len(questions)
        assert said("es", "practice_first", score=n, total=n) in summary, module.id
    result = take_scored_test(page, base + course.posttest.path, course.bank)
    assert said("es", "passed", **{"pass": 80}) in result

    page.goto(base + "complete/")
    page.fill("#qd-name", "Lucía Gómez")
    page.fill("#qd-role", "Orientadora")
    page.select_option("#qd-district", "cedar-valley")
    page.wait_for_selector("#qd-school option[value='cedar-valley-high']", state="attached")
    page.select_option("#qd-school", "cedar-valley-high")
    page.click("#qd-completion-form button")
    assert said("es", "tick_attest") in page.inner_text("#qd-status")
    page.check("#qd-attest")
    page.fill("#qd-ack", SPANISH_ACKNOWLEDGMENT)
    page.click("#qd-completion-form button")
    page.wait_for_selector("#qd-certificate")
    certificate = page.inner_text("#qd-certificate")
    assert said("es", "cert_title") in certificate and "Lucía Gómez" in certificate
    assert said("es", "cert_language") in certificate
    assert "Completé esta formación personalmente el " in certificate  # general.toml's words
    assert said("es", "cert_own_words") in certificate
    reference = re.search(r"Referencia del registro: (\S+),", certificate)
    assert reference, certificate
    for english_words in ("Certificate of completion", "Module", "Print my certificate"):
        assert english_words not in certificate
    context.close()

    row = roster_row(site, site.var / "keys" / "ruth-nakamura", "Lucía Gómez")
    assert row["course_language"] == "es" and row["answer_key"] == ""  # re-scored, agreed
    assert row["status"] == "complete" and row["records"] == reference.group(1)
    assert row["attestation"].startswith("Completé esta formación personalmente el ")
    assert (row["attestation_wording"], row["attestation_check"]) == ("general.1", "")
    assert (row["pre_score"], row["post_passed_score"]) == (str(skills - 3), str(skills))


SPANISH_ACKNOWLEDGMENT = (
    "Terminé todos los módulos. Si un estudiante me cuenta algo, escucho, anoto sus palabras, "
    "aviso a la persona responsable y llamo yo misma a la línea del estado."
)
