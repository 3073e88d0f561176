"""Reading requests as hostile input: bounded bodies, strict JSON, ASCII-only numbers."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import ClientDisconnect, Request

from quietdoor import strictjson
from relay.errors import RelayError

DIGITS = re.compile(r"[0-9]{1,18}")  # str.isdigit() would accept "²", which int() refuses


class ApiError(RelayError):
    """A request the relay refuses; becomes a 4xx with {"error": message}.

    full: the school's storage budget is reached; the answer says so ("full": true), so
    a page shows its hotline instead of asking to try again. retry_after: seconds, sent
    as Retry-After (with a 429).
    """

    def __init__(
        self, status: int, message: str, *, full: bool = False, retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.full = full
        self.retry_after = retry_after


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not DIGITS.fullmatch(declared) or int(declared) > limit):
        raise ApiError(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the request ended before its body arrived") from None
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """A JSON body, refused unless it says it is JSON: a cross-site form cannot send one."""
    require_json(request)
    return parse_json(await read_body(request, limit))


def require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "send the body as application/json")


def parse_json(body: bytes) -> Any:
    try:
        return strictjson.loads(body, max_bytes=len(body), max_depth=8)
    except strictjson.JSONError as exc:
        raise ApiError(400, f"the body is not acceptable JSON: {exc}") from None


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise ApiError(400, f"'{name}' must be a whole number from {low} to {high}")
    return int(text)
