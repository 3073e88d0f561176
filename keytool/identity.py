"""A recipient's keys, kept in the key tool's home and encrypted with a passphrase.

The private keys never leave this file unencrypted. The passphrase is stretched
with Argon2id at libsodium's "moderate" limits, so a stolen laptop's copy of
identity.json resists guessing far better than the passphrase alone would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from keytool.home import private_home, write_private
from quietdoor.config import Recipient
from quietdoor.encoding import b64u_decode, b64u_encode

IDENTITY_FILE = "identity.json"
MIN_PASSPHRASE = 12
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE


@dataclass(frozen=True)
class Identity:
    recipient: Recipient  # public part, as it appears in the deployment config
    box_key: PrivateKey
    signing_key: SigningKey


def create_identity(
    home: Path,
    recipient_id: str,
    name: str,
    passphrase: str,
    schools: tuple[str, ...],
    districts: tuple[str, ...],
) -> Identity:
    path = home / IDENTITY_FILE
    if path.exists():
        raise KeyToolError(f"{path} already exists; keys are never overwritten")
    check_passphrase(passphrase)
    box_key = PrivateKey.generate()
    signing_key = SigningKey.generate()
    recipient = Recipient(
        id=recipient_id,
        name=name,
        x25519=bytes(box_key.public_key),
        ed25519=bytes(signing_key.verify_key),
        schools=schools,
        districts=districts,
    )
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    wrap = _wrapping_key(passphrase, salt, OPSLIMIT, MEMLIMIT)
    secret = json.dumps(
        {"x25519": b64u_encode(bytes(box_key)), "ed25519": b64u_encode(bytes(signing_key))}
    ).encode()
    sealed = nacl.secret.SecretBox(wrap).encrypt(secret)
    document = {
        "version": 1,
        "id": recipient_id,
        "name": name,
        "schools": list(schools),
        "districts": list(districts),
        "x25519": b64u_encode(recipient.x25519),
        "ed25519": b64u_encode(recipient.ed25519),
        "kdf": {
            "alg": "argon2id13",
            "opslimit": OPSLIMIT,
            "memlimit": MEMLIMIT,
            "salt": b64u_encode(salt),
        },
        "sealed": b64u_encode(bytes(sealed)),
    }
    private_home(home)
    write_private(path, json.dumps(document, indent=2).encode("utf-8"))
    return Identity(recipient=recipient, box_key=box_key, signing_key=signing_key)


def load_identity(home: Path, passphrase: str) -> Identity:
    path = home / IDENTITY_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        kdf = doc["kdf"]
        recipient = Recipient(
            id=doc["id"],
            name=doc["name"],
            x25519=b64u_decode(doc["x25519"]),
            ed25519=b64u_decode(doc["ed25519"]),
            schools=tuple(doc["schools"]),
            districts=tuple(doc["districts"]),
        )
        salt = b64u_decode(kdf["salt"])
        sealed = b64u_decode(doc["sealed"])
        opslimit, memlimit = int(kdf["opslimit"]), int(kdf["memlimit"])
    except FileNotFoundError:
        raise KeyToolError(
            f"no keys in {home}; run `python -m keytool --home {home} init` first"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise KeyToolError(f"{path} is damaged; restore it from your backup") from None
    try:
        secret = json.loads(
            nacl.secret.SecretBox(_wrapping_key(passphrase, salt, opslimit, memlimit)).decrypt(
                sealed
            )
        )
    except nacl.exceptions.CryptoError:
        raise KeyToolError("wrong passphrase") from None
    box_key = PrivateKey(b64u_decode(secret["x25519"]))
    signing_key = SigningKey(b64u_decode(secret["ed25519"]))
    if (
        bytes(box_key.public_key) != recipient.x25519
        or bytes(signing_key.verify_key) != recipient.ed25519
    ):
        raise KeyToolError(f"{path} is damaged: its keys do not match; restore it from your backup")
    return Identity(recipient=recipient, box_key=box_key, signing_key=signing_key)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyToolError(
            f"the passphrase must have at least {MIN_PASSPHRASE} characters; "
            "a few unrelated words are easy to remember and hard to guess"
        )


def _wrapping_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
