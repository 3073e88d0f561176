"""What each message yielded when it was opened, kept encrypted so a visit opens only new ones.

Opening a sealed box and checking a signature cost about 0.3 ms per message: a
district's years of cases would take many seconds on every visit. The index
keeps, per message id, what keytool.cases.Opener found (the checked payload and
its verdicts; see Opened), in one file, inbox-index.bin (0600, written
atomically): secretbox under BLAKE2b(the X25519 secret, "qd2.index"), so the
plaintext never reaches the disk and nobody without the identity can read or
forge it. What messages say to each other (one report, bindings, the note chain,
the downgrade guard) is checked again from it on every read, as from scratch.

The payloads are kept as pickles: parsing them again through quietdoor.payloads'
validation costs about 70 us a message (2 s for 30,000), unpickling a few. Nothing
is unpickled before the file authenticates under the key, and then only the
payload types and Opened.

The index is rebuilt (everything opened again) when it is missing, does not
decrypt or parse, or was written for other inputs: another format or checking
code, other keys, or other colleagues' signing keys in the deployment config.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.secret
from nacl.public import PrivateKey

import quietdoor
from keytool import cases, directory, inbox
from keytool.cases import Opened
from keytool.directory import Colleagues
from keytool.home import write_private
from quietdoor import protocol
from quietdoor.config import Recipient

INDEX_FILE = "inbox-index.bin"
MAGIC = b"quietdoor inbox index\n"
FORMAT = 1
INPUTS = 32  # bytes of the inputs' hash at the start of the plaintext
# Only these may be rebuilt from the index: the payload types and Opened itself.
ALLOWED_PACKAGE = "quietdoor.payloads."


def index_key(box: PrivateKey) -> bytes:
    return protocol.blake2b(bytes(box), nacl.secret.SecretBox.KEY_SIZE, b"qd2.index")


def inputs(keys: Sequence[PrivateKey], colleagues: Colleagues) -> bytes:
    """A hash of everything an Opened depends on besides its message."""
    described = {
        "format": FORMAT,
        "code": _code(),
        "keys": [bytes(k.public_key).hex() for k in keys],
        "signers": _signers(colleagues),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).digest()


def load(home: Path, key: bytes, expected: bytes) -> dict[str, Opened]:
    """The index, or nothing when it must be rebuilt (missing, damaged, other inputs)."""
    try:
        data = (home / INDEX_FILE).read_bytes()
    except OSError:
        return {}
    if not data.startswith(MAGIC):
        return {}
    try:
        plain = nacl.secret.SecretBox(key).decrypt(data[len(MAGIC) :])
    except (nacl.exceptions.CryptoError, ValueError):
        return {}
    if plain[:INPUTS] != expected:
        return {}
    try:
        found = _Unpickler(io.BytesIO(plain[INPUTS:])).load()  # noqa: S301 (authenticated)
    except Exception:  # authenticated, yet unreadable by this build: rebuild it
        return {}
    if not isinstance(found, dict) or not all(isinstance(v, Opened) for v in found.values()):
        return {}
    return found


def save(home: Path, key: bytes, written_for: bytes, opened: dict[str, Opened]) -> None:
    plain = written_for + pickle.dumps(opened, protocol=pickle.HIGHEST_PROTOCOL)
    write_private(home / INDEX_FILE, MAGIC + nacl.secret.SecretBox(key).encrypt(plain))


class _Unpickler(pickle.Unpickler):
    """Builds only the types an index holds (the file is authenticated; this is a second wall)."""

    def find_class(self, module: str, name: str) -> Any:
        if not (
            module.startswith(ALLOWED_PACKAGE) or (module, name) == (Opened.__module__, "Opened")
        ):
            raise pickle.UnpicklingError(f"{module}.{name} is not a type an index holds")
        return super().find_class(module, name)


def _code() -> str:
    """A hash of the checking code's source, so a changed check rebuilds the index."""
    files = sorted(Path(quietdoor.__file__).parent.rglob("*.py"))
    files += [Path(m.__file__ or "") for m in (cases, directory, inbox)] + [Path(__file__)]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _signers(colleagues: Colleagues) -> list[Any]:
    """Every key Colleagues.check accepts, per school: me, then the config's (none: null)."""
    deployment = colleagues.deployment
    me = _keys(colleagues.me)
    if deployment is None:
        return [me, None]
    schools = {
        s.slug: [_keys(r) for r in deployment.recipients_for(s.slug)] for s in deployment.schools
    }
    return [me, schools]


def _keys(recipient: Recipient) -> list[Any]:
    previous = [[p.ed25519.hex(), p.until.isoformat()] for p in recipient.previous]
    return [recipient.ed25519.hex(), previous]
