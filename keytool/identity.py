"""A recipient's keys, kept in the key tool's home and encrypted with a passphrase.

The private keys never leave this file unencrypted. The passphrase is stretched
with Argon2id at libsodium's "moderate" limits, so a stolen laptop's copy of
identity.json resists guessing far better than the passphrase alone would.

After `rotate`, the file also keeps the replaced key pairs (newest first), so
that envelopes sealed to them still open; docs/PROTOCOL.md describes the layout.

Unlocking (and writing identity.json) also writes inbox-mac.key (0600): the key
that authenticates inbox backups, so a scheduled backup (no passphrase) can sign.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from keytool.home import private_home, write_private
from quietdoor import protocol
from quietdoor.config import PreviousKeys, Recipient
from quietdoor.encoding import b64u_decode, b64u_encode

IDENTITY_FILE = "identity.json"
INBOX_MAC_FILE = "inbox-mac.key"
MIN_PASSPHRASE = 12
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
MAX_PREVIOUS = 32  # rotations kept; far more than a career of yearly rotations


@dataclass(frozen=True)
class KeyPair:
    box: PrivateKey  # X25519: opens envelopes
    signing: SigningKey  # Ed25519: signs requests and staff messages

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(PrivateKey.generate(), SigningKey.generate())

    @property
    def x25519(self) -> bytes:
        return bytes(self.box.public_key)

    @property
    def ed25519(self) -> bytes:
        return bytes(self.signing.verify_key)


@dataclass(frozen=True)
class Identity:
    recipient: Recipient  # public part; recipient.previous names the replaced keys' last day
    keys: KeyPair
    previous: tuple[KeyPair, ...] = ()  # the replaced pairs, in recipient.previous's order

    @property
    def box_key(self) -> PrivateKey:
        return self.keys.box

    @property
    def signing_key(self) -> SigningKey:
        return self.keys.signing

    @property
    def box_keys(self) -> tuple[PrivateKey, ...]:
        """Every X25519 key this person has held: envelopes sealed to any of them open."""
        return (self.keys.box, *(p.box for p in self.previous))

    def signing_key_for(self, published: bytes | None) -> SigningKey:
        """The signing key whose public half the deployment config lists for me now.

        Between `rotate` and the day the new config is published, the relay and
        colleagues still know the old key: the tool keeps signing with it until then.
        """
        for pair in (self.keys, *self.previous):
            if pair.ed25519 == published:
                return pair.signing
        return self.keys.signing


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
    keys = KeyPair.generate()
    recipient = Recipient(
        id=recipient_id,
        name=name,
        x25519=keys.x25519,
        ed25519=keys.ed25519,
        schools=schools,
        districts=districts,
    )
    identity = Identity(recipient=recipient, keys=keys)
    save_identity(home, identity, passphrase, replace=False)
    return identity


def load_identity(home: Path, passphrase: str) -> Identity:
    path = home / IDENTITY_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyToolError(
            f"no keys in {home}; run `quietdoor-keytool --home {home} init` first"
        ) from None
    except (OSError, ValueError):
        raise KeyToolError(f"{path} is damaged; restore it from your backup") from None
    identity = identity_from_document(doc, passphrase, str(path))
    _write_inbox_mac_key(home, identity)
    return identity


def inbox_mac_key(box: PrivateKey) -> bytes:
    """What inbox backups sealed to this X25519 key are authenticated with."""
    return protocol.blake2b(bytes(box), 32, b"qd2.inbox_mac")


def save_identity(home: Path, identity: Identity, passphrase: str, *, replace: bool) -> None:
    """Write identity.json, sealed with the passphrase under a fresh salt."""
    path = home / IDENTITY_FILE
    if not replace and path.exists():
        raise KeyToolError(f"{path} already exists; keys are never overwritten")
    private_home(home)
    write_private(path, json.dumps(identity_document(identity, passphrase), indent=2).encode())
    _write_inbox_mac_key(home, identity)


def _write_inbox_mac_key(home: Path, identity: Identity) -> None:
    """inbox-mac.key for the current X25519 key, so a backup without the passphrase can sign."""
    mac_file = {"to": b64u_encode(protocol.key_id(identity.keys.x25519))}
    mac_file["key"] = b64u_encode(inbox_mac_key(identity.box_key))
    write_private(home / INBOX_MAC_FILE, json.dumps(mac_file).encode())


def rotate_identity(home: Path, passphrase: str, until: datetime.date) -> Identity:
    """New key pairs; the old ones are kept (for old envelopes) and accepted until `until`."""
    old = load_identity(home, passphrase)
    if len(old.previous) >= MAX_PREVIOUS:
        raise KeyToolError(f"this identity already holds {MAX_PREVIOUS} replaced keys")
    keys = KeyPair.generate()
    retired = PreviousKeys(x25519=old.keys.x25519, ed25519=old.keys.ed25519, until=until)
    recipient = dataclasses.replace(
        old.recipient,
        x25519=keys.x25519,
        ed25519=keys.ed25519,
        previous=(retired, *old.recipient.previous),
    )
    new = Identity(recipient=recipient, keys=keys, previous=(old.keys, *old.previous))
    save_identity(home, new, passphrase, replace=True)
    return new


def identity_document(identity: Identity, passphrase: str) -> dict[str, Any]:
    """identity.json as a JSON object: public keys in clear, private keys sealed."""
    check_passphrase(passphrase)
    r = identity.recipient
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    wrap = wrapping_key(passphrase, salt, OPSLIMIT, MEMLIMIT)
    secret = json.dumps(
        {
            **_pair_json(identity.keys),
            "previous": [_pair_json(p) for p in identity.previous],
        }
    ).encode()
    return {
        "version": 1,
        "id": r.id,
        "name": r.name,
        "schools": list(r.schools),
        "districts": list(r.districts),
        "x25519": b64u_encode(r.x25519),
        "ed25519": b64u_encode(r.ed25519),
        "previous": [
            {
                "x25519": b64u_encode(p.x25519),
                "ed25519": b64u_encode(p.ed25519),
                "until": p.until.isoformat(),
            }
            for p in r.previous
        ],
        "kdf": {
            "alg": "argon2id13",
            "opslimit": OPSLIMIT,
            "memlimit": MEMLIMIT,
            "salt": b64u_encode(salt),
        },
        "sealed": b64u_encode(bytes(nacl.secret.SecretBox(wrap).encrypt(secret))),
    }


def load_public(home: Path) -> Recipient:
    """The public part of identity.json: no passphrase needed."""
    path = home / IDENTITY_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyToolError(f"no keys in {home}") from None
    except (OSError, ValueError):
        raise KeyToolError(f"{path} is damaged; restore it from your backup") from None
    return _recipient(doc, str(path))


def _recipient(doc: Any, where: str) -> Recipient:
    try:
        return Recipient(
            id=str(doc["id"]),
            name=str(doc["name"]),
            x25519=b64u_decode(doc["x25519"]),
            ed25519=b64u_decode(doc["ed25519"]),
            schools=tuple(str(s) for s in doc["schools"]),
            districts=tuple(str(d) for d in doc["districts"]),
            previous=tuple(
                PreviousKeys(
                    x25519=b64u_decode(p["x25519"]),
                    ed25519=b64u_decode(p["ed25519"]),
                    until=datetime.date.fromisoformat(p["until"]),
                )
                for p in doc.get("previous", [])
            ),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyToolError(f"{where} is damaged; restore it from your backup") from None


def identity_from_document(doc: Any, passphrase: str, where: str) -> Identity:
    """Unlock an identity document (identity.json, or the one inside a backup)."""
    damaged = KeyToolError(f"{where} is damaged; restore it from your backup")
    recipient = _recipient(doc, where)
    try:
        if doc["version"] != 1 or doc["kdf"]["alg"] != "argon2id13":
            raise damaged
        kdf = doc["kdf"]
        salt = b64u_decode(kdf["salt"])
        sealed = b64u_decode(doc["sealed"])
        opslimit, memlimit = int(kdf["opslimit"]), int(kdf["memlimit"])
    except (ValueError, KeyError, TypeError):
        raise damaged from None
    if not (0 < opslimit <= 64 and 0 < memlimit <= 4 * 1024**3):
        raise damaged  # a crafted file must not make the tool allocate without bound
    try:
        box = nacl.secret.SecretBox(wrapping_key(passphrase, salt, opslimit, memlimit))
        secret = json.loads(box.decrypt(sealed))
    except nacl.exceptions.CryptoError:
        raise KeyToolError("wrong passphrase") from None
    try:
        keys = _pair_from_json(secret)
        previous = tuple(_pair_from_json(p) for p in secret.get("previous", []))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged from None
    publics = [(recipient.x25519, recipient.ed25519)]
    publics += [(p.x25519, p.ed25519) for p in recipient.previous]
    if [(p.x25519, p.ed25519) for p in (keys, *previous)] != publics:
        raise KeyToolError(
            f"{where} is damaged: its keys do not match; restore it from your backup"
        )
    return Identity(recipient=recipient, keys=keys, previous=previous)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyToolError(
            f"the passphrase must have at least {MIN_PASSPHRASE} characters; "
            "a few unrelated words are easy to remember and hard to guess"
        )


def wrapping_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """crypto_pwhash (Argon2id 1.3) of the passphrase: the key that seals private keys."""
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )


def _pair_json(pair: KeyPair) -> dict[str, str]:
    return {"x25519": b64u_encode(bytes(pair.box)), "ed25519": b64u_encode(bytes(pair.signing))}


def _pair_from_json(obj: Mapping[str, Any]) -> KeyPair:
    return KeyPair(PrivateKey(b64u_decode(obj["x25519"])), SigningKey(b64u_decode(obj["ed25519"])))
