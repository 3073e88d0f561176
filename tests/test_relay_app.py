"""The relay in-process (Starlette's TestClient), on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from starlette.testclient import TestClient

from quietdoor import payloads, protocol
from quietdoor.config import Deployment, PreviousKeys
from quietdoor.csp import source_hash
from quietdoor.encoding import b64u_encode
from relay.app import create_app
from relay.store import SQLStore
from relay.stores import open_store
from relay.throttle import MAX_DELAY, FailedCodes

from .support.deployments import KeyedDeployment, Keys, make_deployment
from .support.envelopes import StudentCase, new_case, school_keys, staff_message, update
from .support.relay_api import as_body, messages_path, reply_path, signed_headers

CASES = "/api/v1/cases"
CASE = "/api/v1/case"
ADD = "/api/v1/case/messages"


def rotate_in_config(deployment: Deployment, who: str, new: Keys, until: date) -> Deployment:
    """The deployment after `who` rotated to new keys, their old ones accepted until a day."""
    return dataclasses.replace(
        deployment,
        recipients=tuple(
            dataclasses.replace(
                r,
                x25519=bytes(new.box.public_key),
                ed25519=bytes(new.signing.verify_key),
                previous=(PreviousKeys(r.x25519, r.ed25519, until), *r.previous),
            )
            if r.id == who
            else r
            for r in deployment.recipients
        ),
    )


def staff_note(
    deployment: Deployment, case: StudentCase, who: str, signing: SigningKey
) -> dict[str, Any]:
    header = payloads.Header.new("note", case.school, case.keys.case_id)
    draft = payloads.Note(
        header, "in_progress", "", "Called the family.", payloads.Signer(who, b"")
    )
    signed = payloads.sign(draft, signing, who)
    return payloads.seal_payload(signed, school_keys(deployment, case.school)).to_json()


def client_for(td: KeyedDeployment, store: SQLStore, static: Path | None = None) -> TestClient:
    return TestClient(create_app(td.deployment, store, static), base_url="http://127.0.0.1:8000")


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url="http://127.0.0.1:8000")


@pytest.fixture
def client(td: KeyedDeployment, store: SQLStore) -> TestClient:
    return client_for(td, store)


def listing(client: TestClient, td: KeyedDeployment, school: str, who: str, **kw: int) -> Any:
    path = messages_path(school, **kw)
    answer = client.get(path, headers=signed_headers(td.keys[who].signing, path))
    assert answer.status_code == 200, answer.text
    return answer.json()


def staff_post(client: TestClient, td: KeyedDeployment, who: str, path: str, document: Any) -> Any:
    body = as_body(document)
    headers = signed_headers(td.keys[who].signing, path, "POST", body)
    return client.post(path, content=body, headers=headers)


def opened(client: TestClient, case: StudentCase) -> None:
    answer = client.post(CASES, json=case.body)
    assert answer.status_code == 201, answer.text


def test_a_conversation_round_trip(client: TestClient, td: KeyedDeployment) -> None:
    d = td.deployment
    case = new_case(d, "lincoln-high")
    first = client.post(CASES, json=case.body)
    assert first.status_code == 201 and set(first.json()) == {"id", "received"}

    answer = staff_post(
        client,
        td,
        "dana-ortiz",
        reply_path(case),
        staff_message(
            d, case, "dana-ortiz", td.keys["dana-ortiz"].signing, "Are you safe after school?"
        ),
    )
    assert answer.status_code == 201, answer.text
    added = client.post(ADD, json=update(d, case, "yes"), headers=case.headers)
    assert added.status_code == 201, added.text
    note = staff_note(d, case, "marcus-lee", td.keys["marcus-lee"].signing)
    assert (
        staff_post(client, td, "marcus-lee", "/api/v1/schools/lincoln-high/notes", note).status_code
        == 201
    )

    thread = client.get(CASE, headers=case.headers)
    assert thread.status_code == 200
    assert thread.headers["cache-control"] == "no-store"
    assert thread.json()["school"] == "lincoln-high"
    assert [m["author"] for m in thread.json()["messages"]] == ["public", "staff", "student"]

    rows = listing(client, td, "lincoln-high", "dana-ortiz")["messages"]
    assert [r["author"] for r in rows] == ["public", "staff", "student", "staff"]
    assert [r["cursor"] for r in rows] == [1, 2, 3, 4]
    assert [r["case_id"] for r in rows] == [case.case_id] * 3 + [None]  # notes belong to no case


def test_cursors_are_per_school_and_pages_follow_them(
    client: TestClient, td: KeyedDeployment
) -> None:
    ids = []
    for school in [
        "riverside-middle",
        "lincoln-high",
        "riverside-middle",
        "lincoln-high",
        "lincoln-high",
    ]:
        ids.append(
            (school, client.post(CASES, json=new_case(td.deployment, school).body).json()["id"])
        )
    lincoln = [i for s, i in ids if s == "lincoln-high"]
    page = listing(client, td, "lincoln-high", "dana-ortiz", limit=2)
    assert [m["id"] for m in page["messages"]] == lincoln[:2]
    assert [m["cursor"] for m in page["messages"]] == [1, 2]  # no gaps from other schools
    assert page["more"] is True
    rest = listing(client, td, "lincoln-high", "dana-ortiz", after=2)
    assert [m["id"] for m in rest["messages"]] == lincoln[2:] and rest["more"] is False
    # The district lead reads both district schools; each school's list holds only its own.
    assert len(listing(client, td, "riverside-middle", "marcus-lee")["messages"]) == 2


def test_a_retried_post_is_stored_once(client: TestClient, td: KeyedDeployment) -> None:
    case = new_case(td.deployment, "lincoln-high")
    first = client.post(CASES, json=case.body)
    again = client.post(CASES, json=case.body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(listing(client, td, "lincoln-high", "dana-ortiz")["messages"]) == 1


def test_the_same_nonce_with_another_envelope_is_refused(
    client: TestClient, td: KeyedDeployment
) -> None:
    case = new_case(td.deployment, "lincoln-high")
    opened(client, case)
    other = new_case(td.deployment, "lincoln-high")
    other.body["envelope"]["nonce"] = case.body["envelope"]["nonce"]
    answer = client.post(CASES, json=other.body)
    assert answer.status_code == 409
    assert "nonce" in answer.json()["error"]
    clash = new_case(td.deployment, "lincoln-high")
    clash.body["case_id"] = case.body["case_id"]
    assert client.post(CASES, json=clash.body).status_code == 409
    assert len(listing(client, td, "lincoln-high", "dana-ortiz")["messages"]) == 1


def test_an_envelope_for_old_recipients_is_refused(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    stale = make_deployment(tmp_path / "old")  # same schools, other keys
    answer = client.post(CASES, json=new_case(stale.deployment, "lincoln-high").body)
    assert answer.status_code == 422
    assert "reload the page" in answer.json()["error"]


@pytest.mark.parametrize(("last_day", "old_key"), [(0, 201), (-1, 422)])
def test_a_previous_key_is_accepted_until_its_last_day(
    tmp_path: Path, store: SQLStore, last_day: int, old_key: int
) -> None:
    before = make_deployment(tmp_path)
    new = Keys(PrivateKey.generate(), SigningKey.generate())
    today = datetime.now(UTC).date()
    after = rotate_in_config(before.deployment, "dana-ortiz", new, today + timedelta(last_day))
    client = TestClient(create_app(after, store))
    # A student's phone still holds the page that seals to Dana's old key.
    cached_page = new_case(before.deployment, "lincoln-high")
    assert client.post(CASES, json=cached_page.body).status_code == old_key
    assert client.post(CASES, json=new_case(after, "lincoln-high").body).status_code == 201
    # Exactly one accepted key per recipient: old and new together are refused.
    marcus = before.deployment.recipients[1].x25519
    both = [bytes(new.box.public_key), before.deployment.recipients[0].x25519, marcus]
    answer = client.post(CASES, json=new_case(after, "lincoln-high", recipients=both).body)
    assert answer.status_code == 422
    # Requests are signed with current keys only: the old signing key reads nothing.
    path = messages_path("lincoln-high")
    old_signer = before.keys["dana-ortiz"].signing
    assert client.get(path, headers=signed_headers(old_signer, path)).status_code == 403
    assert client.get(path, headers=signed_headers(new.signing, path)).status_code == 200


def wrong_codes(case: StudentCase, other: StudentCase) -> list[tuple[str, dict[str, str]]]:
    return [
        ("no headers", {}),
        ("no token", {"x-qd-case": case.case_id}),
        ("no case", {"authorization": case.headers["authorization"]}),
        ("another case's token", {**case.headers, "authorization": other.headers["authorization"]}),
        ("another case's id", {**case.headers, "x-qd-case": other.case_id}),
        ("not base64url", {**case.headers, "x-qd-case": "@@@@"}),
        (
            "wrong scheme",
            {
                **case.headers,
                "authorization": case.headers["authorization"].replace("Bearer", "Basic"),
            },
        ),
        ("short token", {**case.headers, "authorization": "Bearer AAAA"}),
        ("unknown case", new_case_headers()),
    ]


def new_case_headers() -> dict[str, str]:
    keys = protocol.CaseKeys.derive(protocol.new_case_code())
    return {
        "x-qd-case": b64u_encode(keys.case_id),
        "authorization": "Bearer " + b64u_encode(keys.auth_token),
    }


def test_student_requests_need_the_case_code(client: TestClient, td: KeyedDeployment) -> None:
    case, other = new_case(td.deployment, "lincoln-high"), new_case(td.deployment, "lincoln-high")
    opened(client, case)
    opened(client, other)
    answers = set()
    for _name, headers in wrong_codes(case, other):
        read = client.get(CASE, headers=headers)
        add = client.post(ADD, json=update(td.deployment, case), headers=headers)
        answers.add((read.status_code, read.json()["error"], add.status_code, add.json()["error"]))
    # One calm answer, whatever was wrong: it reveals nothing about which part.
    assert answers == {
        (404, "no conversation matches this code", 404, "no conversation matches this code")
    }
    assert len(listing(client, td, "lincoln-high", "dana-ortiz")["messages"]) == 2


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("sealed to another case's key", 422, "this case's key"),
        ("sealed for another school", 422, "another school"),
        ("not sealed to the case at all", 422, "current recipients"),
    ],
)
def test_an_update_must_be_sealed_for_its_case(
    client: TestClient, td: KeyedDeployment, name: str, status: int, words: str
) -> None:
    d = td.deployment
    case, other = new_case(d, "lincoln-high"), new_case(d, "lincoln-high")
    opened(client, case)
    if name == "sealed to another case's key":
        envelope = update(d, other)
    elif name == "sealed for another school":
        envelope = update(d, new_case(d, "riverside-middle"))
    else:
        envelope = staff_note(d, case, "dana-ortiz", td.keys["dana-ortiz"].signing)
    answer = client.post(ADD, json=envelope, headers=case.headers)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]
    assert len(client.get(CASE, headers=case.headers).json()["messages"]) == 1


def staff_refusals(
    td: KeyedDeployment, path: str, body: bytes
) -> list[tuple[str, dict[str, str], int, str]]:
    dana = td.keys["dana-ortiz"].signing
    ruth = td.keys["ruth-nakamura"].signing  # reads Cedar Valley only
    wrong = signed_headers(dana, path, "POST", body)
    wrong["x-qd-signature"] = signed_headers(SigningKey.generate(), path, "POST", body)[
        "x-qd-signature"
    ]
    other_body = signed_headers(dana, path, "POST", body + b" ")
    return [
        ("unsigned", {"content-type": "application/json"}, 401, "missing header"),
        ("wrongly signed", wrong, 401, "bad signature"),
        ("signed over another body", other_body, 401, "bad signature"),
        ("stale", signed_headers(dana, path, "POST", body, now=1_000_000), 401, "stale"),
        (
            "a stranger",
            signed_headers(SigningKey.generate(), path, "POST", body),
            403,
            "not a recipient",
        ),
        ("another school's lead", signed_headers(ruth, path, "POST", body), 403, "not a recipient"),
    ]


@pytest.mark.parametrize("endpoint", ["reply", "note"])
def test_staff_posts_need_a_fresh_signature_of_the_school(
    client: TestClient, td: KeyedDeployment, endpoint: str
) -> None:
    d = td.deployment
    case = new_case(d, "lincoln-high")
    opened(client, case)
    if endpoint == "reply":
        path = reply_path(case)
        document = staff_message(d, case, "dana-ortiz", td.keys["dana-ortiz"].signing, "hello")
    else:
        path = "/api/v1/schools/lincoln-high/notes"
        document = staff_note(d, case, "dana-ortiz", td.keys["dana-ortiz"].signing)
    body = as_body(document)
    for name, headers, status, words in staff_refusals(td, path, body):
        answer = client.post(path, content=body, headers=headers)
        assert answer.status_code == status, f"{name}: {answer.text}"
        assert words in answer.json()["error"], name
    good = signed_headers(td.keys["dana-ortiz"].signing, path, "POST", body)
    assert client.post(path, content=body, headers=good).status_code == 201
    replayed = client.post(path, content=body, headers=good)
    assert replayed.status_code == 401 and "replayed" in replayed.json()["error"]
    assert len(listing(client, td, "lincoln-high", "dana-ortiz")["messages"]) == 2


def test_a_reply_must_name_a_case_of_that_school(client: TestClient, td: KeyedDeployment) -> None:
    d = td.deployment
    case = new_case(d, "riverside-middle")
    opened(client, case)
    document = staff_message(d, case, "dana-ortiz", td.keys["dana-ortiz"].signing, "hi")
    wrong = f"/api/v1/schools/lincoln-high/cases/{case.case_id}/messages"
    answer = staff_post(client, td, "dana-ortiz", wrong, document)
    assert answer.status_code == 404, answer.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=-1", "'after'"),
        ("after=x", "'after'"),
        ("after=%C2%B2", "'after'"),
        ("after=0&limit=0", "'limit'"),
        ("after=0&limit=201", "'limit'"),
    ],
)
def test_bad_listing_parameters(
    client: TestClient, td: KeyedDeployment, query: str, message: str
) -> None:
    path = f"/api/v1/schools/lincoln-high/messages?{query}"
    answer = client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path))
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_only_json_bodies_are_accepted(client: TestClient, td: KeyedDeployment) -> None:
    """A third-party page could make its visitors post a simple form; never as JSON."""
    case = new_case(td.deployment, "lincoln-high")
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "",
    ]:
        answer = client.post(
            CASES, content=as_body(case.body), headers={"content-type": content_type}
        )
        assert answer.status_code == 415, content_type
    assert listing(client, td, "lincoln-high", "dana-ortiz")["messages"] == []


def test_openapi_describes_every_api_route(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    app_paths = {
        r.path
        for r in client.app.routes  # type: ignore[attr-defined]
        if r.path.startswith("/api/v1/") or r.path in ("/healthz", "/metrics")
    }
    assert app_paths == set(doc["paths"])


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    answer = client.get("/api/v2/anything")
    assert answer.status_code == 404
    assert "error" in answer.json()


def test_cors_allows_only_the_site_origin(tmp_path: Path, store: SQLStore) -> None:
    td = make_deployment(tmp_path)  # site and relay on different https origins
    client = TestClient(
        create_app(td.deployment, store), base_url="https://relay.riverside.example"
    )
    ok = client.options(
        CASE,
        headers={
            "origin": "https://report.riverside.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization, x-qd-case",
        },
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://report.riverside.example"
    bad = client.options(
        CASES,
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in bad.headers
    assert client.get("/api/openapi.json").headers["strict-transport-security"]


@pytest.mark.parametrize(
    "path",
    ["/s/lincoln-high/", "//s/lincoln-high/", "/s/lincoln-high/index.html", "/s//lincoln-high/"],
)
def test_every_student_page_path_gets_the_strict_csp(
    td: KeyedDeployment, store: SQLStore, tmp_path: Path, path: str
) -> None:
    site = tmp_path / "site"
    (site / "s" / "lincoln-high").mkdir(parents=True)
    (site / "s" / "lincoln-high" / "index.html").write_text("<p>hi</p>")
    # The whole URL, so that the client sends an odd path as it is.
    answer = client_for(td, store, site).get("http://127.0.0.1:8000" + path)
    assert answer.status_code in (200, 404)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in answer.headers
    assert "strict-transport-security" not in answer.headers  # plain http on 127.0.0.1


def test_the_page_header_allows_the_inline_code_of_the_site_it_serves(
    td: KeyedDeployment, store: SQLStore, tmp_path: Path
) -> None:
    """The page carries its CSS and scripts inline; the header policy, which applies beside
    the page's own, allows exactly them, also after a rebuild while the relay runs."""
    site = tmp_path / "site"
    (site / "s" / "x").mkdir(parents=True)
    (site / "assets").mkdir()
    (site / "s" / "x" / "index.html").write_text("<p>hi</p>")
    client = client_for(td, store, site)

    def scripts_and_styles() -> tuple[list[str], list[str]]:
        csp = client.get("/s/x/").headers["content-security-policy"]
        parts = dict(p.strip().split(" ", 1) for p in csp.split(";"))
        return parts["script-src"].split()[1:], parts["style-src"].split()[1:]

    assert scripts_and_styles() == ([], [])  # no inline code published: none allowed
    (site / "assets" / "page.js").write_text("var a = 1;")
    (site / "assets" / "app.js").write_text("var b = 2;")
    (site / "assets" / "landing.css").write_text("p{}")
    (site / "assets" / "other.js").write_text("var c = 3;")
    (site / "assets" / "case.js").write_text("var d = 4;")
    (site / "assets" / "proof.js").write_text("var e = 5;")  # deferred, never inline
    assert scripts_and_styles() == (
        [source_hash(b"var a = 1;"), source_hash(b"var b = 2;"), source_hash(b"var d = 4;")],
        [source_hash(b"p{}")],
    )
    (site / "assets" / "app.js").write_text("var b = 22;")  # rebuilt
    assert scripts_and_styles()[0] == [
        source_hash(b"var a = 1;"),
        source_hash(b"var b = 22;"),
        source_hash(b"var d = 4;"),
    ]
    assert (
        source_hash(b"var a = 1;")
        == "'sha256-" + base64.b64encode(hashlib.sha256(b"var a = 1;").digest()).decode() + "'"
    )


def test_course_pages_and_assets_get_their_policy_and_cache_rule(
    td: KeyedDeployment, store: SQLStore, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    (site / "training").mkdir(parents=True)
    (site / "assets").mkdir()
    (site / "training" / "index.html").write_text("<p>course</p>")
    (site / "assets" / "app.js").write_text("1")
    client = client_for(td, store, site)
    course = client.get("/training/")
    assert "frame-ancestors 'none'" in course.headers["content-security-policy"]
    assert "https:" not in course.headers["content-security-policy"]
    asset = client.get("/assets/app.js?v=abc")
    assert "immutable" in asset.headers["cache-control"]


def test_precompressed_files_are_served_when_accepted(
    td: KeyedDeployment, store: SQLStore, tmp_path: Path
) -> None:
    import gzip

    site = tmp_path / "site"
    site.mkdir()
    page = "<p>" + "hello " * 500 + "</p>"
    (site / "index.html").write_text(page)
    (site / "index.html.gz").write_bytes(gzip.compress(page.encode()))
    client = client_for(td, store, site)
    zipped = client.get("/", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/html")
    assert zipped.text == page  # the client decompresses it
    plain = client.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == page
    # A reload asks whether its copy is still current: 304, never an error.
    again = client.get(
        "/", headers={"accept-encoding": "gzip", "if-none-match": zipped.headers["etag"]}
    )
    assert again.status_code == 304
    assert zipped.headers["etag"] != plain.headers["etag"]


def test_stored_rows_hold_nothing_about_the_sender(td: KeyedDeployment, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    client = client_for(td, store)
    headers = {"user-agent": "Marker-UA/1.0", "x-forwarded-for": "203.0.113.77"}
    case = new_case(td.deployment, "lincoln-high")
    client.post(CASES, json=case.body, headers=headers)
    client.post(ADD, json=update(td.deployment, case), headers={**headers, **case.headers})
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    assert b"Marker-UA" not in raw and b"203.0.113.77" not in raw and b"testclient" not in raw
    reopened = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    rows = listing(client_for(td, reopened), td, "lincoln-high", "dana-ortiz")["messages"]
    reopened.close()
    assert {len(m["received"]) for m in rows} == {10}  # the day only: YYYY-MM-DD


def test_a_key_learns_which_schools_it_reads(client: TestClient, td: KeyedDeployment) -> None:
    answer = client.get(
        "/api/v1/schools", headers=signed_headers(td.keys["marcus-lee"].signing, "/api/v1/schools")
    )
    assert answer.json() == {"schools": ["lincoln-high", "riverside-middle"]}
    stranger = client.get(
        "/api/v1/schools", headers=signed_headers(SigningKey.generate(), "/api/v1/schools")
    )
    assert stranger.status_code == 403
    assert client.get("/api/v1/schools").status_code == 401


def test_wrong_method_is_json_405(client: TestClient) -> None:
    answer = client.get(CASES)
    assert answer.status_code == 405
    assert answer.json() == {"error": "Method Not Allowed"}


def test_wrong_codes_slow_down_per_case_and_overall_but_never_lock_out() -> None:
    now = [0.0]
    codes = FailedCodes(clock=lambda: now[0])
    delays = [codes.failure_delay("case-a") for _ in range(6)]
    assert delays[:3] == [0.0, 0.0, 0.0]  # typing mistakes cost nothing
    assert delays[3:] == [0.5, 1.0, 2.0]  # then each wrong code waits longer
    assert codes.failure_delay("case-b") == 0.0  # another case is not slowed by this one
    now[0] += 601  # the window passes
    assert codes.failure_delay("case-a") == 0.0
    codes.waiting = 64  # too many wrong codes already waiting: the next waits the longest
    assert codes.failure_delay("case-c") == MAX_DELAY
