"""The signed, append-only training archive: verifies offline, and any tampering fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from keytool.roster_archive import HEAD, RECORDS, append_archive, verify_archive


def records(*ids: str) -> list[tuple[str, str, dict[str, object]]]:
    return [(i, "2026-11-28T10:00Z", {"kind": "training", "person": {"name": i}}) for i in ids]


def test_an_archive_verifies_and_only_grows(tmp_path: Path) -> None:
    key = SigningKey.generate()
    assert append_archive(tmp_path, records("a", "b"), key) == (2, 2, None)
    first = (tmp_path / RECORDS).read_bytes()
    assert append_archive(tmp_path, records("a", "b", "c"), key) == (1, 3, None)
    assert (tmp_path / RECORDS).read_bytes().startswith(first)  # nothing rewritten
    archived = verify_archive(tmp_path)
    assert archived.ids == ("a", "b", "c")
    with pytest.raises(KeyToolError, match="signed by another key"):
        append_archive(tmp_path, records("d"), SigningKey.generate())


def _edit_line(folder: Path) -> None:
    path = folder / RECORDS
    path.write_bytes(path.read_bytes().replace(b'"name":"b"', b'"name":"B"'))


def _drop_last(folder: Path) -> None:
    path = folder / RECORDS
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))


def _swap(folder: Path) -> None:
    path = folder / RECORDS
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0] + b"".join(lines[2:]))


def _no_record(folder: Path) -> None:
    """The first line without its record id, its prev kept: read as broken, not a traceback."""
    path = folder / RECORDS
    lines = path.read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])
    del first["record"]
    path.write_bytes(json.dumps(first).encode() + b"\n" + b"".join(lines[1:]))


def _huge_head(folder: Path) -> None:
    (folder / HEAD).write_text(" " * 10_000 + "{}")


def _count(folder: Path) -> None:
    head = json.loads((folder / HEAD).read_text())
    head["records"] = 2
    (folder / HEAD).write_text(json.dumps(head))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_edit_line, "line 3 does not follow"),
        (_drop_last, "holds 2 records"),
        (_swap, "line 1 does not follow"),
        (_count, "signature does not verify"),
        (_no_record, "line 1 does not follow"),
        (_huge_head, "not a readable archive head .longer than 4096 bytes"),
    ],
)
def test_tampering_fails_verification(
    tmp_path: Path, tamper: Callable[[Path], None], message: str
) -> None:
    append_archive(tmp_path, records("a", "b", "c"), SigningKey.generate())
    verify_archive(tmp_path)
    tamper(tmp_path)
    with pytest.raises(KeyToolError, match=message):
        verify_archive(tmp_path)


def test_a_folder_without_an_archive_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyToolError, match="no training archive here"):
        verify_archive(tmp_path)


def test_an_archive_rewritten_and_signed_by_another_key_names_that_key(tmp_path: Path) -> None:
    lead = SigningKey.generate()
    append_archive(tmp_path / "real", records("a", "b"), lead)
    append_archive(tmp_path / "forged", records("a", "B"), SigningKey.generate())
    real, forged = verify_archive(tmp_path / "real"), verify_archive(tmp_path / "forged")
    assert real.signer != forged.signer and real.head != forged.head


@pytest.mark.parametrize("cut", ["after whole lines", "mid-line", "before the first head"])
def test_an_archiving_cut_short_is_named_and_the_next_one_finishes_it(
    tmp_path: Path, cut: str
) -> None:
    key, path = SigningKey.generate(), tmp_path / RECORDS
    append_archive(tmp_path, records("a", "b"), key)
    signed_head, signed_lines = (tmp_path / HEAD).read_bytes(), path.read_bytes()
    append_archive(tmp_path, records("a", "b", "c", "d"), key)
    (tmp_path / HEAD).write_bytes(signed_head)  # the crash: lines appended, the head not
    if cut == "mid-line":
        path.write_bytes(path.read_bytes()[:-10])
    if cut == "before the first head":
        (tmp_path / HEAD).unlink()
    unsigned = path.read_bytes()[0 if cut == "before the first head" else len(signed_lines) :]
    said = "no head.json signs it" if cut == "before the first head" else "signed by no head"
    with pytest.raises(KeyToolError, match=said):
        verify_archive(tmp_path)
    if cut != "before the first head":  # with no head, no key has signed anything yet
        with pytest.raises(KeyToolError, match="signed by another key"):
            append_archive(tmp_path, records("e"), SigningKey.generate())
        assert path.read_bytes().endswith(unsigned)  # another key's attempt moved nothing
    added, total, moved = append_archive(tmp_path, records("a", "b", "c", "d"), key)
    assert (added, total) == ((4, 4) if cut == "before the first head" else (2, 4))
    assert moved is not None and moved.read_bytes() == unsigned  # set aside, not deleted
    assert verify_archive(tmp_path).ids == ("a", "b", "c", "d")
