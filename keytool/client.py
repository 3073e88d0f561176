"""Signed requests from the key tool to the relay, and its answers read as hostile input.

A relay may be broken or in an attacker's hands. Every answer is bounded (bytes
read, rows per page, pages per fetch), parsed with strictjson, and validated
into typed rows before anything is kept; anything else is one KeyToolError.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from urllib.parse import quote, urlsplit

from nacl.signing import SigningKey

from keytool.errors import KeyToolError
from quietdoor import protocol, strictjson
from quietdoor.encoding import b64u_decode
from quietdoor.payloads import Author
from quietdoor.signing import sign_request

PAGE = 200
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # a full page of the largest envelopes fits with room
MAX_PAGES = 5_000  # per school and fetch: a relay that says "more" forever is stopped here
MAX_SCHOOLS = 10_000
MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_MONTHS = 24  # the relay keeps 13
TIMEOUT = 30
ACK_TIMEOUT = 5  # an acknowledgment is worth a short wait only: a person is looking at a page
MAX_ACK = 2**53
NO_ACKS = (
    "the relay does not take acknowledgments (a relay older than version 2): "
    "it keeps every message until it is upgraded"
)
ACK_FAILED = "the relay was not told what this tool holds or what you looked at"
MESSAGE_ID = re.compile(r"[0-9a-f]{24}")
DAY = re.compile(r"\d{4}-\d\d-\d\d")
AUTHORS: tuple[Author, ...] = ("public", "student", "staff")


@dataclass(frozen=True)
class Row:
    """One message as a relay listed it; its envelope is checked for shape, not opened."""

    cursor: int
    id: str
    received: str
    case_id: bytes | None
    author: Author
    envelope: protocol.Envelope


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    more: bool


class Relay:
    def __init__(self, url: str, key: SigningKey) -> None:
        base = urlsplit(url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise KeyToolError(f"{url!r} is not a relay URL such as https://relay.example.org")
        self.url = url
        self._origin = f"{base.scheme}://{base.netloc}"
        self._prefix = base.path.rstrip("/")
        self.key = key
        self.warnings: list[str] = []  # said once each, for the caller to show
        self._takes_acks = True

    def schools(self) -> list[str]:
        """The schools whose messages this key may read, as the relay's config says today."""
        answer = self._request("GET", "/api/v1/schools")
        schools = answer.get("schools")
        if (
            not isinstance(schools, list)
            or len(schools) > MAX_SCHOOLS
            or not all(isinstance(s, str) and protocol.SLUG_RE.fullmatch(s) for s in schools)
        ):
            raise self._odd("its list of schools")
        return list(dict.fromkeys(schools))

    def escalations(self, school: str) -> dict[str, int]:
        """How many of the school's escalations climbed past the first tier, by month."""
        answer = self._request("GET", f"/api/v1/schools/{quote(school, safe='')}/escalations")
        climbed = answer.get("climbed")
        if (
            not isinstance(climbed, dict)
            or len(climbed) > MAX_MONTHS
            or not all(
                isinstance(m, str) and MONTH_RE.fullmatch(m) and type(n) is int and 0 <= n < 10**6
                for m, n in climbed.items()
            )
        ):
            raise self._odd("its escalation counts")
        return dict(climbed)

    def page(self, school: str, after: int) -> Page:
        """One page of a school's messages with a cursor greater than after."""
        path = f"/api/v1/schools/{quote(school, safe='')}/messages?after={after}&limit={PAGE}"
        answer = self._request("GET", path)
        messages, more = answer.get("messages"), answer.get("more")
        if not isinstance(messages, list) or len(messages) > PAGE or not isinstance(more, bool):
            raise self._odd("a page of messages")
        rows = [self._row(item, school) for item in messages]
        cursors = [after, *(r.cursor for r in rows)]
        if any(b <= a for a, b in zip(cursors, cursors[1:], strict=False)):
            raise self._odd("cursors that do not go forward")
        if more and not rows:
            raise self._odd("an empty page that says there is more")
        return Page(rows=rows, more=more)

    def acknowledge(
        self,
        school: str,
        *,
        held: int | None = None,
        seen: int | None = None,
        timeout: float = TIMEOUT,
    ) -> tuple[int, int] | None:
        """Tell the relay `held` and/or `seen` up to a cursor: (held, seen) it recorded.

        Never fails what the caller did (what was fetched is stored already): a relay
        without acknowledgments (404), or any other failure, is said once in warnings,
        no more are sent on this Relay, and the answer is None.
        """
        if not self._takes_acks:
            return None
        path = f"/api/v1/schools/{quote(school, safe='')}/acks"
        values = {k: v for k, v in (("held", held), ("seen", seen)) if v is not None}
        body = json.dumps(values, separators=(",", ":")).encode()
        try:
            answer = self._request("POST", path, body, timeout=timeout)
        except _NotFound:
            warning = NO_ACKS
        except KeyToolError as exc:
            warning = f"{ACK_FAILED}: {exc}"
        else:
            held, seen = answer.get("held"), answer.get("seen")
            if all(type(v) is int and 0 <= v <= MAX_ACK for v in (held, seen)):
                return cast(int, held), cast(int, seen)
            warning = f"{ACK_FAILED}: its answer was not two whole numbers"
        self._takes_acks = False
        self.warnings.append(warning)
        return None

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, json.dumps(body, separators=(",", ":")).encode())

    def _row(self, item: Any, school: str) -> Row:
        if not isinstance(item, dict) or set(item) != {
            "cursor",
            "id",
            "received",
            "case_id",
            "author",
            "envelope",
        }:
            raise self._odd("a message with unexpected fields")
        cursor, message_id, received = item["cursor"], item["id"], item["received"]
        case_text, author = item["case_id"], item["author"]
        if (
            not isinstance(cursor, int)
            or isinstance(cursor, bool)
            or not 0 < cursor < 2**62
            or not isinstance(message_id, str)
            or not MESSAGE_ID.fullmatch(message_id)
            or not is_day(received)
            or author not in AUTHORS
        ):
            raise self._odd("a message with a malformed cursor, id, day or author")
        case_id = None
        if case_text is not None:
            try:
                case_id = b64u_decode(case_text)
            except ValueError:
                case_id = b""
            if len(case_id) != protocol.CASE_ID_BYTES:
                raise self._odd("a malformed case id")
        try:
            envelope = protocol.parse_envelope(item["envelope"])
        except protocol.ProtocolError as exc:
            raise self._odd(f"a malformed envelope ({exc})") from None
        if envelope.school != school:
            raise self._odd("another school's message in this school's list")
        return Row(
            cursor=cursor,
            id=message_id,
            received=received,
            case_id=case_id,
            author=cast(Author, author),
            envelope=envelope,
        )

    def _request(
        self, method: str, api_path: str, body: bytes = b"", timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        path = self._prefix + api_path
        headers = sign_request(self.key, method, path, body)
        if body:
            headers["content-type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._origin + path, data=body or None, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                data = answer.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            refusal = _NotFound if exc.code == 404 else KeyToolError
            raise refusal(f"the relay refused: {_relay_message(exc)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise KeyToolError(f"cannot reach the relay at {self.url} ({reason})") from None
        if len(data) > MAX_ANSWER_BYTES:
            raise self._odd(f"an answer larger than {MAX_ANSWER_BYTES} bytes")
        try:
            value = strictjson.loads(data, max_bytes=MAX_ANSWER_BYTES, max_depth=10)
        except strictjson.JSONError as exc:
            raise self._odd(f"an answer that is not acceptable JSON ({exc})") from None
        if not isinstance(value, dict):
            raise self._odd("an answer that is not a JSON object")
        return value

    def _odd(self, what: str) -> KeyToolError:
        return KeyToolError(
            f"{self.url} did not answer like a Quiet Door relay: it sent {what}; nothing was saved"
        )


class _NotFound(KeyToolError):
    """The relay answered 404: for an acknowledgment, a relay that has no such endpoint."""


def is_day(value: Any) -> bool:
    if not isinstance(value, str) or not DAY.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _relay_message(exc: urllib.error.HTTPError) -> str:
    try:
        message = strictjson.loads(exc.read(4096), max_bytes=4096)["error"]
        if not isinstance(message, str):
            raise TypeError(message)
        return f"{message[:300]} (HTTP {exc.code})"
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code}"
