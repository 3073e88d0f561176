"""The recovery sheet: every private key of an identity on paper, locked with the passphrase.

A lead whose laptop is lost, and whose backup file went with it, types the
sheet's lines into a new laptop and gives the passphrase; the key tool takes the
rest (name, schools, districts) from the deployment config, which lists the
same public keys, and then fetches everything again from the relay.

The block is what identity.json holds, packed small enough to type: the keys
sealed under Argon2id of the passphrase (as in identity.json, with its own
salt), written in Crockford's base32 in lines of 16 characters, each with a
check character (Crockford's mod-37 check symbol over the line number and the
line), so that a typo is caught on the line where it was made. Whoever finds
the sheet still needs the passphrase; the lead needs both. docs/PROTOCOL.md
("The recovery sheet") gives the exact layout.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.exceptions
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from keytool.identity import (
    MEMLIMIT,
    OPSLIMIT,
    Identity,
    KeyPair,
    check_passphrase,
    wrapping_key,
)
from quietdoor.config import Deployment, PreviousKeys
from quietdoor.protocol import key_id

VERSION = 1
SALT = 16
NONCE = nacl.secret.SecretBox.NONCE_SIZE
PAIR = 64  # X25519 secret key, then Ed25519 seed
EPOCH = datetime.date(2000, 1, 1)  # a previous key's last day is stored as days since then
LINE = 16  # base32 characters per line, typed as four groups of four
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"  # Crockford's check symbols: values 0 to 36
_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = str.maketrans(_RFC4648, ALPHABET)
_FROM_CROCKFORD = str.maketrans(ALPHABET, _RFC4648)
_SEPARATORS = re.compile(r"[\s\-.]")


# --- making a sheet ---------------------------------------------------------------


def sheet_lines(identity: Identity, passphrase: str) -> list[str]:
    """The typed lines: four groups of four base32 characters, then a check symbol."""
    check_passphrase(passphrase)
    text = _base32(_seal(identity, passphrase))
    lines = []
    for number, start in enumerate(range(0, len(text), LINE), 1):
        chunk = text[start : start + LINE]
        groups = " ".join(chunk[i : i + 4] for i in range(0, len(chunk), 4))
        lines.append(f"{groups} {check_symbol(number, chunk)}")
    return lines


def _seal(identity: Identity, passphrase: str) -> bytes:
    pairs = [bytes(identity.keys.box) + bytes(identity.keys.signing)]
    for pair, previous in zip(identity.previous, identity.recipient.previous, strict=True):
        days = (previous.until - EPOCH).days
        pairs.append(bytes(pair.box) + bytes(pair.signing) + struct.pack(">H", days))
    plain = bytes([len(pairs)]) + b"".join(pairs)
    salt = nacl.utils.random(SALT)
    nonce = nacl.utils.random(NONCE)
    box = nacl.secret.SecretBox(wrapping_key(passphrase, salt, OPSLIMIT, MEMLIMIT))
    sealed = box.encrypt(plain, nonce).ciphertext
    header = bytes([VERSION, OPSLIMIT, MEMLIMIT.bit_length() - 1])
    return header + salt + nonce + sealed


# --- reading a sheet --------------------------------------------------------------


@dataclass(frozen=True)
class TypedLine:
    number: int
    text: str  # the base32 characters, normalised


def read_line(number: int, typed: str) -> TypedLine:
    """One typed line, normalised and checked; KeyToolError says which line to type again."""
    cleaned = _SEPARATORS.sub("", typed).upper()
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) < 2:
        raise KeyToolError(f"line {number} is empty; type it as it is printed")
    body, check = cleaned[:-1], cleaned[-1]
    if len(body) > LINE or any(c not in ALPHABET for c in body):
        raise KeyToolError(
            f"line {number} has letters or a length the sheet never prints; type it again"
        )
    if check_symbol(number, body) != check:
        raise KeyToolError(f"line {number} does not match its last character; type it again")
    return TypedLine(number, body)


def unlock_sheet(lines: Iterable[TypedLine], passphrase: str) -> tuple[KeyPair, list[Previous]]:
    """The key pairs on a sheet: the current one, and the previous ones with their last day."""
    text = "".join(line.text for line in lines)
    data = _unbase32(text)
    bad = KeyToolError("these lines are not a whole recovery sheet; check the last line typed")
    if len(data) < 3 + SALT + NONCE or data[0] != VERSION:
        raise bad
    opslimit, memlog = data[1], data[2]
    if not (0 < opslimit <= 64 and 13 <= memlog <= 32):
        raise bad
    salt = data[3 : 3 + SALT]
    nonce = data[3 + SALT : 3 + SALT + NONCE]
    sealed = data[3 + SALT + NONCE :]
    try:
        box = nacl.secret.SecretBox(wrapping_key(passphrase, salt, opslimit, 1 << memlog))
        plain = box.decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise KeyToolError("wrong passphrase, or a typo that a line's check missed") from None
    return _pairs(plain, bad)


@dataclass(frozen=True)
class Previous:
    keys: KeyPair
    until: datetime.date


def _pairs(plain: bytes, bad: KeyToolError) -> tuple[KeyPair, list[Previous]]:
    count = plain[0] if plain else 0
    if count < 1 or len(plain) != 1 + PAIR + (count - 1) * (PAIR + 2):
        raise bad
    current = _pair(plain[1 : 1 + PAIR])
    previous = []
    for i in range(count - 1):
        start = 1 + PAIR + i * (PAIR + 2)
        (days,) = struct.unpack(">H", plain[start + PAIR : start + PAIR + 2])
        until = EPOCH + datetime.timedelta(days=days)
        previous.append(Previous(_pair(plain[start : start + PAIR]), until))
    return current, previous


def _pair(raw: bytes) -> KeyPair:
    return KeyPair(PrivateKey(raw[:32]), SigningKey(raw[32:]))


def identity_from_sheet(
    current: KeyPair, previous: list[Previous], deployment: Deployment
) -> Identity:
    """The whole identity: the keys from the sheet, who they belong to from the config."""
    listed = next((r for r in deployment.recipients if r.x25519 == current.x25519), None)
    if listed is None:
        later = any(p.x25519 == current.x25519 for r in deployment.recipients for p in r.previous)
        if later:
            raise KeyToolError(
                "this sheet holds keys that a later rotation replaced; use the newest sheet "
                "or backup"
            )
        raise KeyToolError(
            "the deployment config lists nobody with these keys; is it this deployment's config?"
        )
    if listed.ed25519 != current.ed25519:
        raise KeyToolError("the deployment config lists another signing key for these keys")
    recipient = dataclasses.replace(
        listed,
        previous=tuple(PreviousKeys(p.keys.x25519, p.keys.ed25519, p.until) for p in previous),
    )
    return Identity(recipient=recipient, keys=current, previous=tuple(p.keys for p in previous))


# --- the printable page -----------------------------------------------------------


def sheet_html(identity: Identity, lines: list[str], today: datetime.date) -> str:
    r = identity.recipient
    rows = "\n".join(
        f'<tr><th scope="row">{n}</th><td class="code">{html.escape(line[:-2])}</td>'
        f'<td class="check">{html.escape(line[-1])}</td></tr>'
        for n, line in enumerate(lines, 1)
    )
    held = (
        "your keys, and the older keys you replaced (so older reports still open),"
        if identity.previous
        else "your keys,"
    )
    return _PAGE.format(
        name=html.escape(r.name),
        id=html.escape(r.id),
        made=today.isoformat(),
        fingerprint=fingerprint(r.x25519),
        count=len(lines),
        held=held,
        rows=rows,
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Quiet Door recovery sheet: {name}</title>
<style>
  body {{ font: 12pt/1.45 system-ui, sans-serif; color: #111; max-width: 46rem;
         margin: 1.5rem auto; padding: 0 1rem; }}
  h1 {{ font-size: 1.5rem; margin: 0 0 .25rem; }}
  h2 {{ font-size: 1.1rem; margin: 1.4rem 0 .4rem; }}
  .who {{ margin: 0 0 1rem; color: #333; }}
  .warn {{ border: 2px solid #111; padding: .6rem .9rem; margin: 1rem 0; }}
  table {{ border-collapse: collapse; margin: .5rem 0; }}
  th {{ text-align: right; padding: .25rem .8rem .25rem 0; color: #444; font-weight: normal; }}
  td.code, td.check {{ font: 15pt/1.6 ui-monospace, "DejaVu Sans Mono", monospace;
             letter-spacing: .08em; }}
  td.check {{ padding-left: 1.2rem; }}
  thead th {{ text-align: left; font-size: .85rem; padding-bottom: .3rem; }}
  ol li {{ margin: .3rem 0; }}
  code {{ font-family: ui-monospace, "DejaVu Sans Mono", monospace; }}
  @media print {{ body {{ margin: 0; max-width: none; }} }}
</style>
</head>
<body>
<h1>Recovery sheet for your Quiet Door keys</h1>
<p class="who">{name} ({id}) &middot; made on {made} &middot; key fingerprint {fingerprint}</p>

<div class="warn">
<p><strong>This sheet is your keys on paper.</strong> It holds {held} locked with your
passphrase. With this sheet and your passphrase, anyone can read the reports sent to you.
Without the passphrase, the sheet cannot be opened.</p>
<p>Keep it locked away from your laptop (a safe, or a sealed envelope in a locked drawer).
Never photograph it, scan it or send it. Do not write your passphrase on it.</p>
</div>

<h2>Your keys ({count} lines)</h2>
<table>
<thead><tr><th scope="col">Line</th><th scope="col">Type these</th>
<th scope="col">then this check</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>

<h2>How to restore your keys from this sheet</h2>
<ol>
<li>On your new laptop, install the Quiet Door key tool and get the deployment config
from whoever maintains it.</li>
<li>Run
<code>quietdoor-keytool --home ~/.quietdoor --config deployment.toml restore --sheet</code>.</li>
<li>Type each line when asked, including its last character: it lets the tool catch a typo
on the line where it happens. Spaces do not matter; O and 0, and I, L and 1, are read the same.</li>
<li>Give your passphrase. The tool shows your key fingerprint: check that it matches the
one at the top of this sheet. Then fetch: your reports come back from the relay.</li>
</ol>

<h2>When to print a new sheet</h2>
<p>After <code>keytool rotate</code>, print a new sheet, check it, then shred this one.</p>
</body>
</html>
"""


# --- base32 and the check symbol ---------------------------------------------------


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def _unbase32(text: str) -> bytes:
    bad = KeyToolError("these lines are not a whole recovery sheet; check the last line typed")
    if len(text) % 8 in (1, 3, 6):
        raise bad  # no whole number of bytes has this many base32 characters
    padded = text.translate(_FROM_CROCKFORD) + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError:
        raise bad from None


def check_symbol(number: int, chunk: str) -> str:
    """Crockford's check symbol over the line number and the line's characters."""
    value = number
    for c in chunk:
        value = value * 32 + ALPHABET.index(c)
    return CHECK_SYMBOLS[value % 37]


def fingerprint(x25519: bytes) -> str:
    """The key id of the current X25519 key in groups of four hex digits, to compare by eye."""
    hexed = key_id(x25519).hex()
    return " ".join(hexed[i : i + 4] for i in range(0, len(hexed), 4))
