"""Requests to the relay's API: paths, signed headers, bodies, solved proofs of work."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
from nacl.signing import SigningKey

from quietdoor.signing import sign_request

from .envelopes import StudentCase


def messages_path(school: str, after: int = 0, limit: int | None = None) -> str:
    path = f"/api/v1/schools/{school}/messages?after={after}"
    return path + (f"&limit={limit}" if limit is not None else "")


def acks_path(school: str) -> str:
    return f"/api/v1/schools/{school}/acks"


def reply_path(case: StudentCase) -> str:
    return f"/api/v1/schools/{case.school}/cases/{case.case_id}/messages"


def signed_headers(
    key: SigningKey, path: str, method: str = "GET", body: bytes = b"", **kw: Any
) -> dict[str, str]:
    headers = sign_request(key, method, path, body, **kw)
    if body:
        headers["content-type"] = "application/json"
    return headers


def as_body(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def proof(relay_url: str, school: str) -> dict[str, str]:
    """A challenge from the relay, solved: the X-QD-Proof header a page would send."""
    answer = httpx.get(relay_url + f"/api/v1/challenge?school={school}")
    assert answer.status_code == 200, answer.text
    return {"x-qd-proof": solve_proof(answer.json())}


def solve_proof(challenge: dict[str, Any]) -> str:
    """The X-QD-Proof header for a challenge, solved as a client would (the altcha library)."""
    import base64

    from altcha import v2 as altcha

    solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
    assert solution is not None
    payload = {
        "challenge": challenge,
        "solution": {"counter": solution.counter, "derivedKey": solution.derived_key},
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()
