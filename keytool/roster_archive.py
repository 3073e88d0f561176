"""The training archive an auditor verifies offline: `roster --archive DIR`, `--verify-archive DIR`.

``records.jsonl`` holds one line per training record, in the order archived: its
relay id, when the relay received it, and the decrypted payload. Each line names the
SHA-256 of the line before it (``prev``), so a line changed, removed or reordered
breaks the chain. ``head.json`` holds the number of lines, the last line's hash, the
signer's Ed25519 public key and its signature of ``"QD-TRAINING-ARCHIVE\\n" ‖ count ‖
"\\n" ‖ head``. Archiving again first verifies the archive, then only appends records
it does not hold and signs the new head: nothing signed is ever rewritten.

Lines are appended (and synced) before the new head is written, so an archiving
cut short (a crash, a full disk) leaves lines after the signed ones, or lines and no
head at all. Verifying says so. Archiving again, with the key that signed the rest,
moves those unsigned lines aside to a file of their own (nothing is deleted: the
same bytes could come from a head put back to an older one) and appends their
records anew, so an interruption never locks the archive.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from keytool.errors import KeyToolError
from keytool.home import write_private
from quietdoor import strictjson
from quietdoor.encoding import b64u_decode, b64u_encode

RECORDS = "records.jsonl"
HEAD = "head.json"
GENESIS = "0" * 64
DOMAIN = b"QD-TRAINING-ARCHIVE\n"
MAX_LINE = 256 * 1024
MAX_HEAD = 4096  # records, head, signer and signature


@dataclass(frozen=True)
class Archived:
    """A verified archive: its record ids, last hash and signer."""

    ids: tuple[str, ...]
    head: str
    signer: str  # base64url Ed25519 public key


class UnsignedTail(KeyToolError):
    """The signed records verify (or there are none), but lines follow that no head signs."""

    def __init__(self, message: str, signed: Archived | None, signed_bytes: int) -> None:
        super().__init__(message)
        self.signed = signed  # None: no head at all (the first archiving was cut short)
        self.signed_bytes = signed_bytes


def _signed_text(count: int, head: str) -> bytes:
    return DOMAIN + f"{count}\n{head}".encode()


def verify_archive(folder: Path) -> Archived:
    """Check the chain and the signature; a KeyToolError names the first problem."""
    records, head_path = folder / RECORDS, folder / HEAD
    if not head_path.is_file() and not records.exists():
        raise KeyToolError(f"{folder}: no training archive here ({HEAD} is missing)")
    if not head_path.exists():
        raise UnsignedTail(
            f"{folder / RECORDS}: no {HEAD} signs it (the first archiving was cut short, or "
            "the head was removed)",
            None,
            0,
        )
    try:
        head = strictjson.loads(head_path.read_bytes(), max_bytes=MAX_HEAD)
        data = records.read_bytes() if records.exists() else b""
        count, last, signer, sig = head["records"], head["head"], head["signer"], head["sig"]
        if not isinstance(count, int) or count < 0:
            raise ValueError("records is not a count")
        key = VerifyKey(b64u_decode(signer))
        key.verify(_signed_text(count, last), b64u_decode(sig))
    except (OSError, ValueError, KeyError, TypeError, strictjson.JSONError) as exc:
        raise KeyToolError(f"{folder / HEAD}: not a readable archive head ({exc})") from None
    except BadSignatureError:
        raise KeyToolError(f"{folder / HEAD}: the signature does not verify") from None
    lines = data.split(b"\n")[:-1]  # whole lines; what follows the last newline is a tail
    prev, ids, signed_bytes = GENESIS, [], 0
    for number, line in enumerate(lines[:count], start=1):
        try:
            entry = strictjson.loads(line, max_bytes=MAX_LINE)
            ok = isinstance(entry, dict) and entry.get("prev") == prev and "record" in entry
        except strictjson.JSONError:
            ok = False
        if not ok:
            raise KeyToolError(f"{folder / RECORDS}: line {number} does not follow the line before")
        ids.append(str(entry["record"]))
        prev = hashlib.sha256(line).hexdigest()
        signed_bytes += len(line) + 1
    if len(ids) != count or prev != last:
        raise KeyToolError(
            f"{folder / RECORDS}: holds {len(lines)} records ending in {prev[:12]}…, "
            f"but the signed head says {count} ending in {str(last)[:12]}…"
        )
    archived = Archived(ids=tuple(ids), head=prev, signer=signer)
    if len(data) > signed_bytes:
        raise UnsignedTail(
            f"{folder / RECORDS}: its {count} signed records verify, but "
            f"{len(data) - signed_bytes} bytes after them are signed by no head (an archiving "
            "cut short, or the files changed since); `roster --archive` into this folder "
            "again moves them aside and archives their records anew",
            archived,
            signed_bytes,
        )
    return archived


def append_archive(
    folder: Path, records: Iterable[tuple[str, str, dict[str, Any]]], key: SigningKey
) -> tuple[int, int, Path | None]:
    """Add the records (id, received, payload) the archive does not hold: (added, total,
    where unsigned lines left by an archiving cut short were moved, if any)."""
    folder.mkdir(parents=True, exist_ok=True)
    mine, moved = b64u_encode(bytes(key.verify_key)), None
    archived = Archived(ids=(), head=GENESIS, signer=mine)
    if (folder / HEAD).exists() or (folder / RECORDS).exists():
        try:
            archived = verify_archive(folder)
        except UnsignedTail as tail:
            archived = tail.signed or archived
            if archived.signer == mine:  # never touch an archive another key signs
                moved = _set_aside(folder / RECORDS, tail.signed_bytes)
        if archived.signer != mine:
            raise KeyToolError(
                f"{folder}: the archive was signed by another key ({archived.signer})"
            )
    held, prev, added = set(archived.ids), archived.head, []
    for record, received, payload in records:
        if record in held:
            continue
        line = json.dumps(
            {"record": record, "received": received, "payload": payload, "prev": prev},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        added.append(line)
        held.add(record)
        prev = hashlib.sha256(line).hexdigest()
    total = len(archived.ids) + len(added)
    if added:
        with open(folder / RECORDS, "ab") as file:
            file.write(b"".join(line + b"\n" for line in added))
            file.flush()
            os.fsync(file.fileno())
    head = {
        "records": total,
        "head": prev,
        "signer": b64u_encode(bytes(key.verify_key)),
        "signed_on": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "sig": b64u_encode(key.sign(_signed_text(total, prev)).signature),
    }
    write_private(folder / HEAD, (json.dumps(head, indent=1) + "\n").encode())
    return len(added), total, moved


def _set_aside(records: Path, signed_bytes: int) -> Path:
    """Move the bytes after the signed ones to a file beside the archive; its path."""
    with open(records, "r+b") as file:
        file.seek(signed_bytes)
        tail = file.read()
        aside = records.with_name(
            f"{RECORDS}.unsigned-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S.%fZ}"
        )
        write_private(aside, tail)
        file.truncate(signed_bytes)
        file.flush()
        os.fsync(file.fileno())
    return aside
