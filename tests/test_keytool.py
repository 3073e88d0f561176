"""The key tool's CLI against a real relay: cases, the conversation, every wrong input."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx2 as httpx
import nacl.pwhash
import pytest

from keytool.identity import load_identity
from quietdoor import payloads
from quietdoor.config import recipient_snippet
from quietdoor.encoding import b64u_encode

from .support.envelopes import sealed_training, training_record, update
from .support.keytool import PASS, Leads, case_ref, listed_cases, run_keytool
from .support.paths import ROOT

pytestmark = pytest.mark.usefixtures("keytool_passphrase")


def test_init_prints_a_snippet_the_config_accepts(home: Path, tmp_path: Path) -> None:
    text = (home / "identity.json").read_text()
    identity = load_identity(home, PASS)
    for secret in (bytes(identity.box_key), bytes(identity.signing_key)):
        assert b64u_encode(secret) not in text
    assert PASS not in text
    snippet = tmp_path / "snippet.toml"
    snippet.write_text(recipient_snippet(identity.recipient))
    assert (
        tomllib.loads(snippet.read_text())["recipients"][0]["x25519"] == json.loads(text)["x25519"]
    )


def test_a_key_tool_of_its_own_hashes_the_passphrase_at_argon2id_moderate(tmp_path: Path) -> None:
    """The suite makes identities at the least cost (conftest); a lead's key tool must not."""
    home = tmp_path / "lead"
    result = subprocess.run(
        [sys.executable, "-m", "keytool", "--home", str(home), "init", "--id", "dana-ortiz"]
        + ["--name", "Dana Ortiz", "--school", "lincoln-high"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "QUIETDOOR_PASSPHRASE": PASS},
    )
    assert result.returncode == 0, result.stderr
    kdf = json.loads((home / "identity.json").read_text())["kdf"]
    assert (kdf["opslimit"], kdf["memlimit"]) == (
        nacl.pwhash.argon2id.OPSLIMIT_MODERATE,
        nacl.pwhash.argon2id.MEMLIMIT_MODERATE,
    )


def test_cases_newest_first_with_flags_and_no_training(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    calm = leads.post("first report, marker 1111", safe_now="yes")
    unsafe = leads.post("second report, marker 2222", safe_now="no")
    unsure = leads.post("third report, marker 3333", safe_now="unsure")
    leads.post("for another school", school="cedar-valley-high")
    record = training_record("lincoln-high", "Rosa Díaz", [("m01", "1", "2026-11-28")])
    assert (
        httpx.post(
            leads.relay.url + "/api/v1/cases", json=sealed_training(leads.deployment, record)
        ).status_code
        == 201
    )
    added = httpx.post(
        leads.relay.url + "/api/v1/case/messages",
        json=update(leads.deployment, calm, "later, marker 4444"),
        headers=calm.headers,
    )
    assert added.status_code == 201
    assert leads.fetch(capsys).strip() == "lincoln-high: 5 new"
    assert leads.fetch(capsys).strip() == "lincoln-high: 0 new"  # the cursor is kept

    cases = listed_cases(capsys, leads.home)
    # Newest activity first: the calm case has a later message than the other two.
    assert [c["case_id"] for c in cases] == [calm.case_id, unsure.case_id, unsafe.case_id]
    flags = {c["case_id"]: c["flags"] for c in cases}
    assert flags == {
        calm.case_id: [],
        unsafe.case_id: ["NOT SAFE NOW"],
        unsure.case_id: ["NOT SURE"],
    }
    assert all(re.fullmatch(r"[0-9a-f]{10}", c["id"]) for c in cases)  # never starts with "-"

    code, out, _ = run_keytool(capsys, "--home", leads.home, "list")
    assert code == 0
    assert "NOT SAFE NOW" in out and "NOT SURE" in out and "Rosa" not in out
    assert "marker 2222" in out and "another school" not in out


def test_show_reply_and_the_student_reads_both(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    case = leads.post("someone waits for me after school, marker 5555", safe_now="unsure")
    leads.fetch(capsys)
    ref = case_ref(capsys, leads.home, case)

    code, out, err = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert code == 0, err
    assert "marker 5555" in out and "is NOT SURE they are safe" in out
    code, out, err = run_keytool(
        capsys, "--home", leads.home, "reply", ref, "--message", "Which bus? ¿Cuál?"
    )
    assert code == 0, err
    answer = subprocess.run(
        [sys.executable, "-m", "keytool", "--home", str(leads.home), "reply", ref],
        input="Second reply,\nfrom standard input.",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "QUIETDOOR_PASSPHRASE": PASS},
    )
    assert answer.returncode == 0, answer.stderr

    thread = leads.thread(case)
    assert [p.header.kind for p in thread] == ["report", "receipt", "reply", "reply"]
    texts = [p.text for p in thread if isinstance(p, payloads.Reply)]
    assert texts == ["Which bus? ¿Cuál?", "Second reply,\nfrom standard input."]
    assert {p.signer.id for p in thread if isinstance(p, payloads.Reply)} == {"dana-ortiz"}

    # A second look sends no second receipt: nothing new from the student since.
    leads.fetch(capsys)
    run_keytool(capsys, "--home", leads.home, "show", ref)
    assert [p.header.kind for p in leads.thread(case)].count("receipt") == 1

    # The student writes again; the colleague sees the whole thread, and their look is a receipt.
    added = httpx.post(
        leads.relay.url + "/api/v1/case/messages",
        json=update(leads.deployment, case, "The 14 bus."),
        headers=case.headers,
    )
    assert added.status_code == 201
    leads.fetch(capsys, leads.colleague)
    code, out, err = run_keytool(capsys, "--home", leads.colleague, "show", ref, "--json")
    assert code == 0, err
    shown = json.loads(out)
    kinds = [m["payload"]["kind"] for m in shown["messages"]]
    assert kinds == ["report", "receipt", "reply", "reply", "update"]
    assert all(m["warnings"] == [] for m in shown["messages"])
    assert [p.header.kind for p in leads.thread(case)][-1] == "receipt"
    code, out, _ = run_keytool(capsys, "--home", leads.colleague, "show", ref)
    assert "Reply from Dana Ortiz" in out and "The 14 bus." in out


def test_reply_needs_the_config_and_a_message(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    case = leads.post("hello")
    run_keytool(
        capsys, "--home", leads.home, "fetch", "--relay", leads.relay.url
    )  # no --config yet
    ref = case_ref(capsys, leads.home, case)
    code, out, err = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert code == 0 and "hello" in out
    assert "was not told that the school read this yet" in err and "--config" in err
    code, _, err = run_keytool(capsys, "--home", leads.home, "reply", ref, "--message", "x")
    assert code == 1 and "pass --config PATH" in err
    code, _, err = run_keytool(
        capsys, "--home", leads.home, "--config", leads.config, "reply", ref, "--message", "  "
    )
    assert code == 1 and "the reply is empty" in err
    assert [p.header.kind for p in leads.thread(case)] == ["report"]
    code, _, err = run_keytool(capsys, "--home", leads.home, "show", "ffffffffff")
    assert code == 1 and "no case matches 'ffffffffff'" in err


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
    code, _, err = run_keytool(capsys, "--home", tmp_path / "empty", *args)
    assert code == 1
    assert words in err and err.startswith("keytool: ") and err.count("\n") == 1


def test_short_passphrase_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "short")
    code, _, err = run_keytool(
        capsys, "--home", tmp_path / "h", "init", "--id", "a", "--name", "A", "--school", "s"
    )
    assert code == 1 and "at least 12 characters" in err
    assert not (tmp_path / "h" / "identity.json").exists()


def test_existing_keys_are_never_overwritten(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (home / "identity.json").read_bytes()
    code, _, err = run_keytool(
        capsys, "--home", home, "init", "--id", "b", "--name", "B", "--school", "s"
    )
    assert code == 1 and "already exists" in err
    assert (home / "identity.json").read_bytes() == before


def test_wrong_passphrase(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "not the right passphrase")
    code, _, err = run_keytool(capsys, "--home", home, "list")
    assert (code, err.strip()) == (1, "keytool: wrong passphrase")


def test_damaged_identity_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "identity.json").write_text("{ not json")
    code, _, err = run_keytool(capsys, "--home", home, "list")
    assert code == 1 and "is damaged" in err


def test_fetch_without_relay_and_with_unreachable_relay(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_keytool(capsys, "--home", home, "fetch")
    assert code == 1 and "which relay?" in err
    code, _, err = run_keytool(capsys, "--home", home, "fetch", "--relay", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach the relay" in err
    code, _, err = run_keytool(capsys, "--home", home, "fetch", "--relay", "ftp://x")
    assert code == 1 and "not a relay URL" in err


def test_fetch_refused_by_relay_says_why(leads: Leads, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_keytool(
        capsys,
        "--home",
        leads.home,
        "fetch",
        "--relay",
        leads.relay.url,
        "--school",
        "cedar-valley-high",
    )
    assert code == 1 and "not a recipient of this school (HTTP 403)" in err


def test_every_file_is_private_even_in_an_existing_open_folder(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    os.chmod(leads.home, 0o755)
    (leads.home / "inbox.sqlite3").touch(mode=0o644)
    os.chmod(leads.home / "inbox.sqlite3", 0o644)
    leads.post("a report")
    leads.fetch(capsys)
    course = tmp_path / "course.json"
    course.write_text(json.dumps({"modules": []}))
    export = tmp_path / "roster.csv"
    export.write_text("old")
    os.chmod(export, 0o644)
    code, _, err = run_keytool(
        capsys, "--home", leads.home, "roster", "--modules", course, "--csv", export
    )
    assert code == 0, err
    assert stat.S_IMODE(leads.home.stat().st_mode) == 0o700
    for path in [*leads.home.iterdir(), export]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_roster_source_given_as_a_relative_folder_is_found_from_anywhere(
    leads: Leads,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "dist" / "training").mkdir(parents=True)
    (tmp_path / "dist" / "training" / "course.json").write_text(json.dumps({"modules": []}))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_keytool(capsys, "--home", leads.home, "roster", "--modules", "dist")
    assert code == 0, err
    monkeypatch.chdir(ROOT)
    code, _, err = run_keytool(capsys, "--home", leads.home, "roster")
    assert code == 0, err


def test_roster_from_completion_records(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
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
    for name, version in [("Ana Ruiz", "v2"), ("Ben Okafor", "v1")]:  # Ben read an older one
        record = training_record("lincoln-high", name, [("m01", version, "2026-11-28")])
        body = sealed_training(leads.deployment, record)
        assert httpx.post(leads.relay.url + "/api/v1/cases", json=body).status_code == 201
    leads.post("a student report is not a roster row")
    leads.fetch(capsys)

    code, out, _ = run_keytool(capsys, "--home", leads.home, "list")
    assert "a student report is not a roster row" in out and "Ana Ruiz" not in out

    code, out, _ = run_keytool(
        capsys, "--home", leads.home, "roster", "--modules", tmp_path / "site", "--on", "2026-12-01"
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
    code, out, _ = run_keytool(
        capsys,
        "--home",
        leads.home,
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
        run_keytool(capsys, "--home", home, "roster", "--on", "yesterday")
    assert "is not a date such as" in capsys.readouterr().err


def test_roster_without_a_course_says_where_to_point(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_keytool(capsys, "--home", home, "roster")
    assert code == 1 and "pass --modules" in err
    code, _, err = run_keytool(
        capsys, "--home", home, "roster", "--modules", "/nonexistent/course.json"
    )
    assert code == 1 and "cannot read the course's module list" in err


def test_no_passphrase_without_a_keyboard(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUIETDOOR_PASSPHRASE")
    code, _, err = run_keytool(capsys, "--home", home, "list")
    assert code == 1 and "set QUIETDOOR_PASSPHRASE" in err


def test_a_closed_pipe_ends_quietly(leads: Leads, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(30):
        leads.post(f"report {i} " + "words " * 200)
    leads.fetch(capsys)
    process = subprocess.Popen(
        [sys.executable, "-m", "keytool", "--home", str(leads.home), "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "QUIETDOOR_PASSPHRASE": PASS},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # like `| head -c 10`
    err = process.stderr.read().decode()
    process.stderr.close()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_the_help_lists_the_commands_each_module_adds_in_the_docstring_order() -> None:
    import argparse

    from keytool.cli import COMMANDS, ORDER, build_parser

    documented = re.findall(r"^  (\w+) ", build_parser().description or "", re.MULTILINE)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(ORDER) == documented
    assert sorted(ORDER) == sorted(COMMANDS)
