"""Inbox backups as a stranger would make them, from the docs and public values alone."""

from __future__ import annotations

import datetime
import json
import struct
from typing import Any

import nacl.bindings as sodium
from nacl.public import PublicKey, SealedBox

from quietdoor import protocol
from quietdoor.encoding import b64u_encode


def forged_inbox_backup(
    x25519_public: bytes, lines: list[dict[str, Any]], version: int, mac: str | None
) -> bytes:
    """An inbox backup sealed to a lead's public key, with whatever mac the forger has."""
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    stream = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    head: dict[str, Any] = {
        "format": "quietdoor-inbox-backup",
        "version": version,
        "made": datetime.date.today().isoformat(),
        "to": b64u_encode(protocol.key_id(x25519_public)),
        "sealed_key": b64u_encode(SealedBox(PublicKey(x25519_public)).encrypt(key)),
        "stream": b64u_encode(stream),
    }
    if mac is not None:
        head["mac"] = mac
    header = json.dumps(head).encode() + b"\n"
    plain = "".join(json.dumps(line) + "\n" for line in lines).encode()
    sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
        state, plain, header, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
    )
    return header + struct.pack(">I", len(sealed)) + sealed
