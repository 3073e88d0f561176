"""Proof of work in ALTCHA's challenge format (version 2), with the `altcha` library.

A student's page fetches a challenge when the student starts typing (not when
the page loads, so a page view stays invisible to the relay) and solves it
while they write: it tries counters from 0 until PBKDF2-HMAC-SHA-256 of
(challenge nonce, counter) starts with the challenge's key prefix. The relay
made the challenge by picking the counter at random below a number of tries,
so a solver needs at most that many tries, and half of them on average. The
browser does each try with WebCrypto at native speed, so a flooder with a
native solver has little advantage per core.

A challenge names its school and its number of tries (both signed), and
expires on a ten-minute boundary. The relay spends its nonce, in the same
transaction as the message it came with, so a solution is accepted once
across every relay sharing the database; the spent nonce is kept with that
coarse expiry only, and deleted once it passes.

Nothing here identifies anyone: no address, no cookie, and the solution's own
timing (ALTCHA's optional "time") is neither sent by our page nor kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from altcha import v2 as altcha

from quietdoor import strictjson
from relay.errors import RelayError
from relay.store import SpentProof

ALGORITHM = "PBKDF2/SHA-256"
COST = 2000  # PBKDF2 iterations a try: about a millisecond in a phone's browser
LIFETIME = 3600  # seconds a challenge stays valid, at least
EXPIRY_STEP = 600  # expiries are rounded up to this, so a spent proof holds no finer time
MAX_HEADER = 4096
HEADER = "x-qd-proof"
PARAMETER_KEYS = frozenset(
    {"algorithm", "nonce", "salt", "cost", "keyLength", "keyPrefix", "keySignature"}
    | {"expiresAt", "data"}
)
HEX = re.compile(r"[0-9a-f]{1,128}")
# Busy challenges ask for this many times the normal tries: at the default 1000 tries,
# a cheap phone's browser solves one in about a minute at most (docs/THREAT-MODEL.md,
# "A flood of junk reports"; bench/proof_of_work.py measures it).
BUSY_FACTOR = 64


class ProofError(RelayError):
    """A missing, malformed, wrong, expired or too easy proof; the relay answers 428."""


class Proofs:
    """Makes and checks challenges with keys derived from the relays' shared secret."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._signing = _derive(secret, b"qd1.pow.params")
        self._key_signing = _derive(secret, b"qd1.pow.key")
        self._clock = clock

    def challenge(self, school: str, tries: int, busy: bool) -> dict[str, Any]:
        """A new challenge for a school: its counter is below tries (costs one PBKDF2)."""
        expires = math.ceil((self._clock() + LIFETIME) / EXPIRY_STEP) * EXPIRY_STEP
        made = altcha.create_challenge(
            ALGORITHM,
            COST,
            counter=secrets.randbelow(tries),
            expires_at=expires,
            data={"school": school, "tries": tries, "busy": busy},
            hmac_secret=self._signing,
            hmac_key_secret=self._key_signing,
        )
        challenge: dict[str, Any] = made.to_dict()
        return challenge

    def check(self, header: str | None, school: str, fewest_tries: int) -> SpentProof:
        """The proof a request carries, checked: signed by us, solved, for this school, not
        expired, and made for at least fewest_tries; ProofError otherwise. Spending it (once)
        is the store's job."""
        if not header:
            raise ProofError("send a solved challenge in the X-QD-Proof header")
        payload = _parse(header)
        parameters = payload.challenge.parameters
        data = parameters.data or {}
        if parameters.algorithm != ALGORITHM or parameters.cost != COST:
            raise ProofError("this challenge was not made by this relay")
        result = altcha.verify_solution(payload, self._signing, hmac_key_secret=self._key_signing)
        if result.expired:
            raise ProofError("the challenge expired; solve a new one")
        if not result.verified:
            raise ProofError("the challenge is not solved, or not made by this relay")
        if data.get("school") != school:
            raise ProofError("the challenge was made for another school")
        tries = data.get("tries")
        if not isinstance(tries, int) or tries < fewest_tries:
            raise ProofError("the school is busier now; solve a new challenge")
        expires = parameters.expires_at
        if not isinstance(expires, int):
            raise ProofError("the challenge has no expiry")
        if expires <= self._clock():
            raise ProofError("the challenge expired; solve a new one")
        return SpentProof(nonce=str(parameters.nonce), expires=expires)


def _derive(secret: bytes, person: bytes) -> bytes:
    return hashlib.blake2b(secret, digest_size=32, person=person).digest()


def _parse(header: str) -> altcha.Payload:
    """ALTCHA's payload (base64 of JSON), read as hostile input within limits."""
    if len(header) > MAX_HEADER:
        raise ProofError(f"the X-QD-Proof header is longer than {MAX_HEADER} characters")
    try:
        raw = base64.b64decode(header, validate=True)
        document = strictjson.loads(raw, max_bytes=MAX_HEADER, max_depth=4)
    except (binascii.Error, ValueError, strictjson.JSONError):
        raise ProofError("the X-QD-Proof header is not ALTCHA's base64 JSON payload") from None
    problem = _shape_problem(document)
    if problem:
        raise ProofError(f"the proof of work is malformed: {problem}")
    return altcha.Payload.from_dict(document)


def _shape_problem(document: Any) -> str:
    if not isinstance(document, dict) or set(document) != {"challenge", "solution"}:
        return "expected exactly 'challenge' and 'solution'"
    challenge, solution = document["challenge"], document["solution"]
    if not isinstance(challenge, dict) or set(challenge) != {"parameters", "signature"}:
        return "'challenge' needs exactly 'parameters' and 'signature'"
    parameters = challenge["parameters"]
    if not isinstance(parameters, dict) or not set(parameters) <= PARAMETER_KEYS:
        return "'parameters' holds an unknown field"
    for name in ("algorithm", "nonce", "salt", "keyPrefix"):
        if not isinstance(parameters.get(name), str):
            return f"'parameters.{name}' must be text"
    for name in ("nonce", "salt"):
        if not HEX.fullmatch(parameters[name]) or len(parameters[name]) % 2:
            return f"'parameters.{name}' must be hex"
    for name in ("cost", "keyLength", "expiresAt"):
        if name in parameters and type(parameters[name]) is not int:
            return f"'parameters.{name}' must be a whole number"
    if "cost" not in parameters:
        return "'parameters.cost' is missing"
    if not isinstance(parameters.get("data", {}), dict):
        return "'parameters.data' must be an object"
    if not isinstance(challenge["signature"], str):
        return "'signature' must be text"
    if not isinstance(solution, dict) or not {"counter", "derivedKey"} <= set(solution):
        return "'solution' needs 'counter' and 'derivedKey'"
    if not set(solution) <= {"counter", "derivedKey", "time"}:
        return "'solution' holds an unknown field"
    if type(solution["counter"]) is not int or not isinstance(solution["derivedKey"], str):
        return "'solution.counter' must be a whole number and 'derivedKey' hex"
    return ""


def tries_for(count: int, normal: int, base: int) -> int:
    """The tries a school's challenge asks for, given its count today: two levels only.

    Up to the normal volume, base; above it (busy), BUSY_FACTOR times base, however
    far above: a challenge tells an onlooker only "normal" or "busy", and a flood past
    the quota pays the busy price for every message while a student pays it once.
    """
    return base * BUSY_FACTOR if count > normal else base
