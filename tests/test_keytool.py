"""The key tool's CLI against a real relay, and every way its input can be wrong."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from keytool.__main__ import main
from keytool.identity import load_identity
from quietdoor import protocol
from quietdoor.config import dump_config, load_config, recipient_snippet
from quietdoor.encoding import b64u_decode, b64u_encode

from .helpers import RelayProcess, make_deployment, report, start_relay, stop_relay

PASS = "a long enough test passphrase"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", PASS)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    h = tmp_path / "dana"
    code, out, _ = run(
        capsys,
        "--home",
        h,
        "init",
        "--id",
        "dana-ortiz",
        "--name",
        "Dana Ortiz",
        "--school",
        "lincoln-high",
    )
    assert code == 0 and "[[recipients]]" in out
    return h


@dataclasses.dataclass
class Setup:
    home: Path
    relay: RelayProcess
    deployment_path: Path


@pytest.fixture
def setup(home: Path, tmp_path: Path) -> Iterator[Setup]:
    """A relay whose config names the key tool's freshly made keys for dana-ortiz."""
    td = make_deployment(tmp_path)
    ident = json.loads((home / "identity.json").read_text())
    recipients = tuple(
        dataclasses.replace(
            r, x25519=b64u_decode(ident["x25519"]), ed25519=b64u_decode(ident["ed25519"])
        )
        if r.id == "dana-ortiz"
        else r
        for r in td.deployment.recipients
    )
    path = tmp_path / "with-dana.toml"
    path.write_text(dump_config(dataclasses.replace(td.deployment, recipients=recipients)))
    relay = start_relay(path, f"sqlite:///{tmp_path / 'relay.db'}", tmp_path)
    try:
        yield Setup(home=home, relay=relay, deployment_path=path)
    finally:
        stop_relay(relay)


def post(s: Setup, what: str, school: str = "lincoln-high") -> str:
    env = report(load_config(s.deployment_path), school, what)
    answer = httpx.post(s.relay.url + "/api/v1/envelopes", json=env)
    assert answer.status_code == 201
    return str(answer.json()["id"])


def test_init_prints_a_snippet_the_config_accepts(home: Path, tmp_path: Path) -> None:
    text = (home / "identity.json").read_text()
    assert (home / "identity.json").stat().st_mode & 0o077 == 0
    identity = load_identity(home, PASS)
    for secret in (bytes(identity.box_key), bytes(identity.signing_key)):
        assert b64u_encode(secret) not in text
    assert PASS not in text
    snippet = tmp_path / "snippet.toml"
    snippet.write_text(recipient_snippet(identity.recipient))
    assert (
        tomllib.loads(snippet.read_text())["recipients"][0]["x25519"] == json.loads(text)["x25519"]
    )


def test_fetch_list_show_round_trip(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    first = post(setup, "first report, marker 1111")
    post(setup, "second report, marker 2222")
    post(setup, "for another school", school="cedar-valley-high")
    code, out, err = run(capsys, "--home", setup.home, "fetch", "--relay", setup.relay.url)
    assert (code, out.strip(), err) == (0, "lincoln-high: 2 new", "")
    code, out, _ = run(capsys, "--home", setup.home, "fetch")  # the relay is remembered
    assert (code, out.strip()) == (0, "lincoln-high: 0 new")

    code, out, _ = run(capsys, "--home", setup.home, "list")
    assert code == 0 and "marker 1111" in out and "marker 2222" in out and "another" not in out
    code, out, _ = run(capsys, "--home", setup.home, "list", "--json")
    items = json.loads(out)["items"]
    assert [i["payload"]["answers"]["what"] for i in items] == [
        "first report, marker 1111",
        "second report, marker 2222",
    ]
    code, out, _ = run(capsys, "--home", setup.home, "show", first)
    assert (
        code == 0 and "first report, marker 1111" in out and "did not say if they are safe" in out
    )
    code, out, _ = run(capsys, "--home", setup.home, "show", first, "--json")
    assert json.loads(out)["id"] == first


def test_damaged_and_foreign_envelopes_are_skipped_by_id(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = post(setup, "still readable")
    damaged = post(setup, "will be damaged")
    run(capsys, "--home", setup.home, "fetch", "--relay", setup.relay.url)
    inbox = sqlite3.connect(setup.home / "inbox.sqlite3")
    with inbox:
        body = json.loads(
            inbox.execute("SELECT body FROM envelopes WHERE id = ?", (damaged,)).fetchone()[0]
        )
        body["ct"] = "A" + body["ct"][1:] if body["ct"][0] != "A" else "B" + body["ct"][1:]
        inbox.execute("UPDATE envelopes SET body = ? WHERE id = ?", (json.dumps(body), damaged))
        (tmp_path / "other").mkdir()
        foreign = report(make_deployment(tmp_path / "other").deployment, "lincoln-high")
        inbox.execute(
            "INSERT INTO envelopes VALUES ('foreign1', 'lincoln-high', 99, '2026-11-28', ?)",
            (json.dumps(foreign),),
        )
        inbox.execute(
            "INSERT INTO envelopes VALUES ('garbage1', 'lincoln-high', 100, '2026-11-28', '{')"
        )
    inbox.close()
    code, out, err = run(capsys, "--home", setup.home, "list")
    assert code == 0
    assert "still readable" in out and good in out
    for bad in (damaged, "foreign1", "garbage1"):
        assert f"skipped envelope {bad}" in err
    code, _, err = run(capsys, "--home", setup.home, "show", damaged)
    assert code == 1 and "cannot be shown" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["init", "--id", "Dana O", "--name", "D", "--school", "x"], "--id 'Dana O'"),
        (["init", "--id", "dana", "--name", "D"], "at least one --school"),
        (["fetch"], "no keys in"),
        (["list"], "no keys in"),
    ],
)
def test_cli_errors_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, _, err = run(capsys, "--home", tmp_path / "empty", *args)
    assert code == 1
    assert words in err and err.startswith("keytool: ") and err.count("\n") == 1


def test_short_passphrase_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "short")
    code, _, err = run(
        capsys, "--home", tmp_path / "h", "init", "--id", "a", "--name", "A", "--school", "s"
    )
    assert code == 1 and "at least 12 characters" in err
    assert not (tmp_path / "h" / "identity.json").exists()


def test_existing_keys_are_never_overwritten(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (home / "identity.json").read_bytes()
    code, _, err = run(capsys, "--home", home, "init", "--id", "b", "--name", "B", "--school", "s")
    assert code == 1 and "already exists" in err
    assert (home / "identity.json").read_bytes() == before


def test_wrong_passphrase(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "not the right passphrase")
    code, _, err = run(capsys, "--home", home, "list")
    assert (code, err.strip()) == (1, "keytool: wrong passphrase")


def test_damaged_identity_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "identity.json").write_text("{ not json")
    code, _, err = run(capsys, "--home", home, "list")
    assert code == 1 and "is damaged" in err


def test_fetch_without_relay_and_with_unreachable_relay(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--home", home, "fetch")
    assert code == 1 and "which relay?" in err
    code, _, err = run(capsys, "--home", home, "fetch", "--relay", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach the relay" in err
    code, _, err = run(capsys, "--home", home, "fetch", "--relay", "ftp://x")
    assert code == 1 and "not a relay URL" in err


def test_fetch_refused_by_relay_says_why(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "--home",
        setup.home,
        "fetch",
        "--relay",
        setup.relay.url,
        "--school",
        "cedar-valley-high",
    )
    assert code == 1 and "not a recipient of this school (HTTP 403)" in err


def test_show_unknown_id(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--home", home, "show", "nope")
    assert code == 1 and "no envelope 'nope'" in err


def post_completion(s: Setup, name: str, version: str) -> None:
    deployment = load_config(s.deployment_path)
    payload = {
        "type": "training_completion",
        "v": 1,
        "submitted_on": "2026-11-28",
        "person": {"name": name, "role": "Teacher", "school": "lincoln-high"},
        "modules": [
            {
                "id": "m01",
                "version": version,
                "score": 4,
                "questions": 4,
                "completed_on": "2026-11-28",
            }
        ],
    }
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    recipients = [r.x25519 for r in deployment.recipients_for("lincoln-high")]
    env = protocol.seal("lincoln-high", payload, recipients, case).to_json()
    assert httpx.post(s.relay.url + "/api/v1/envelopes", json=env).status_code == 201


def test_roster_exports_csv_and_printable_page(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    training = tmp_path / "site" / "training"
    (training / "schools").mkdir(parents=True)
    (training / "course.json").write_text(
        json.dumps(
            {
                "modules": [
                    {"id": "m01", "title": "What exploitation is", "version": "v2", "path": "x/"}
                ],
                "refresher_months": 12,
                "new_hire_days": 30,
                "state": {"code": "general", "name": "your state", "version": 1},
            }
        )
    )
    (training / "schools" / "lincoln-high.json").write_text(
        json.dumps({"slug": "lincoln-high", "name": "Lincoln High School"})
    )
    post_completion(setup, "Ana Ruiz", "v2")
    post_completion(setup, "Ben Okafor", "v1")  # read before the module changed
    post(setup, "a student report is not a roster row")
    run(capsys, "--home", setup.home, "fetch", "--relay", setup.relay.url)

    code, out, _ = run(capsys, "--home", setup.home, "list")
    assert "training_completion  Ana Ruiz (Teacher), 1 module(s)" in out
    assert "a student report is not a roster row" in out

    code, out, _ = run(
        capsys, "--home", setup.home, "roster", "--modules", tmp_path / "site", "--on", "2026-12-01"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["school"], r["name"], r["status"], r["modules_current"]) for r in rows] == [
        ("Lincoln High School", "Ana Ruiz", "in progress", "1"),
        ("Lincoln High School", "Ben Okafor", "in progress", "0"),
    ]
    staff = tmp_path / "staff.csv"
    staff.write_text(
        "name,role,school,start_date\n"
        "Ana Ruiz,Teacher,Lincoln High School,2026-11-20\n"
        "Cara Diaz,Nurse,lincoln-high,2026-01-05\n"
    )
    code, out, _ = run(
        capsys,
        "--home",
        setup.home,
        "roster",  # --modules is remembered
        "--staff",
        staff,
        "--on",
        "2026-12-01",
        "--csv",
        tmp_path / "r.csv",
        "--detail-csv",
        tmp_path / "d.csv",
        "--html",
        tmp_path / "r.html",
    )
    assert code == 0
    assert out.strip() == "3 people: 1 overdue, 1 new hire, not yet trained, 1 in progress"
    summary = {r["name"]: r for r in csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text()))}
    assert summary["Cara Diaz"]["status"] == "overdue"
    assert summary["Ana Ruiz"]["status"] == "new hire, not yet trained"
    assert summary["Ben Okafor"]["note"].endswith("not on the staff list")
    detail = (tmp_path / "d.csv").read_text()
    assert detail.startswith("school,school_slug,name,role,module,")
    assert "Ben Okafor" in (tmp_path / "r.html").read_text()


def test_roster_refuses_a_date_it_cannot_read(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit):
        run(capsys, "--home", home, "roster", "--on", "yesterday")
    assert "is not a date such as" in capsys.readouterr().err


def test_roster_without_a_course_says_where_to_point(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--home", home, "roster")
    assert code == 1 and "pass --modules" in err
    code, _, err = run(capsys, "--home", home, "roster", "--modules", "/nonexistent/course.json")
    assert code == 1 and "cannot read the course's module list" in err


def test_no_passphrase_without_a_keyboard(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUIETDOOR_PASSPHRASE")
    code, _, err = run(capsys, "--home", home, "list")
    assert code == 1 and "set QUIETDOOR_PASSPHRASE" in err
