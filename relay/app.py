"""The relay's HTTP application: accept envelopes, serve them to signed staff requests.

The relay sees ciphertext only. It never reads or logs the client address or
user agent, and keeps no time finer than the UTC day an envelope arrived.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietdoor import protocol
from quietdoor.config import Deployment
from quietdoor.csp import header_policy
from quietdoor.signing import MAX_SKEW_SECONDS, SignatureError, SignedRequest, verify_request
from relay.openapi import openapi_document
from relay.store import Store

log = logging.getLogger("relay")

MAX_PAGE = 200


class ApiError(Exception):
    """A request the relay refuses; becomes a 4xx with {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(deployment: Deployment, store: Store, static_dir: Path | None = None) -> Starlette:
    relay = _Relay(deployment, store)
    routes: list[Route | Mount] = [
        Route("/api/openapi.json", relay.openapi, methods=["GET"]),
        Route("/api/v1/envelopes", relay.post_envelope, methods=["POST"]),
        Route("/api/v1/schools", relay.my_schools, methods=["GET"]),
        Route("/api/v1/schools/{slug}/envelopes", relay.list_envelopes, methods=["GET"]),
    ]
    if static_dir is not None:
        routes.append(Mount("/", app=StaticFiles(directory=static_dir, html=True)))
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=[_origin(deployment.base_url)],
            allow_methods=["POST"],
            allow_headers=["content-type"],
            max_age=3600,
        ),
        Middleware(SecurityHeaders, relay_url=deployment.relay_url),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )


class _Relay:
    def __init__(self, deployment: Deployment, store: Store) -> None:
        self.deployment = deployment
        self.store = store
        self._quota_warned: set[tuple[str, str]] = set()

    def _warn_quota_once(self, school: str, day: str) -> None:
        # One line per school and day: a log line per refused post would time a student's visit.
        if (school, day) not in self._quota_warned:
            self._quota_warned = {k for k in self._quota_warned if k[1] == day}
            self._quota_warned.add((school, day))
            log.warning("daily quota reached for school %s", school)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def post_envelope(self, request: Request) -> Response:
        limits = self.deployment.relay
        body = await _read_body(request, limits.max_body_bytes)
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "the body must be a JSON envelope") from None
        try:
            envelope = protocol.parse_envelope(raw)
        except protocol.ProtocolError as exc:
            raise ApiError(400, f"malformed envelope: {exc}") from None
        if self.deployment.school(envelope.school) is None:
            raise ApiError(404, f"unknown school {envelope.school[:64]!r}")
        expected = sorted(
            protocol.key_id(r.x25519) for r in self.deployment.recipients_for(envelope.school)
        )
        if sorted(k.to for k in envelope.keys) != expected:
            raise ApiError(
                422,
                "the envelope is not sealed to this school's current recipients; reload the page",
            )
        canonical = json.dumps(envelope.to_json(), separators=(",", ":"), sort_keys=True)
        day = datetime.now(UTC).date().isoformat()
        added = await run_in_threadpool(
            self.store.add_envelope,
            envelope.school,
            raw["nonce"],
            canonical,
            day,
            limits.daily_quota_per_school,
        )
        if added is None:
            self._warn_quota_once(envelope.school, day)
            raise ApiError(
                429, "this school's inbox is full for today; please call or text the hotline"
            )
        return JSONResponse({"id": added.id, "received": added.received}, status_code=201)

    async def my_schools(self, request: Request) -> Response:
        signed = await self._verify_staff(request)
        schools = [
            s.slug
            for s in self.deployment.schools
            if signed.verify_key in {r.ed25519 for r in self.deployment.recipients_for(s.slug)}
        ]
        if not schools:
            raise ApiError(403, "this key is not a recipient of any school")
        await self._use_nonce(signed)
        return JSONResponse({"schools": schools}, headers={"cache-control": "no-store"})

    async def list_envelopes(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        signed = await self._verify_staff(request)
        if self.deployment.school(slug) is None:
            raise ApiError(404, f"unknown school {slug[:64]!r}")
        allowed = {r.ed25519 for r in self.deployment.recipients_for(slug)}
        if signed.verify_key not in allowed:
            raise ApiError(403, "this key is not a recipient of this school")
        await self._use_nonce(signed)
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
        rows = await run_in_threadpool(self.store.list_envelopes, slug, after, limit + 1)
        return JSONResponse(
            {
                "envelopes": [
                    {
                        "seq": r.seq,
                        "id": r.id,
                        "received": r.received,
                        "envelope": json.loads(r.body),
                    }
                    for r in rows[:limit]
                ],
                "more": len(rows) > limit,
            },
            headers={"cache-control": "no-store"},
        )

    async def _verify_staff(self, request: Request) -> SignedRequest:
        """Check a staff request's signature; the caller authorises it, then spends its nonce."""
        body = await _read_body(request, 1024)
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        try:
            signed = verify_request(dict(request.headers), request.method, path, body)
        except SignatureError as exc:
            raise ApiError(401, f"unsigned or badly signed request: {exc}") from None
        return signed

    async def _use_nonce(self, signed: SignedRequest) -> None:
        expires = signed.timestamp + MAX_SKEW_SECONDS + 1
        fresh = await run_in_threadpool(
            self.store.use_nonce, signed.nonce, int(time.time()), expires
        )
        if not fresh:
            raise ApiError(401, "replayed request: this nonce was used before")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, f"'{name}' must be a whole number from {low} to {high}")
    return int(text)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        {"error": "the relay could not do this just now; nothing was stored; please try again"},
        status_code=500,
    )


class SecurityHeaders:
    """Headers on every answer; the strict student-page CSP on everything under /s/."""

    def __init__(self, app: ASGIApp, relay_url: str) -> None:
        self.app = app
        self.csp = header_policy(relay_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if path.startswith("/s/"):
                    headers.append((b"content-security-policy", self.csp.encode()))
                    headers.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
