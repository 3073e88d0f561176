"""Keys that survive a lost laptop: backups of the keys and the inbox, the recovery sheet,
and every way a restore can be handed something wrong."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import secrets
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keytool.errors import KeyToolError
from keytool.identity import INBOX_MAC_FILE, load_identity, load_public
from keytool.inbox import Inbox
from keytool.recovery import ALPHABET, check_symbol, read_line
from quietdoor.encoding import b64u_encode

from .support.backups import forged_inbox_backup
from .support.keytool import PASS, Leads, listed_cases, run_keytool

pytestmark = pytest.mark.usefixtures("keytool_passphrase")


def sheet_lines(sheet: Path) -> list[str]:
    """The lines a person would type, read off the printable page."""
    cells = re.findall(
        r'<td class="code">([^<]+)</td><td class="check">([^<]+)</td>', sheet.read_text()
    )
    return [f"{code} {check}" for code, check in cells]


def restore_sheet(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    lines: list[str],
    *config: object,
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    return run_keytool(capsys, "--home", home, *config, "restore", "--sheet")


@pytest.fixture
def backed_up(leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Leads:
    """Two reports, one sealed before a rotation and one after, and three backups of it all."""
    leads.post("sealed to the first key, marker 1111", safe_now="no")
    leads.fetch(capsys)
    code, out, err = run_keytool(capsys, "--home", leads.home, "rotate", "--overlap-days", "5")
    assert code == 0, err
    rotated = json.loads((leads.home / "identity.json").read_text())
    deployment = leads.deployment
    dana = next(r for r in deployment.recipients if r.id == "dana-ortiz")
    identity = load_identity(leads.home, PASS)
    leads.restart(
        dataclasses.replace(
            deployment,
            recipients=tuple(identity.recipient if r is dana else r for r in deployment.recipients),
        ),
        "rotated.toml",
    )
    assert rotated["x25519"] == b64u_encode(identity.recipient.x25519)
    leads.post("sealed to the new key, marker 2222")
    leads.fetch(capsys)
    code, out, err = run_keytool(
        capsys,
        "--home",
        leads.home,
        "backup",
        "--to",
        tmp_path / "keys.backup",
        "--inbox-to",
        tmp_path / "inbox.backup",
        "--sheet",
        tmp_path / "sheet.html",
    )
    assert code == 0, err
    return leads


def texts_of(capsys: pytest.CaptureFixture[str], home: Path) -> set[str]:
    """The first words of every case, as `show` prints them, after checking nothing is skipped."""
    shown = set()
    for case in listed_cases(capsys, home):
        code, out, err = run_keytool(capsys, "--home", home, "show", case["id"], "--json")
        assert code == 0 and "skipped" not in err, err
        shown.add(json.loads(out)["messages"][0]["payload"]["answers"]["what"])
    return shown


EXPECTED = {"sealed to the first key, marker 1111", "sealed to the new key, marker 2222"}


def test_backups_restore_on_a_fresh_home_and_open_every_report(
    backed_up: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("keys.backup", "inbox.backup", "sheet.html"):
        data = (tmp_path / name).read_bytes()
        assert b"marker" not in data
        assert (tmp_path / name).stat().st_mode & 0o077 == 0
    identity = load_identity(backed_up.home, PASS)
    for secret in [bytes(k) for k in identity.box_keys] + [bytes(identity.signing_key)]:
        assert b64u_encode(secret).encode() not in (tmp_path / "keys.backup").read_bytes()

    fresh = tmp_path / "new-laptop"
    code, out, err = run_keytool(
        capsys, "--home", fresh, "restore", "--from", tmp_path / "keys.backup"
    )
    assert code == 0, err
    assert "Keys restored for Dana Ortiz" in out
    code, out, err = run_keytool(
        capsys, "--home", fresh, "restore", "--from", tmp_path / "inbox.backup"
    )
    assert code == 0, err
    assert "2 messages added" in out
    assert texts_of(capsys, fresh) == EXPECTED  # from the inbox backup alone, no relay


def test_the_recovery_sheet_restores_without_any_file(
    backed_up: Leads,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    lines = sheet_lines(tmp_path / "sheet.html")
    assert len(lines) > 10 and all(re.fullmatch(r"(\w{4} ){1,4}\S", line) for line in lines)
    fresh = tmp_path / "another-laptop"
    # Typed as a person might: lower case, without spaces, O for 0.
    typed = [line.lower().replace(" ", "").replace("0", "o") for line in lines]
    code, out, err = restore_sheet(capsys, monkeypatch, fresh, typed, "--config", backed_up.config)
    assert code == 0, err
    assert load_identity(fresh, PASS) == load_identity(backed_up.home, PASS)
    assert json.loads((fresh / "settings.json").read_text()) == {
        "relay_url": backed_up.deployment.relay_url,  # the config's: the tool fetches from it
        "config": str(backed_up.config),
        "modules": "",
    }
    backed_up.fetch(capsys, fresh)
    assert texts_of(capsys, fresh) == EXPECTED


def test_a_sheet_typed_wrong_or_for_other_keys_restores_nothing(
    backed_up: Leads,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    lines = sheet_lines(tmp_path / "sheet.html")
    fresh = tmp_path / "typo"
    config = ("--config", backed_up.config)
    typo = lines.copy()
    typo[3] = ("1" if typo[3][0] != "1" else "2") + typo[3][1:]
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, typo, *config)
    assert code == 1 and "line 4 does not match its last character" in err
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, lines[:-1], *config)
    assert code == 1 and ("not a whole recovery sheet" in err or "wrong passphrase" in err)
    swapped = [lines[1], lines[0], *lines[2:]]
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, swapped, *config)
    assert code == 1 and "line 1 does not match" in err
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "another long passphrase")
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, lines, *config)
    assert code == 1 and "wrong passphrase" in err
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", PASS)
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, lines)
    assert code == 1 and "needs the deployment config" in err
    other = tmp_path / "other.toml"
    mine = b64u_encode(load_identity(backed_up.home, PASS).recipient.x25519)
    other.write_text(backed_up.config.read_text().replace(mine, b64u_encode(bytes([7] * 32))))
    code, _, err = restore_sheet(capsys, monkeypatch, fresh, lines, "--config", other)
    assert code == 1 and "lists nobody with these keys" in err
    assert not (fresh / "identity.json").exists()


def test_restore_refuses_what_it_must_not_take(
    backed_up: Leads,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    keys, inbox = tmp_path / "keys.backup", tmp_path / "inbox.backup"
    before = (backed_up.home / "identity.json").read_bytes()
    code, _, err = run_keytool(capsys, "--home", backed_up.home, "restore", "--from", keys)
    assert code == 1 and "never overwritten" in err
    assert (backed_up.home / "identity.json").read_bytes() == before

    # The colleague's tool cannot open Dana's inbox backup.
    code, _, err = run_keytool(capsys, "--home", backed_up.colleague, "restore", "--from", inbox)
    assert code == 1 and "not made for these keys" in err

    fresh = tmp_path / "fresh"
    assert run_keytool(capsys, "--home", fresh, "restore", "--from", keys)[0] == 0
    data = inbox.read_bytes()
    damaged = {
        "a flipped byte": data[:-40] + bytes([data[-40] ^ 1]) + data[-39:],
        "cut short": data[:-30],
        "something added": data + b"\x00\x00\x00\x20" + b"x" * 32,
        "a changed header": data.replace(b'"version":2', b'"version":2 ', 1),
        "not a backup": b"hello\n",
    }
    for what, content in damaged.items():
        bad = tmp_path / "bad.backup"
        bad.write_bytes(content)
        code, _, err = run_keytool(capsys, "--home", fresh, "restore", "--from", bad)
        assert code == 1, what
        assert re.search("nothing was restored|not a Quiet Door backup|not a backup of keys", err)
    assert listed_cases(capsys, fresh) == []  # nothing half-restored

    elsewhere = tmp_path / "wrong-passphrase"
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", "not the passphrase at all")
    code, _, err = run_keytool(capsys, "--home", elsewhere, "restore", "--from", keys)
    assert code == 1 and "wrong passphrase" in err
    assert not (elsewhere / "identity.json").exists()


@pytest.mark.parametrize(
    ("version", "mac", "refusal"),
    [
        (1, None, "run restore again with --accept-unsigned"),
        (2, None, "its mac is missing or wrong"),
        (2, b64u_encode(secrets.token_bytes(32)), "its mac is missing or wrong"),
    ],
    ids=["version 1", "version 2 without a mac", "version 2 with a guessed mac"],
)
def test_a_backup_forged_from_public_values_is_refused(
    leads: Leads,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    version: int,
    mac: str | None,
    refusal: str,
) -> None:
    leads.post("read before the forged backup")
    leads.fetch(capsys)
    far = {"cursor": {"relay": leads.relay.url, "school": "lincoln-high", "after": 10**18 - 1}}
    forged = tmp_path / "forged.backup"
    forged.write_bytes(forged_inbox_backup(load_public(leads.home).x25519, [far], version, mac))
    code, _, err = run_keytool(capsys, "--home", leads.home, "restore", "--from", forged)
    assert code == 1 and refusal in err and "nothing was restored" in err
    later = leads.post("sent after the forged backup")
    leads.fetch(capsys)
    assert later.case_id in {c["case_id"] for c in listed_cases(capsys, leads.home)}


@pytest.mark.parametrize("fresh", [False, True], ids=["into the inbox", "into a new home"])
def test_an_unsigned_backup_accepted_moves_no_fetch_position(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh: bool
) -> None:
    """--accept-unsigned restores a version-1 backup's messages, but its cursors, even one
    at a message it holds, never pass the inbox's own (0 in a new home)."""
    leads.post("read before the unsigned backup")
    leads.fetch(capsys)
    with Inbox(leads.home) as inbox:
        genuine = inbox.messages()[0]
    held = 0 if fresh else 1
    home = tmp_path / "new-home" if fresh else leads.home
    if fresh:
        code, _, err = run_keytool(capsys, "--home", leads.home, "backup", "--to", tmp_path / "k")
        assert code == 0, err
        assert run_keytool(capsys, "--home", home, "restore", "--from", tmp_path / "k")[0] == 0
    far = 10**6
    message = {
        "id": "f" * 24,
        "school": "lincoln-high",
        "cursor": far,
        "case_id": b64u_encode(genuine.case_id or b""),
        "author": genuine.author,
        "received": genuine.received,
        "envelope": genuine.envelope.to_json(),
    }
    cursor = {"relay": leads.relay.url, "school": "lincoln-high", "after": far}
    unsigned = tmp_path / "unsigned.backup"
    unsigned.write_bytes(
        forged_inbox_backup(
            load_public(leads.home).x25519, [{"message": message}, {"cursor": cursor}], 1, None
        )
    )
    code, out, err = run_keytool(
        capsys, "--home", home, "restore", "--from", unsigned, "--accept-unsigned"
    )
    assert code == 0 and "1 message added" in out and "version-1 backup" in err, err
    with Inbox(home) as inbox:
        assert inbox.cursor(leads.relay.url, "lincoln-high") == held


def test_a_scheduled_backup_needs_the_mac_key_written_at_unlock(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mac_file = home / INBOX_MAC_FILE
    mac_file.unlink()
    code, _, err = run_keytool(capsys, "--home", home, "backup", "--inbox-to", tmp_path / "b")
    assert code == 1 and f"{mac_file} is missing; unlock the key tool once" in err
    assert not (tmp_path / "b").exists()
    assert run_keytool(capsys, "--home", home, "list")[0] == 0  # unlocks
    assert mac_file.stat().st_mode & 0o777 == 0o600
    code, _, err = run_keytool(capsys, "--home", home, "backup", "--inbox-to", tmp_path / "b")
    assert code == 0, err


def test_backup_says_what_to_write(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_keytool(capsys, "--home", home, "backup")
    assert code == 1 and "--to FILE" in err


LINE = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


@given(line=LINE, where=st.integers(0, 15), char=st.sampled_from(ALPHABET))
def test_a_line_check_catches_every_single_typo(line: str, where: int, char: str) -> None:
    printed = line + check_symbol(5, line)
    assert read_line(5, printed).text == line
    typo = line[:where] + char + line[where + 1 :]
    if typo != line:
        with pytest.raises(KeyToolError, match="line 5"):
            read_line(5, typo + printed[-1])


@given(line=LINE, where=st.integers(0, 14))
def test_a_line_check_catches_swapped_neighbours(line: str, where: int) -> None:
    swapped = line[:where] + line[where + 1] + line[where] + line[where + 2 :]
    if swapped != line:
        with pytest.raises(KeyToolError):
            read_line(1, swapped + check_symbol(1, line))
