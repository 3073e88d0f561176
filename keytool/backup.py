"""Backups that survive a lost laptop: the identity, and separately the inbox.

The identity backup is the identity document itself (private keys sealed with
the passphrase, as in identity.json), wrapped with what it is and when it was
made; a backup is checked by unlocking it before it is written.

The inbox backup holds every stored message and cursor, encrypted with
libsodium's secretstream (XChaCha20-Poly1305) under a random key that is sealed
to the lead's own X25519 public key. Writing one needs no passphrase (a
scheduled job can make it); reading it needs the unlocked identity. Its header
carries a MAC under a key derived from the X25519 secret (inbox-mac.key, written
at unlock), so a stranger who knows only the public key cannot make one. Its
contents are still read back as hostile input, like a relay's answer, and its
cursors are capped at the messages it holds. A version-1 backup (before the MAC)
restores only when the lead says they made it, and then moves no cursor.

docs/PROTOCOL.md ("The key tool's files") gives both layouts.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox

from keytool.client import AUTHORS, MESSAGE_ID, Row, is_day
from keytool.errors import KeyToolError
from keytool.home import write_private
from keytool.identity import (
    IDENTITY_FILE,
    INBOX_MAC_FILE,
    Identity,
    identity_from_document,
    inbox_mac_key,
    save_identity,
)
from keytool.inbox import Inbox
from quietdoor import protocol, strictjson
from quietdoor.encoding import b64u_decode, b64u_encode

IDENTITY_FORMAT = "quietdoor-identity-backup"
INBOX_FORMAT = "quietdoor-inbox-backup"
MAX_IDENTITY_BACKUP = 1024 * 1024
MAX_HEADER_LINE = 4096
CHUNK = 64 * 1024  # plaintext bytes per secretstream message
MAX_CHUNK = 2 * 1024 * 1024  # what a reader accepts: one envelope line fits with room
LENGTH = struct.Struct(">I")
ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


# --- the identity ---------------------------------------------------------------


def write_identity_backup(home: Path, passphrase: str, target: Path) -> Identity:
    """Copy identity.json into a backup file, after proving the passphrase opens it."""
    path = home / IDENTITY_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyToolError(f"no keys in {home} to back up") from None
    except (OSError, ValueError):
        raise KeyToolError(f"{path} is damaged; it cannot be backed up") from None
    identity = identity_from_document(document, passphrase, str(path))
    backup = {
        "format": IDENTITY_FORMAT,
        "version": 1,
        "made": datetime.date.today().isoformat(),
        "identity": document,
    }
    write_private(target, json.dumps(backup, indent=2).encode("utf-8"))
    return identity


def restore_identity_backup(home: Path, passphrase: str, source: Path) -> Identity:
    """identity.json from a backup, into a home that has none; the passphrase must open it."""
    document = _read_identity_backup(source)
    identity = identity_from_document(document, passphrase, str(source))
    save_identity(home, identity, passphrase, replace=False)
    return identity


def _read_identity_backup(source: Path) -> Any:
    data = _read_head(source, MAX_IDENTITY_BACKUP)
    try:
        backup = strictjson.loads(data, max_bytes=MAX_IDENTITY_BACKUP)
    except strictjson.JSONError:
        raise KeyToolError(f"{source} is not a Quiet Door backup") from None
    if not isinstance(backup, dict) or backup.get("format") != IDENTITY_FORMAT:
        raise KeyToolError(f"{source} is not a backup of keys")
    if backup.get("version") != 1 or not isinstance(backup.get("identity"), dict):
        raise KeyToolError(f"{source} is a backup this version of the tool cannot read")
    return backup["identity"]


def backup_kind(source: Path) -> str:
    """INBOX_FORMAT when the first line says so; otherwise IDENTITY_FORMAT (checked when read)."""
    first = _read_head(source, MAX_HEADER_LINE).split(b"\n", 1)[0]
    try:
        head = strictjson.loads(first, max_bytes=MAX_HEADER_LINE)
    except strictjson.JSONError:
        return IDENTITY_FORMAT
    if isinstance(head, dict) and head.get("format") == INBOX_FORMAT:
        return INBOX_FORMAT
    return IDENTITY_FORMAT


def _read_head(source: Path, limit: int) -> bytes:
    try:
        with source.open("rb") as f:
            return f.read(limit)
    except OSError as exc:
        raise KeyToolError(f"cannot read {source} ({exc.strerror})") from None


# --- the inbox ------------------------------------------------------------------


@dataclass(frozen=True)
class InboxCounts:
    messages: int
    cursors: int
    unsigned: bool = False  # a version-1 backup, which anyone with the public key could make


def write_inbox_backup(home: Path, recipient_x25519: bytes, target: Path) -> InboxCounts:
    """Every stored message and cursor, encrypted to the lead's own public key."""
    mac_key = _stored_mac_key(home, recipient_x25519)
    with Inbox(home) as inbox:
        stored = inbox.messages()
        cursors = inbox.cursors()
    lines = [
        json.dumps(
            {
                "message": {
                    "id": m.id,
                    "school": m.school,
                    "cursor": m.cursor,
                    "case_id": None if m.case_id is None else b64u_encode(m.case_id),
                    "author": m.author,
                    "received": m.received,
                    "envelope": m.envelope.to_json(),
                }
            },
            separators=(",", ":"),
        )
        for m in stored
    ]
    lines += [
        json.dumps({"cursor": {"relay": r, "school": s, "after": a}}, separators=(",", ":"))
        for r, s, a in cursors
    ]
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    stream_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    fields = {
        "format": INBOX_FORMAT,
        "version": 2,
        "made": datetime.date.today().isoformat(),
        "to": b64u_encode(protocol.key_id(recipient_x25519)),
        "sealed_key": b64u_encode(SealedBox(PublicKey(recipient_x25519)).encrypt(key)),
        "stream": b64u_encode(stream_header),
    }
    fields["mac"] = _mac(mac_key, fields)
    header = json.dumps(fields, separators=(",", ":")).encode() + b"\n"
    out = io.BytesIO()
    out.write(header)
    plain = "".join(line + "\n" for line in lines).encode("utf-8")
    chunks = [plain[i : i + CHUNK] for i in range(0, len(plain), CHUNK)] or [b""]
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
            state, chunk, header if i == 0 else None, TAG_FINAL if last else TAG_MESSAGE
        )
        out.write(LENGTH.pack(len(sealed)) + sealed)
    write_private(target, out.getvalue())
    return InboxCounts(messages=len(stored), cursors=len(cursors))


UNSIGNED = (
    "{source} is a version-1 inbox backup, which carries no mac: anyone who knows your "
    "public key could have made it; nothing was restored. If you made it yourself, run "
    "restore again with --accept-unsigned (its fetch positions are then never taken "
    "beyond this inbox's own)"
)


def restore_inbox_backup(
    home: Path, identity: Identity, source: Path, accept_unsigned: bool = False
) -> InboxCounts:
    """Merge a backup's messages into the inbox; every line is checked before anything is kept.

    Each cursor is capped at the school's last message in the backup: a cursor
    beyond what the backup holds would make fetch skip messages nobody read. A
    version-1 backup (no mac) is refused unless accept_unsigned, and even then its
    cursors are capped at the inbox's own: nothing proves who wrote them.
    """
    try:
        with source.open("rb") as f:
            version, messages, cursors = _read_inbox_backup(f, identity.box_keys, source)
    except OSError as exc:
        raise KeyToolError(f"cannot read {source} ({exc.strerror})") from None
    unsigned = version == 1
    if unsigned and not accept_unsigned:
        raise KeyToolError(UNSIGNED.format(source=source))
    last: dict[str, int] = {}
    for school, row in messages:
        last[school] = max(last.get(school, 0), row.cursor)
    with Inbox(home) as inbox:
        capped = [
            (relay, school, min(after, last.get(school, 0))) for relay, school, after in cursors
        ]
        if unsigned:
            capped = [(r, s, min(a, inbox.cursor(r, s))) for r, s, a in capped]
        added = inbox.restore(messages, capped)
    return InboxCounts(messages=added, cursors=len(cursors), unsigned=unsigned)


def _read_inbox_backup(
    f: BinaryIO, keys: Sequence[PrivateKey], source: Path
) -> tuple[int, list[tuple[str, Row]], list[tuple[str, str, int]]]:
    bad = KeyToolError(f"{source} is damaged or not an inbox backup; nothing was restored")
    header = f.readline(MAX_HEADER_LINE)
    try:
        head = strictjson.loads(header, max_bytes=MAX_HEADER_LINE)
        if not isinstance(head, dict) or head.get("format") != INBOX_FORMAT:
            raise bad
        version = head.get("version")
        if version not in (1, 2):
            raise KeyToolError(f"{source} is a backup this version of the tool cannot read")
        to = b64u_decode(head["to"])
        sealed_key = b64u_decode(head["sealed_key"])
        stream_header = b64u_decode(head["stream"])
    except (strictjson.JSONError, KeyError, TypeError, ValueError):
        raise bad from None
    box, key = _open_key(to, sealed_key, keys, source)
    if version == 2 and not hmac.compare_digest(
        str(head.get("mac", "")), _mac(inbox_mac_key(box), head)
    ):
        raise KeyToolError(
            f"{source}: its mac is missing or wrong, so these keys' tool did not make it "
            "(anyone who knows your public key can make such a file); nothing was restored"
        )
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, stream_header, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise bad from None
    plain = io.BytesIO()
    first = True
    while True:
        size_bytes = f.read(LENGTH.size)
        if len(size_bytes) != LENGTH.size:
            raise bad  # cut short before the final chunk
        (size,) = LENGTH.unpack(size_bytes)
        if not ABYTES <= size <= MAX_CHUNK + ABYTES:
            raise bad
        sealed = f.read(size)
        try:
            chunk, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                state, sealed, header if first else None
            )
        except (nacl.exceptions.CryptoError, ValueError):
            raise bad from None
        first = False
        plain.write(chunk)
        if tag == TAG_FINAL:
            break
    if f.read(1):
        raise bad  # anything after the final chunk was added by someone else
    messages: list[tuple[str, Row]] = []
    cursors: list[tuple[str, str, int]] = []
    for line in _lines(plain.getvalue(), bad):
        try:
            value = strictjson.loads(line, max_bytes=MAX_CHUNK)
            if isinstance(value, dict) and set(value) == {"message"}:
                messages.append(_message(value["message"]))
            elif isinstance(value, dict) and set(value) == {"cursor"}:
                cursors.append(_cursor(value["cursor"]))
            else:
                raise ValueError(line[:32])
        except (strictjson.JSONError, ValueError, KeyError, TypeError, protocol.ProtocolError):
            raise bad from None
    return version, messages, cursors


def _mac(key: bytes, fields: Mapping[str, Any]) -> str:
    """Keyed BLAKE2b-256 of the header's canonical JSON without "mac"."""
    rest = {k: v for k, v in fields.items() if k != "mac"}
    text = json.dumps(rest, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return b64u_encode(hashlib.blake2b(text.encode("utf-8"), digest_size=32, key=key).digest())


def _stored_mac_key(home: Path, recipient_x25519: bytes) -> bytes:
    """The MAC key written at unlock, for the key the backup is sealed to."""
    path = home / INBOX_MAC_FILE
    unlock = f"unlock the key tool once (`quietdoor-keytool --home {home} list`) to write it"
    try:
        doc = strictjson.loads(path.read_bytes(), max_bytes=MAX_HEADER_LINE)
        to, key = b64u_decode(doc["to"]), b64u_decode(doc["key"])
    except FileNotFoundError:
        raise KeyToolError(f"{path} is missing; {unlock}") from None
    except (OSError, strictjson.JSONError, KeyError, TypeError, ValueError):
        raise KeyToolError(f"{path} is damaged; {unlock} again") from None
    if to != protocol.key_id(recipient_x25519) or len(key) != 32:
        raise KeyToolError(f"{path} is for keys other than identity.json's; {unlock} again")
    return key


def _open_key(
    to: bytes, sealed_key: bytes, keys: Sequence[PrivateKey], source: Path
) -> tuple[PrivateKey, bytes]:
    """The private key the backup is sealed to, and the stream key it opens."""
    for key in keys:
        if protocol.key_id(bytes(key.public_key)) == to:
            try:
                return key, SealedBox(key).decrypt(sealed_key)
            except nacl.exceptions.CryptoError:
                break
    raise KeyToolError(f"{source} was not made for these keys; nothing was restored")


def _lines(data: bytes, bad: KeyToolError) -> Iterator[bytes]:
    if data and not data.endswith(b"\n"):
        raise bad
    yield from (line for line in data.split(b"\n") if line)


def _message(obj: Any) -> tuple[str, Row]:
    """One stored message, checked like a row from a relay; (school, row)."""
    fields = {"id", "school", "cursor", "case_id", "author", "received", "envelope"}
    if not isinstance(obj, dict) or set(obj) != fields:
        raise ValueError("fields")
    cursor, case_text = obj["cursor"], obj["case_id"]
    if (
        not isinstance(obj["id"], str)
        or not MESSAGE_ID.fullmatch(obj["id"])
        or not isinstance(obj["school"], str)
        or not protocol.SLUG_RE.fullmatch(obj["school"])
        or not (cursor is None or (type(cursor) is int and 0 < cursor < 2**62))
        or obj["author"] not in AUTHORS
        or not is_day(obj["received"])
    ):
        raise ValueError("a field")
    case_id = None if case_text is None else b64u_decode(case_text)
    if case_id is not None and len(case_id) != protocol.CASE_ID_BYTES:
        raise ValueError("case_id")
    envelope = protocol.parse_envelope(obj["envelope"])
    if envelope.school != obj["school"]:
        raise ValueError("school")
    row = Row(
        cursor=cursor or 0,
        id=obj["id"],
        received=obj["received"],
        case_id=case_id,
        author=obj["author"],
        envelope=envelope,
    )
    return obj["school"], row


def _cursor(obj: Any) -> tuple[str, str, int]:
    if not isinstance(obj, dict) or set(obj) != {"relay", "school", "after"}:
        raise ValueError("fields")
    relay, school, after = obj["relay"], obj["school"], obj["after"]
    if (
        not isinstance(relay, str)
        or not relay.startswith(("http://", "https://"))
        or len(relay) > 2000
        or not isinstance(school, str)
        or not protocol.SLUG_RE.fullmatch(school)
        or type(after) is not int
        or not 0 <= after < 2**62
    ):
        raise ValueError("a field")
    return relay, school, after
