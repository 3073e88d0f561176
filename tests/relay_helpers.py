"""Helpers for talking to a relay in tests: build envelopes, sign staff requests."""

from __future__ import annotations

from typing import Any

from nacl.signing import SigningKey

from quietdoor import protocol
from quietdoor.config import Deployment
from quietdoor.signing import sign_request


def report(deployment: Deployment, school: str, what: str = "test report") -> dict[str, Any]:
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    payload = {
        "type": "report",
        "lang": "en",
        "written": "2026-11-28T10:00Z",
        "reply_pk": "",
        "answers": {"what": what, "safe_now": "", "more": ""},
    }
    recipients = [r.x25519 for r in deployment.recipients_for(school)]
    return protocol.seal(school, payload, recipients, case).to_json()


def inbox_path(school: str, after: int = 0, limit: int | None = None) -> str:
    path = f"/api/v1/schools/{school}/envelopes?after={after}"
    return path + (f"&limit={limit}" if limit is not None else "")


def signed_headers(key: SigningKey, path: str, **kw: Any) -> dict[str, str]:
    return sign_request(key, "GET", path, **kw)
