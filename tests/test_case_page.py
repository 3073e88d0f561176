"""The case page in Chromium, against the real relay and the real key tool.

A student reports from the landing page, the lead reads and answers with the key
tool, and the student comes back with the case code (in a fresh browser, typed
carelessly) to read the answer and add more. Then everything that must not
show: a wrong code, another school's code, a damaged or foreign message.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from nacl.public import PrivateKey, SealedBox
from nacl.secret import SecretBox
from nacl.signing import SigningKey
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route

from quietdoor import payloads, protocol
from quietdoor.csp import source_hash
from quietdoor.encoding import b64u_decode, b64u_encode

from .support.case_page import open_case, thread_items
from .support.envelopes import StudentCase, new_case, relay_keys, report_payload, school_keys
from .support.keytool import keytool_cli
from .support.mail import DANA_EMAIL, Mailbox
from .support.processes import stop_relay, wait_until
from .support.relay_api import proof
from .support.site import Site, post_conversation, serve_example

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
CASE_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
NO_MATCH = "We could not open any messages with this code. Please check the code and try again."
UNVERIFIED = "A message here could not be checked, so it is not shown."


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """The school's mail server: Lincoln High's lead is told of new messages by email."""
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def conversation_site(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[Site]:
    """A site of its own: these tests read Lincoln High's inbox with the key tool, and the
    shared site's tests count what is in it."""
    served = serve_example(tmp_path_factory.mktemp("conversation"), mail_port=mailbox.port)
    try:
        yield served
    finally:
        stop_relay(served.relay)


def case_page(site: Site, school: str = "lincoln-high", lang: str = "") -> str:
    return site.deployment.landing_url(school) + (f"{lang}/" if lang else "") + "case/"


Tamper = Callable[[list[dict[str, Any]], StudentCase, Site], None]


def relay_answers_tampered(
    context: BrowserContext, case: StudentCase, site: Site, tamper: Tamper
) -> None:
    """Every case listing the page reads passes through tamper on its way from the relay."""

    def hostile(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()
        document = answer.json()
        tamper(document["messages"], case, site)
        route.fulfill(response=answer, json=document)

    context.route(re.compile(r".*/api/v1/case$"), hostile)


@contextmanager
def tampered_case(
    site: Site, browser: Browser, tamper: Tamper, report: str, reply: str
) -> Iterator[tuple[Page, StudentCase]]:
    """A case with this report and reply, opened on a phone through a relay that tampers."""
    case = post_conversation(site, "lincoln-high", "dana-ortiz", report, reply)
    context = browser.new_context(viewport=PHONE)
    relay_answers_tampered(context, case, site, tamper)
    page = context.new_page()
    try:
        open_case(page, case_page(site), case.code)
        yield page, case
    finally:
        context.close()


def nothing_kept(context: BrowserContext, page: Page) -> None:
    assert context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("indexedDB.databases().then(d => d.length)") == 0
    assert page.evaluate("caches.keys().then(k => k.length)") == 0
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


# --- the whole conversation ---------------------------------------------------------


def test_a_conversation_from_the_landing_page_to_the_key_tool_and_back(
    conversation_site: Site, browser: Browser, mailbox: Mailbox
) -> None:
    site = conversation_site
    origin = site.relay.url
    marker = "MARKER-" + secrets.token_hex(6)
    added = "It is bus 12. " + secrets.token_hex(4)
    reply = "Thank you for telling us. Are you safe after school?"
    requests: list[Request] = []

    # The student reports from the landing page.
    first = browser.new_context(viewport=PHONE)
    page = first.new_page()
    page.on("request", lambda r: requests.append(r))
    page.goto(site.deployment.landing_url("lincoln-high"))
    page.fill("#what", f"Someone takes my pay. {marker}")
    page.check("input[name=safe_now][value=no]")
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)", timeout=15_000)
    code = page.inner_text("#case-code")
    assert CASE_CODE.match(code), code
    first.close()

    # The lead is told by email, with nothing of the report in it, at the end of the window.
    wait_until(lambda: mailbox.messages)
    (to, subject, body), *_ = mailbox.texts()
    assert (to, subject) == ([DANA_EMAIL], "Something new in Quiet Door")
    assert body == (
        "There is something new in Quiet Door for Lincoln High School. Open your key tool."
    )
    assert marker not in mailbox.messages[0][1].decode()

    # The lead opens it (which sends the read receipt) and answers.
    keytool_cli(site, "fetch")
    case_id = b64u_encode(protocol.CaseKeys.derive(code).case_id)
    cases = json.loads(keytool_cli(site, "list", "--json"))["cases"]
    ref = next(c["id"] for c in cases if c["case_id"] == case_id)
    shown = json.loads(keytool_cli(site, "show", ref, "--json"))
    assert marker in shown["messages"][0]["payload"]["answers"]["what"]
    assert "Sent to case" in keytool_cli(site, "reply", ref, "--message", reply)

    # The student comes back in a fresh browser, from the landing page's link, and types the
    # code in lower case with spaces.
    second = browser.new_context(viewport=PHONE)
    page = second.new_page()
    page.on("request", lambda r: requests.append(r))
    page.goto(site.deployment.landing_url("lincoln-high"))
    page.click("text=Read the answer")
    page.wait_for_url(case_page(site))
    open_case(page, case_page(site), "  " + code.lower().replace("-", " ") + " ")
    assert page.is_visible("#thread") and page.is_hidden("#entry")
    assert page.input_value("#code") == ""  # the keys are kept in memory, the code is not
    assert thread_items(page) == [
        f"You · Today Someone takes my pay. {marker} Are you safe right now? No",
        "Read by the school today.",
        f"The school · Today {reply}",
    ]
    assert page.is_hidden("#read-state") and page.is_hidden("#unreadable")

    page.fill("#add-text", added)
    page.click("#add-send")
    page.wait_for_selector("#add-status:has-text('Sent.')")
    assert thread_items(page)[-1] == f"You · Today {added}"
    assert page.inner_text("#read-state") == "The school has not read this yet."
    assert page.input_value("#add-text") == ""
    nothing_kept(second, page)
    second.close()

    # The lead sees the whole thread in order.
    keytool_cli(site, "fetch")
    shown = json.loads(keytool_cli(site, "show", ref, "--json"))
    thread = [m["payload"] for m in shown["messages"]]
    assert [p["kind"] for p in thread] == ["report", "receipt", "reply", "update"]
    assert thread[2]["text"] == reply and thread[3]["text"] == added
    assert thread[3]["lang"] == "en"
    listed = keytool_cli(site, "show", ref)
    assert listed.index(marker) < listed.index(reply) < listed.index(added)

    # Only the relay was asked, and it never saw the words.
    assert all(r.url.startswith(origin + "/") for r in requests), [r.url for r in requests]
    posts = [r for r in requests if r.method == "POST"]
    assert [p.url for p in posts] == [origin + "/api/v1/cases", origin + "/api/v1/case/messages"]
    for post in posts:
        assert marker not in (post.post_data or "") and added not in (post.post_data or "")
    assert marker not in site.relay.log() and added not in site.relay.log()


def test_the_read_day_is_in_the_school_time_zone(conversation_site: Site, browser: Browser) -> None:
    """Lincoln High is in America/Los_Angeles; the phone is in Tokyo, a day ahead in the
    afternoon: every day the page names is the school's."""
    site = conversation_site
    times = [
        datetime(2026, 11, 17, 7, 30, tzinfo=UTC),  # LA: Monday 16th, 11:30 p.m.; Tokyo: Tuesday
        datetime(2026, 11, 25, 6, 0, tzinfo=UTC),  # LA: Tuesday 24th, 10 p.m.; Tokyo: Wednesday
        datetime(2026, 11, 27, 16, 0, tzinfo=UTC),  # LA: Friday 27th, 8 a.m.: today
    ]
    case = post_conversation(site, "lincoln-high", "dana-ortiz", "Old words", "New words", times)
    la = ZoneInfo("America/Los_Angeles")
    assert [t.astimezone(la).strftime("%A %d") for t in times] == [
        "Monday 16",
        "Tuesday 24",
        "Friday 27",
    ]
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.clock.set_fixed_time(datetime(2026, 11, 27, 20, 0, tzinfo=UTC))  # LA: Friday noon
        open_case(page, case_page(site), case.code)
        assert thread_items(page) == [
            "You · Monday, November 16 Old words Are you safe right now? I am not sure",
            "Read by the school on Tuesday.",
            "The school · Today New words",
        ]
        open_case(page, case_page(site, lang="es"), case.code)
        assert thread_items(page) == [
            "Tú · lunes, 16 de noviembre Old words "
            "¿Estás a salvo ahora mismo? No estoy seguro o segura",
            "La escuela lo leyó el martes.",
            "La escuela · Hoy New words",
        ]
    finally:
        context.close()


# --- codes ----------------------------------------------------------------------


LOOK_ALIKE_CODE = "0011-ABCD-EFGH-JK01"


def careless(code: str) -> list[str]:
    """How a student may type a code back: any case, spaces, dashes, look-alike letters."""
    plain = code.replace("-", "")
    return [
        code.lower(),
        " ".join(plain[i : i + 4] for i in range(0, 16, 4)),
        plain.replace("0", "O").replace("1", "l"),
        plain.replace("0", "o").replace("1", "I"),
        "\u2013".join(code.split("-")),  # en dashes, as a phone's keyboard may make them
        f" {code[:9]}\u00a0{code[10:]} ",
    ]


@pytest.fixture(scope="module")
def look_alike_case(conversation_site: Site) -> StudentCase:
    return post_conversation(
        conversation_site,
        "lincoln-high",
        "dana-ortiz",
        "Look-alike words",
        "We read it.",
        code=LOOK_ALIKE_CODE,
    )


@pytest.mark.parametrize("typed", careless(LOOK_ALIKE_CODE))
def test_a_code_typed_carelessly_still_opens_the_case(
    conversation_site: Site, browser: Browser, look_alike_case: StudentCase, typed: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        open_case(page, case_page(conversation_site), typed)
        assert page.inner_text("#code-error") == ""
        assert "Look-alike words" in thread_items(page)[0]
    finally:
        context.close()


def test_a_wrong_code_and_another_schools_code_get_the_same_calm_answer(
    conversation_site: Site, browser: Browser
) -> None:
    site = conversation_site
    elsewhere = post_conversation(
        site, "riverside-middle", "marcus-lee", "ELSEWHERE-WORDS", "ELSEWHERE-REPLY"
    )
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/api/v1/case" in r.url else None)
    try:
        for typed in (protocol.format_case_code(protocol.new_case_code()), elsewhere.code):
            open_case(page, case_page(site), typed)
            assert page.inner_text("#code-error") == NO_MATCH
            assert page.is_hidden("#thread") and page.locator("#messages > li").count() == 0
            assert "ELSEWHERE" not in page.inner_text("body")
            assert page.get_attribute("#code", "aria-invalid") == "true"
        assert answers == [404, 200]  # the relay knows the other school's case; the page tells
        # The same code on its own school's page opens it: the refusal above was the school.
        open_case(page, case_page(site, "riverside-middle"), elsewhere.code)
        assert "ELSEWHERE-WORDS" in thread_items(page)[0]
    finally:
        context.close()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Please type your case code first."),
        ("12345", "That is not a case code."),
        ("7K3M-Q9XD-2PWA-H4TU", "That is not a case code."),  # U is not in the alphabet
    ],
)
def test_what_is_not_a_code_is_refused_in_the_page(
    conversation_site: Site, browser: Browser, typed: str, message: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/" in r.url else None)
    try:
        page.goto(case_page(conversation_site))
        page.fill("#code", typed)
        page.click("#open")
        page.wait_for_selector("#code-error:not(:empty)")
        assert page.inner_text("#code-error").startswith(message)
        assert asked == []
    finally:
        context.close()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (409, "This conversation is full."),
        (429, "Too many messages came from this network"),
        (0, "message service did not answer"),
    ],
)
def test_an_addition_the_relay_refuses_keeps_the_words(
    conversation_site: Site,
    browser: Browser,
    look_alike_case: StudentCase,
    answer: int,
    words: str,
) -> None:
    context = browser.new_context(viewport=PHONE)

    def refuse(route: Route) -> None:
        if answer:
            route.fulfill(status=answer, json={"error": "refused"})
        else:
            route.abort("connectionrefused")

    context.route(re.compile(r".*/api/v1/case/messages$"), refuse)
    page = context.new_page()
    try:
        open_case(page, case_page(conversation_site), look_alike_case.code)
        page.fill("#add-text", "Words to keep.")
        page.click("#add-send")
        page.wait_for_selector("#add-error:not(:empty)")
        assert words in page.inner_text("#add-error")
        assert page.input_value("#add-text") == "Words to keep."
        assert page.inner_text("#add-send") == "Try again" and page.is_enabled("#add-send")
    finally:
        context.close()


# --- a hostile relay ----------------------------------------------------------------


def damaged(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """One bit of the reply's ciphertext changed."""
    ct = rows[2]["envelope"]["ct"]
    middle = len(ct) // 2
    rows[2]["envelope"]["ct"] = ct[:middle] + ("A" if ct[middle] != "A" else "B") + ct[middle + 1 :]


def relabelled(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """The school's reply presented as the student's own words."""
    rows[2]["author"] = "student"


def from_another_case(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """A reply written for another case, sealed to this case's key too: its binding is wrong."""
    other = new_case(site.deployment, "lincoln-high")
    reply = opened(rows[2], case)
    reply.update(case_id=other.case_id, text="REPLY-OF-ANOTHER-CASE", msg_id=new_msg_id())
    rows.append(sealed_row(site, case, "staff", reply))


def not_sealed_to_this_case(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """Another case's message, slipped in."""
    other = post_conversation(site, "lincoln-high", "dana-ortiz", "REPLY-OF-ANOTHER-CASE", "x")
    rows.append({**rows[2], "envelope": other.body["envelope"]})


@pytest.mark.parametrize(
    ("tamper", "hidden"),
    [
        (damaged, "HIDDEN-REPLY"),
        (relabelled, "HIDDEN-REPLY"),
        (from_another_case, "REPLY-OF-ANOTHER-CASE"),
        (not_sealed_to_this_case, "REPLY-OF-ANOTHER-CASE"),
    ],
)
def test_a_message_that_is_damaged_or_does_not_belong_shows_nothing_of_it(
    conversation_site: Site,
    browser: Browser,
    tamper: Tamper,
    hidden: str,
) -> None:
    site = conversation_site
    with tampered_case(site, browser, tamper, "SHOWN-REPORT", "HIDDEN-REPLY") as (page, _):
        text = page.inner_text("main")
        assert "SHOWN-REPORT" in text and hidden not in text
        assert page.inner_text("#unreadable") == UNVERIFIED
        assert page.is_visible("#unreadable")


# --- version 2: what the page checks (a relay that forges) ------------------------------
#
# The relay's answer is changed on its way to the page (Playwright's route, in front of the
# real relay and its database); the rows added are sealed here from plain JSON, so that
# they can be anything a relay might make. These tests need the version-2 relay (it
# answers the case id it matched) and the version-2 core (post_conversation writes a
# version-2 case).


def new_msg_id() -> str:
    return b64u_encode(secrets.token_bytes(16))


def opened(row: dict[str, Any], case: StudentCase) -> dict[str, Any]:
    """The payload of a row sealed to the case's own key, as JSON."""
    envelope = row["envelope"]
    mine = b64u_encode(protocol.key_id(bytes(case.keys.reply_key.public_key)))
    sealed = next(k["sealed"] for k in envelope["keys"] if k["to"] == mine)
    content_key = SealedBox(case.keys.reply_key).decrypt(b64u_decode(sealed))
    padded = SecretBox(content_key).decrypt(
        b64u_decode(envelope["ct"]), b64u_decode(envelope["nonce"])
    )
    payload: dict[str, Any] = json.loads(protocol.unpad(padded))
    return payload


def sealed_row(
    site: Site, case: StudentCase, author: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A row as the relay lists it, holding any JSON, sealed to the school and the case."""
    keys = [*school_keys(site.deployment, case.school), bytes(case.keys.reply_key.public_key)]
    envelope = protocol.seal(case.school, payloads.encode(payload), keys).to_json()
    return {
        "id": secrets.token_hex(12),
        "received": "2026-11-28",
        "author": author,
        "envelope": envelope,
    }


def canonical(payload: dict[str, Any]) -> bytes:
    rest = {k: v for k, v in payload.items() if k != "sig"}
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signed(payload: dict[str, Any], label: bytes, key: SigningKey) -> dict[str, Any]:
    return {**payload, "sig": b64u_encode(key.sign(label + canonical(payload)).signature)}


def stranger_reply(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """A reply signed, validly, by a key that is no recipient's."""
    stranger = SigningKey.generate()
    reply = opened(rows[2], case)
    reply.update(msg_id=new_msg_id(), text="INJECTED", sig="")
    reply["from"] = {"id": "dana-ortiz", "key": b64u_encode(bytes(stranger.verify_key))}
    rows.append(sealed_row(site, case, "staff", signed(reply, b"QD1-STAFF\n", stranger)))


def altered_reply(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """A colleague's reply with its words changed after signing."""
    reply = opened(rows[2], case)
    reply.update(msg_id=new_msg_id(), text="INJECTED")
    rows.append(sealed_row(site, case, "staff", reply))


def student_update(case: StudentCase, rows: list[dict[str, Any]]) -> dict[str, Any]:
    report = opened(rows[0], case)
    return {
        **{k: report[k] for k in ("v", "school", "case_id", "sent", "lang")},
        "kind": "update",
        "msg_id": new_msg_id(),
        "text": "INJECTED",
    }


def forged_update(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """An update signed with a key of the relay's, not the code's."""
    forged = signed(student_update(case, rows), b"QD2-STUDENT\n", SigningKey.generate())
    rows.append(sealed_row(site, case, "student", forged))


def unsigned_update(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """A version-2 update without a signature."""
    rows.append(sealed_row(site, case, "student", student_update(case, rows)))


def second_report(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """The case's own report again under a new message id, its words changed."""
    report = opened(rows[0], case)
    report.update(msg_id=new_msg_id(), answers={"what": "INJECTED", "safe_now": "yes", "more": ""})
    rows.append(sealed_row(site, case, "public", report))


def forged_report_first(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """A report the relay wrote itself (its own keys, the genuine case id), served first."""
    forged = report_payload(case.school, relay_keys(case.keys.case_id), "INJECTED", "yes")
    rows.insert(0, sealed_row(site, case, "public", payloads.to_json(forged)))


def swapped_reply_pk(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """The genuine report (same message id) carrying a reply key the relay holds, served
    first: were it believed, the student's words would be sealed to the relay."""
    report = opened(rows[0], case)
    report.update(
        reply_pk=b64u_encode(bytes(PrivateKey.generate().public_key)),
        answers={"what": "INJECTED", "safe_now": "yes", "more": ""},
    )
    rows.insert(0, sealed_row(site, case, "public", report))


def replayed_reply(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """Another case's reply, served in this one: sealed to that case's key, not this one's."""
    other = StudentCase(
        school=case.school,
        keys=protocol.CaseKeys.derive(protocol.new_case_code()),
        body={},
        code="",
    )
    reply = opened(rows[2], case)
    reply.update(msg_id=new_msg_id(), case_id=b64u_encode(other.keys.case_id), text="INJECTED")
    rows.append(sealed_row(site, other, "staff", reply))


def repeated_reply(rows: list[dict[str, Any]], case: StudentCase, site: Site) -> None:
    """The school's reply served twice (under a new row id): the page shows it once."""
    rows.append({**rows[2], "id": secrets.token_hex(12)})


@pytest.mark.parametrize(
    ("tamper", "flagged"),
    [
        (stranger_reply, True),
        (altered_reply, True),
        (forged_update, False),
        (unsigned_update, False),
        (second_report, False),
        (forged_report_first, False),
        (swapped_reply_pk, False),
        (replayed_reply, False),
        (repeated_reply, None),
    ],
)
def test_a_forged_message_is_flagged_or_hidden_and_the_genuine_ones_shown(
    conversation_site: Site,
    browser: Browser,
    tamper: Tamper,
    flagged: bool | None,
) -> None:
    """A school's message whose signer the page does not know is shown, marked; a message
    the code's keys do not open or prove is hidden, with one line saying so; a message
    served twice is shown once (flagged None)."""
    site = conversation_site
    with tampered_case(site, browser, tamper, "GENUINE-REPORT", "GENUINE-REPLY") as (page, case):
        items = thread_items(page)
        assert items[0].startswith("You · Today GENUINE-REPORT")
        assert items.count("The school · Today GENUINE-REPLY") == 1
        assert page.is_hidden("#v1-note")
        if flagged is None:
            assert len(items) == 3 and page.is_hidden("#unreadable")  # report, read, reply
        elif flagged:
            assert items[-1] == "Sender not recognised · Today INJECTED"
            assert page.is_hidden("#unreadable")
        else:
            assert "INJECTED" not in page.inner_text("main")
            assert page.is_visible("#unreadable") and page.inner_text("#unreadable") == UNVERIFIED


@pytest.mark.parametrize("tamper", [forged_report_first, swapped_reply_pk])
def test_an_update_is_sealed_to_the_code_s_key_never_to_a_forged_report_s(
    conversation_site: Site, browser: Browser, tamper: Tamper
) -> None:
    """The page seals what the student adds to the school and the key its code derives,
    whatever reply key a report the relay serves first carries."""
    site = conversation_site
    with tampered_case(site, browser, tamper, "GENUINE-REPORT", "GENUINE-REPLY") as (page, case):
        assert thread_items(page)[0].startswith("You · Today GENUINE-REPORT")
        page.fill("#add-text", "NEW-WORDS")
        with page.expect_request(lambda r: r.url.endswith("/case/messages")) as sent:
            page.click("#add-send")
        sealed_to = {k["to"] for k in json.loads(sent.value.post_data or "{}")["keys"]}
        own = [*school_keys(site.deployment, case.school), bytes(case.keys.reply_key.public_key)]
        assert sealed_to == {b64u_encode(protocol.key_id(pk)) for pk in own}
        page.wait_for_selector("#add-status:has-text('Sent.')")


def version_1_case(site: Site, what: str) -> StudentCase:
    """A case as a page before version 2 opened it: the version-1 case id, a version-1
    report (no update key) in a version-1 envelope."""
    code = protocol.format_case_code(protocol.new_case_code())
    keys = protocol.CaseKeys.derive(code)
    case_id_v1 = protocol.blake2b(protocol.normalise_case_code(code).encode(), 16, b"qd1.case_id")
    report = {
        "v": 1,
        "kind": "report",
        "school": "lincoln-high",
        "case_id": b64u_encode(case_id_v1),
        "msg_id": new_msg_id(),
        "sent": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "lang": "en",
        "reply_pk": b64u_encode(bytes(keys.reply_key.public_key)),
        "answers": {"what": what, "safe_now": "", "more": ""},
    }
    case = StudentCase(school="lincoln-high", keys=keys, body={}, code=code)
    envelope = sealed_row(site, case, "public", report)["envelope"]
    body = {
        "case_id": b64u_encode(case_id_v1),
        "auth_hash": b64u_encode(protocol.auth_hash(keys.auth_token)),
        "envelope": {**envelope, "v": 1},
    }
    answer = httpx.post(
        site.relay.url + "/api/v1/cases", json=body, headers=proof(site.relay.url, "lincoln-high")
    )
    assert answer.status_code == 201, answer.text
    return case


def test_a_case_opened_before_version_2_opens_labelled_and_takes_an_update(
    conversation_site: Site, browser: Browser
) -> None:
    """Needs the version-2 relay: it looks the X-QD-Case-V1 id up when the version-2 id is
    not there, and accepts version-1 envelopes within [relay] v1_accept_days."""
    site = conversation_site
    case = version_1_case(site, "OLD-REPORT")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        open_case(page, case_page(site), case.code)
        assert thread_items(page)[0].startswith("You · Today OLD-REPORT")
        assert page.is_visible("#v1-note") and page.is_hidden("#unreadable")
        assert "before our last safety update" in page.inner_text("#v1-note")
        page.fill("#add-text", "NEW-WORDS")
        page.click("#add-send")
        page.wait_for_selector("#add-status:has-text('Sent.')")
        assert thread_items(page)[-1] == "You · Today NEW-WORDS"
    finally:
        context.close()


# --- loading: case.js is inline, before the crypto ---------------------------------

NOT_LOADED = "This page did not load all the way, so it cannot send yet."


def test_the_case_page_works_before_the_crypto_arrives(
    conversation_site: Site, browser: Browser, look_alike_case: StudentCase
) -> None:
    """case.js, inline, runs before the (larger) crypto has arrived."""
    context = browser.new_context(viewport=PHONE)
    held: list[Route] = []
    context.route("**/assets/nacl-fast.min.js*", lambda route: held.append(route))
    page = context.new_page()
    try:
        page.goto(case_page(conversation_site), wait_until="commit")
        page.wait_for_selector("#open:enabled")
        assert page.evaluate("typeof nacl") == "undefined"
        page.fill("#code", look_alike_case.code)
        page.click("#open")
        page.wait_for_selector("#code-status:not(:empty)")
        assert page.inner_text("#code-status") == "Getting ready. One moment…"
        while not held:  # the route handler runs as Playwright delivers its events
            page.wait_for_timeout(20)
        held[0].continue_()
        page.wait_for_selector("#thread:visible")
        assert "Look-alike words" in thread_items(page)[0]
    finally:
        context.close()


def test_a_crypto_script_that_fails_is_named_on_the_case_page(
    conversation_site: Site, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE)
    context.route("**/assets/blake2b.js*", lambda r: r.fulfill(status=200, body="tampered()"))
    page = context.new_page()
    try:
        page.goto(case_page(conversation_site))
        page.wait_for_selector("#code-error:not(:empty)")
        assert page.inner_text("#code-error").startswith(NOT_LOADED)
        page.fill("#code", LOOK_ALIKE_CODE)
        page.click("#open")
        assert page.inner_text("#code-error").startswith(NOT_LOADED)
        assert page.is_hidden("#thread")
    finally:
        context.close()


def test_a_case_script_the_policy_refuses_is_named_and_the_exit_still_works(
    conversation_site: Site, browser: Browser
) -> None:
    """A relay whose header policy lacks case.js's hash (older than the build) refuses it;
    page.js says so: without it the open button would stay disabled, unexplained."""
    exit_url = conversation_site.deployment.quick_exit_url
    context = browser.new_context(viewport=PHONE)
    context.route(
        exit_url + "**",
        lambda r: r.fulfill(status=200, content_type="text/html", body="<title>elsewhere</title>"),
    )
    case_js = source_hash((conversation_site.dist / "assets" / "case.js").read_bytes())

    def without_case_js(route: Route) -> None:
        answer = route.fetch()
        headers = dict(answer.headers)
        policy = headers["content-security-policy"]
        assert case_js in policy
        headers["content-security-policy"] = policy.replace(" " + case_js, "")
        route.fulfill(response=answer, headers=headers)

    context.route(case_page(conversation_site), without_case_js)
    page = context.new_page()
    try:
        page.goto(case_page(conversation_site))
        page.wait_for_selector("#code-error:not(:empty)")
        assert page.inner_text("#code-error").startswith(NOT_LOADED)
        assert page.is_visible("#code") and page.is_disabled("#open")
        page.click("#quick-exit")
        page.wait_for_url(exit_url)
    finally:
        context.close()


# --- leaving ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["button", "shift"])
def test_the_quick_exit_works_on_the_case_page(
    conversation_site: Site, browser: Browser, look_alike_case: StudentCase, how: str
) -> None:
    exit_url = conversation_site.deployment.quick_exit_url
    context = browser.new_context(viewport=PHONE)
    context.route(
        exit_url + "**",
        lambda r: r.fulfill(status=200, content_type="text/html", body="<title>elsewhere</title>"),
    )
    page = context.new_page()
    try:
        open_case(page, case_page(conversation_site), look_alike_case.code)
        length = page.evaluate("history.length")
        page.fill("#add-text", "half written")
        if how == "button":
            page.click("#quick-exit")
        else:
            page.focus("#add-text")
            for _ in range(3):
                page.keyboard.press("Shift")
        page.wait_for_url(exit_url)
        assert page.evaluate("history.length") == length  # replaced, not pushed
    finally:
        context.close()


def test_leaving_or_closing_wipes_the_conversation(
    conversation_site: Site, browser: Browser, look_alike_case: StudentCase
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        open_case(page, case_page(conversation_site), look_alike_case.code)
        page.fill("#add-text", "half written")
        page.click("a[hreflang=es]")
        page.wait_for_url("**/es/case/index.html")
        page.go_back()  # the page the browser kept for Back was wiped as it was left
        page.wait_for_selector("#code:visible")
        assert page.locator("#messages > li").count() == 0 and page.is_hidden("#thread")
        assert page.input_value("#code") == "" and page.input_value("#add-text") == ""

        open_case(page, page.url, look_alike_case.code)
        page.click("#close")
        assert page.is_visible("#code") and page.is_hidden("#thread")
        assert page.locator("#messages > li").count() == 0
        assert page.evaluate("document.activeElement.id") == "code"
        nothing_kept(context, page)
    finally:
        context.close()
