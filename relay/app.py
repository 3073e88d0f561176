"""The relay's HTTP application: keep ciphertext for cases, hand it to those allowed to read it.

The relay sees ciphertext only. It never reads or logs the client address or
user agent, and keeps no time finer than the UTC day a message arrived.

Who may do what (docs/PROTOCOL.md, "Relay API"):
- anyone may open a case (a student's report, or a staff training record);
- whoever holds a case's code may read that case and add to it;
- a school's recipients, with signed requests, read everything of their school,
  and add replies and read receipts to its cases and staff-only notes beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from quietdoor import protocol
from quietdoor.config import Deployment
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.signing import MAX_SKEW_SECONDS, SignatureError, SignedRequest, verify_request
from relay.directory import Directory
from relay.headers import SecurityHeaders
from relay.http import ApiError, int_param, parse_json, read_body, read_json, require_json
from relay.notify import Notifier, run_sender
from relay.openapi import openapi_document
from relay.static import PrecompressedStaticFiles
from relay.store import (
    Added,
    Author,
    Case,
    Message,
    NewMessage,
    Refused,
    SQLStore,
    add_message,
    case_messages,
    find_case,
    open_case,
    school_messages,
    use_nonce,
)
from relay.throttle import FailedCodes

log = logging.getLogger("relay")

MAX_PAGE = 200
CASE_HEADER = "x-qd-case"
NO_CASE = "no conversation matches this code"


def create_app(
    deployment: Deployment,
    store: SQLStore,
    static_dir: Path | None = None,
    failed_codes: FailedCodes | None = None,
    notifier: Notifier | None = None,
) -> Starlette:
    """The relay; notices go out from a background task while the app runs (its lifespan)."""
    notifier = notifier or Notifier(deployment)
    relay = _Relay(deployment, store, failed_codes or FailedCodes(), notifier)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        sender = None
        if notifier.active:
            sender = asyncio.create_task(run_sender(notifier, store, time.time, stop))
        try:
            yield
        finally:
            stop.set()
            if sender is not None:
                await sender

    routes: list[Route | Mount] = [
        Route("/api/openapi.json", relay.openapi, methods=["GET"]),
        Route("/api/v1/cases", relay.open_case, methods=["POST"]),
        Route("/api/v1/case", relay.read_case, methods=["GET"]),
        Route("/api/v1/case/messages", relay.add_to_case, methods=["POST"]),
        Route("/api/v1/schools", relay.my_schools, methods=["GET"]),
        Route("/api/v1/schools/{slug}/messages", relay.list_messages, methods=["GET"]),
        Route(
            "/api/v1/schools/{slug}/cases/{case_id}/messages",
            relay.staff_to_case,
            methods=["POST"],
        ),
        Route("/api/v1/schools/{slug}/notes", relay.staff_note, methods=["POST"]),
    ]
    if static_dir is not None:
        routes.append(Mount("/", app=PrecompressedStaticFiles(directory=static_dir, html=True)))
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=[_origin(deployment.base_url)],
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "authorization", CASE_HEADER],
            max_age=3600,
        ),
        Middleware(SecurityHeaders, relay_url=deployment.relay_url, static_dir=static_dir),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )


class _Relay:
    def __init__(
        self,
        deployment: Deployment,
        store: SQLStore,
        failed_codes: FailedCodes,
        notifier: Notifier,
    ) -> None:
        self.deployment = deployment
        self.directory = Directory(deployment)
        self.store = store
        self.failed_codes = failed_codes
        self.notifier = notifier
        self._quota_warned: set[tuple[str, str]] = set()

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    # --- students --------------------------------------------------------------

    async def open_case(self, request: Request) -> Response:
        limits = self.deployment.relay
        try:
            new = protocol.parse_new_case(await read_json(request, limits.max_body_bytes))
        except protocol.ProtocolError as exc:
            raise ApiError(400, f"malformed case: {exc}") from None
        envelope = new.envelope
        case_key = self._check_keys(envelope, with_case_key=True)
        case = Case(
            case_id=b64u_encode(new.case_id),
            school=envelope.school,
            auth_hash=new.auth_hash,
            case_key=b64u_encode(case_key),
        )
        first = self._message(envelope, case.case_id, "public")
        added = await self._write(
            case.school,
            open_case,
            case,
            first,
            limits.daily_quota_per_school,
            self.notifier.pending(case.school, datetime.now(UTC)),
        )
        return _stored(added)

    async def read_case(self, request: Request) -> Response:
        case = await self._student_case(request)
        rows = await self.store.aread(case_messages, case.case_id)
        return JSONResponse(
            {"school": case.school, "messages": [_case_row(m) for m in rows]},
        )

    async def add_to_case(self, request: Request) -> Response:
        limits = self.deployment.relay
        case = await self._student_case(request)
        envelope = await self._envelope(request, limits.max_body_bytes)
        self._check_case_message(envelope, case)
        message = self._message(envelope, case.case_id, "student")
        added = await self._write(
            case.school,
            add_message,
            message,
            limits.daily_quota_per_school,
            self.notifier.pending(case.school, datetime.now(UTC)),
        )
        return _stored(added)

    async def _student_case(self, request: Request) -> Case:
        """The case whose code the request proves; one answer for every way of being wrong."""
        case_text = request.headers.get(CASE_HEADER, "")
        scheme, _, token_text = request.headers.get("authorization", "").partition(" ")
        try:
            case_id = b64u_decode(case_text)
            token = b64u_decode(token_text)
        except ValueError:
            case_id = token = b""
        case = None
        if len(case_id) == protocol.CASE_ID_BYTES and scheme == "Bearer" and len(token) == 32:
            case = await self.store.aread(find_case, case_text)
        if case is not None and protocol.auth_matches(token, case.auth_hash):
            return case
        delay = self.failed_codes.failure_delay(case_text[:32])
        if delay is None:
            raise ApiError(429, "too many wrong codes just now; wait a minute and try again")
        if delay:
            self.failed_codes.waiting += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.failed_codes.waiting -= 1
        raise ApiError(404, NO_CASE)

    # --- staff -----------------------------------------------------------------

    async def my_schools(self, request: Request) -> Response:
        signed = await self._verify_staff(request)
        schools = self.directory.schools_of(signed.verify_key)
        if not schools:
            raise ApiError(403, "this key is not a recipient of any school")
        await self._use_nonce(signed)
        return JSONResponse({"schools": list(schools)})

    async def list_messages(self, request: Request) -> Response:
        slug = await self._staff_school(request)
        after = int_param(request, "after", 0, 0, 2**62)
        limit = int_param(request, "limit", 100, 1, MAX_PAGE)
        rows = await self.store.aread(school_messages, slug, after, limit + 1)
        return JSONResponse(
            {"messages": [_school_row(m) for m in rows[:limit]], "more": len(rows) > limit}
        )

    async def staff_to_case(self, request: Request) -> Response:
        slug = await self._staff_school(request, body_limit=self.deployment.relay.max_body_bytes)
        case = await self.store.aread(find_case, request.path_params["case_id"])
        if case is None or case.school != slug:
            raise ApiError(404, "this school has no case with this id")
        envelope = self._parse_envelope(request.state.body)
        self._check_case_message(envelope, case)
        message = self._message(envelope, case.case_id, "staff")
        added = await self._write(slug, add_message, message, None)
        return _stored(added)

    async def staff_note(self, request: Request) -> Response:
        slug = await self._staff_school(request, body_limit=self.deployment.relay.max_body_bytes)
        envelope = self._parse_envelope(request.state.body)
        if envelope.school != slug:
            raise ApiError(422, "the envelope names another school than the path")
        self._check_keys(envelope, with_case_key=False)
        added = await self._write(slug, add_message, self._message(envelope, None, "staff"), None)
        return _stored(added)

    async def _staff_school(self, request: Request, body_limit: int = 0) -> str:
        """Check a signed request for the school in its path; the body is kept in request.state."""
        slug = request.path_params["slug"]
        signed = await self._verify_staff(request, body_limit)
        if not self.directory.knows(slug):
            raise ApiError(404, f"unknown school {slug[:64]!r}")
        if signed.verify_key not in self.directory.keys(slug).signers:
            raise ApiError(403, "this key is not a recipient of this school")
        await self._use_nonce(signed)
        return str(slug)

    async def _verify_staff(self, request: Request, body_limit: int = 0) -> SignedRequest:
        """Check a staff request's signature; the caller authorises it, then spends its nonce."""
        if body_limit:
            require_json(request)
        body = await read_body(request, body_limit or 1024)
        request.state.body = body
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        try:
            return verify_request(dict(request.headers), request.method, path, body)
        except SignatureError as exc:
            raise ApiError(401, f"unsigned or badly signed request: {exc}") from None

    async def _use_nonce(self, signed: SignedRequest) -> None:
        expires = signed.timestamp + MAX_SKEW_SECONDS + 1
        fresh = await self.store.awrite("", use_nonce, signed.nonce, int(time.time()), expires)
        if not fresh:
            raise ApiError(401, "replayed request: this nonce was used before")

    # --- envelopes -------------------------------------------------------------

    async def _envelope(self, request: Request, limit: int) -> protocol.Envelope:
        return self._parse_envelope_json(await read_json(request, limit))

    def _parse_envelope(self, body: bytes) -> protocol.Envelope:
        return self._parse_envelope_json(parse_json(body))

    def _parse_envelope_json(self, raw: Any) -> protocol.Envelope:
        try:
            envelope = protocol.parse_envelope(raw)
        except protocol.ProtocolError as exc:
            raise ApiError(400, f"malformed envelope: {exc}") from None
        if not self.directory.knows(envelope.school):
            raise ApiError(404, f"unknown school {envelope.school!r}")
        return envelope

    def _check_keys(self, envelope: protocol.Envelope, *, with_case_key: bool) -> bytes:
        """Sealed to each recipient of the school once, plus (for a case) one more key.

        Each recipient once: to their current key, or to a previous key the config
        still accepts today (a rotation's overlap), never to both. The relay cannot
        tell whose the extra key is: it is the case's own, derived from the code,
        and only the first message's readers learn it. Returns it.
        """
        if not self.directory.knows(envelope.school):
            raise ApiError(404, f"unknown school {envelope.school!r}")
        today = datetime.now(UTC).date()
        accepted = self.directory.keys(envelope.school).accepted(today)
        sealed_to = {k.to for k in envelope.keys}
        extra = sealed_to.difference(*accepted)
        if any(len(keys & sealed_to) != 1 for keys in accepted) or len(extra) != (
            1 if with_case_key else 0
        ):
            raise ApiError(
                422,
                "the envelope is not sealed to this school's current recipients; reload the page",
            )
        return extra.pop() if extra else b""

    def _check_case_message(self, envelope: protocol.Envelope, case: Case) -> None:
        if envelope.school != case.school:
            raise ApiError(422, "the envelope names another school than the case")
        if b64u_encode(self._check_keys(envelope, with_case_key=True)) != case.case_key:
            raise ApiError(422, "the envelope is not sealed to this case's key")

    def _message(
        self, envelope: protocol.Envelope, case_id: str | None, author: Author
    ) -> NewMessage:
        return NewMessage(
            school=envelope.school,
            case_id=case_id,
            author=author,
            nonce=b64u_encode(envelope.nonce),
            body=envelope.canonical(),
            day=datetime.now(UTC).date().isoformat(),
        )

    async def _write(self, school: str, job: Callable[..., Added], *args: Any) -> Added:
        try:
            return await self.store.awrite(school, job, *args)
        except Refused as exc:
            if exc.status == 429:
                self._warn_quota_once(school)
            raise ApiError(exc.status, str(exc)) from None

    def _warn_quota_once(self, school: str) -> None:
        # One line per school and day: a log line per refused post would time a student's visit.
        day = datetime.now(UTC).date().isoformat()
        if (school, day) not in self._quota_warned:
            self._quota_warned = {k for k in self._quota_warned if k[1] == day}
            self._quota_warned.add((school, day))
            log.warning("daily quota reached for school %s", school)


def _stored(added: Added) -> Response:
    """201 for a new message; 200 and the first answer for a retry of the same envelope."""
    body = {"id": added.id, "received": added.received}
    return JSONResponse(body, status_code=200 if added.duplicate else 201)


def _case_row(m: Message) -> dict[str, Any]:
    return {"id": m.id, "received": m.received, "author": m.author, "envelope": json.loads(m.body)}


def _school_row(m: Message) -> dict[str, Any]:
    return {
        "cursor": m.seq,
        "id": m.id,
        "received": m.received,
        "case_id": m.case_id,
        "author": m.author,
        "envelope": json.loads(m.body),
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return Response(
        exc.detail, status_code=exc.status_code, media_type="text/plain", headers=exc.headers
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    # The endpoint's name, not the path: a staff path holds a case id, which no log may keep.
    endpoint = getattr(request.scope.get("endpoint"), "__name__", "static")
    log.error("internal error in %s: %s", endpoint, type(exc).__name__)
    return JSONResponse(
        {"error": "the relay could not do this just now; nothing was stored; please try again"},
        status_code=500,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
