"""Signed requests from the key tool to the relay (docs/PROTOCOL.md, "Staff requests")."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from quietdoor.signing import sign_request

PAGE = 200


def fetch_page(relay_url: str, school: str, after: int, key: SigningKey) -> dict[str, Any]:
    """One page of a school's envelopes with seq greater than after."""
    path = f"/api/v1/schools/{quote(school, safe='')}/envelopes?after={after}&limit={PAGE}"
    data = signed_get(relay_url, path, key)
    if not isinstance(data.get("envelopes"), list):
        raise KeyToolError(f"{relay_url} did not answer like a Quiet Door relay")
    return data


def my_schools(relay_url: str, key: SigningKey) -> list[str]:
    """The schools whose reports this key may read, as the relay's config says today."""
    schools = signed_get(relay_url, "/api/v1/schools", key).get("schools")
    if not isinstance(schools, list) or not all(isinstance(s, str) for s in schools):
        raise KeyToolError(f"{relay_url} did not answer like a Quiet Door relay")
    return schools


def signed_get(relay_url: str, api_path: str, key: SigningKey) -> dict[str, Any]:
    base = urlsplit(relay_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise KeyToolError(f"{relay_url!r} is not a relay URL such as https://relay.example.org")
    path = base.path.rstrip("/") + api_path
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        f"{base.scheme}://{base.netloc}{path}", headers=sign_request(key, "GET", path), method="GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            data = json.load(answer)
    except urllib.error.HTTPError as exc:
        raise KeyToolError(f"the relay refused: {_relay_message(exc)}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise KeyToolError(f"cannot reach the relay at {relay_url} ({reason})") from None
    except json.JSONDecodeError:
        raise KeyToolError(f"{relay_url} did not answer like a Quiet Door relay") from None
    if not isinstance(data, dict):
        raise KeyToolError(f"{relay_url} did not answer like a Quiet Door relay")
    return data


def _relay_message(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(exc.read())["error"]
        return f"{message} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code}"
