"""The relay's HTTP application: keep ciphertext for cases, hand it to those allowed to read it.

The relay sees ciphertext only. It never writes the client address or user
agent anywhere (the address is used in memory, for flood limits), and keeps no
time finer than the UTC day a message arrived.

Who may do what (docs/PROTOCOL.md, "Relay API"):
- anyone may open a case (a student's report, or a staff training record), with
  a solved proof of work, within per-address limits;
- whoever holds a case's code may read that case and add to it;
- a school's recipients, with signed requests, read everything of their school,
  add replies and read receipts to its cases and staff-only notes beside them, and
  acknowledge what they hold and what a person has seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from quietdoor import protocol
from quietdoor.config import Deployment
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.signing import MAX_SKEW_SECONDS, SignatureError, SignedRequest, verify_request
from relay.addresses import AddressLimits
from relay.alerts import Alerter, run_escalation
from relay.directory import Directory
from relay.escalate import Planner
from relay.escalation_store import Opening, alert_facts, climbed, settle
from relay.headers import Edge
from relay.health import health
from relay.http import ApiError, int_param, parse_json, read_body, read_json, require_json
from relay.metrics import CONTENT_TYPE, Metrics
from relay.notify import Notifier, run_sender
from relay.openapi import openapi_document
from relay.proof import HEADER as PROOF_HEADER
from relay.proof import ProofError, Proofs, tries_for
from relay.retention import run_sweeper
from relay.static import PrecompressedStaticFiles
from relay.store import (
    Ack,
    Added,
    Author,
    Case,
    Message,
    NewMessage,
    Refused,
    SpentProof,
    SQLStore,
    Tx,
    Write,
    case_messages,
    count_today,
    find_case,
    pending_notices,
    record_ack,
    record_served,
    school_messages,
    secret,
    use_nonce,
    v2_since,
)
from relay.throttle import FailedCodes

log = logging.getLogger("relay")

MAX_PAGE = 200
CASE_HEADER = "x-qd-case"
CASE_V1_HEADER = "x-qd-case-v1"  # a version-1 case's id, looked up when the version-2 id is not
MAX_ACK = 2**53  # the largest whole number every JSON reader holds exactly
RETRY_SECONDS = 60  # Retry-After on a 429, unless the refusal knows better
NO_CASE = "no conversation matches this code"
TOO_MANY = "too many messages from this network just now; please wait a minute and try again"
VOLUME_FRESH = 5.0  # seconds a school's count is trusted before it is read again
FREE_UPDATES = 3  # a case's students' updates a UTC day without a proof of work


def create_app(
    deployment: Deployment,
    store: SQLStore,
    static_dir: Path | None = None,
    failed_codes: FailedCodes | None = None,
    notifier: Notifier | None = None,
    addresses: AddressLimits | None = None,
    clock: Callable[[], float] = time.time,
    metrics: Metrics | None = None,
) -> Starlette:
    """The relay; notices and retention run as background tasks while the app runs.

    `metrics` lets a caller that also runs the relay's background work itself (a test,
    stepping a ladder) see that work counted in /metrics."""
    notifier = notifier or Notifier(deployment)
    limits = deployment.relay
    addresses = addresses or AddressLimits(
        limits.address_burst, limits.address_per_minute, limits.trusted_proxies
    )
    metrics = metrics or Metrics()
    store.batch_sizes.append(metrics.batch_size.observe)
    relay = _Relay(
        deployment, store, failed_codes or FailedCodes(), notifier, addresses, metrics, clock
    )
    alerter = Alerter(relay.planner, notifier)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        readers = relay.directory.every_school_readers()
        sweeper = run_sweeper(store, limits.retention_days, readers, clock, stop)
        tasks = [asyncio.create_task(sweeper)]
        if notifier.active:
            tasks.append(asyncio.create_task(run_sender(notifier, store, clock, stop)))
        if alerter.planner.active:
            escalation = run_escalation(alerter, store, clock, stop, metrics)
            tasks.append(asyncio.create_task(escalation))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    routes: list[Route | Mount] = [
        # The busiest first: routes are tried in order.
        Route("/api/v1/cases", relay.open_case, methods=["POST"]),
        Route("/api/v1/challenge", relay.challenge, methods=["GET"]),
        Route("/api/openapi.json", relay.openapi, methods=["GET"]),
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
        Route("/api/v1/schools/{slug}/acks", relay.acknowledge, methods=["POST"]),
        Route("/api/v1/schools/{slug}/escalations", relay.escalations, methods=["GET"]),
        Route("/healthz", relay.healthz, methods=["GET"]),
        Route("/metrics", relay.metrics_text, methods=["GET"]),
    ]
    if static_dir is not None:
        routes.append(Mount("/", app=PrecompressedStaticFiles(directory=static_dir, html=True)))
    middleware = [
        Middleware(
            Edge,
            relay_url=deployment.relay_url,
            site_url=deployment.base_url,
            requests=metrics.requests,
            static_dir=static_dir,
        ),
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
        addresses: AddressLimits,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.deployment = deployment
        self.limits = deployment.relay
        self.directory = Directory(deployment)
        self.store = store
        self.failed_codes = failed_codes
        self.notifier = notifier
        self.planner = Planner(deployment)
        self.addresses = addresses
        self.metrics = metrics
        self.clock = clock
        self.proofs = Proofs(store.read(secret, "proof"), clock)
        self.openapi_text = openapi_document(deployment.schools[0].slug)
        # Each school's count today, as last seen: (day, count, when seen, monotonic).
        self._volumes: dict[str, tuple[str, int, float]] = {}
        since = date.fromisoformat(store.call("", v2_since, _today(clock)))
        days = self.limits.v1_accept_days
        self.v1_last_day = since + timedelta(days=days - 1) if days else None
        self._full_logged: set[tuple[str, str]] = set()

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.openapi_text)

    # --- students --------------------------------------------------------------

    async def challenge(self, request: Request) -> Response:
        """A proof-of-work challenge for a school, harder when the school is busy."""
        self._limit(request)
        school = request.query_params.get("school", "")
        if not protocol.SLUG_RE.fullmatch(school) or not self.directory.knows(school):
            raise ApiError(404, f"unknown school {school[:64]!r}")
        tries = await self._tries(school)
        busy = tries > self.limits.proof_of_work_tries
        loop = asyncio.get_running_loop()
        made = await loop.run_in_executor(None, self.proofs.challenge, school, tries, busy)
        return JSONResponse(made)

    async def open_case(self, request: Request) -> Response:
        self._limit(request)
        limits = self.limits
        raw = await read_json(request, limits.max_body_bytes)
        try:
            new = protocol.parse_new_case(raw)
        except protocol.ProtocolError as exc:
            raise ApiError(400, f"malformed case: {exc}") from None
        envelope = new.envelope
        self._known(envelope.school)
        self._check_version(envelope)
        case_key = self._check_keys(envelope, with_case_key=True)
        proof = await self._proof(request, envelope.school) if limits.proof_of_work else None
        case = Case(
            case_id=raw["case_id"],  # checked to be the canonical text of new.case_id
            school=envelope.school,
            auth_hash=new.auth_hash,
            case_key=b64u_encode(case_key),
        )
        first = self._message(envelope, raw["envelope"]["nonce"], case.case_id, "public", proof)
        notices = self.notifier.pending(case.school, datetime.now(UTC))
        urgent = (
            self.planner.escalation.urgent_hint
            and request.headers.get(protocol.URGENT_HEADER) == "1"
        )
        write = Write(
            first,
            limits.school_budget_bytes,
            notices,
            case,
            escalation=self._opening(case.school, urgent),
        )
        return _stored(await self._keep(write))

    async def read_case(self, request: Request) -> Response:
        case = await self._student_case(request)
        rows = await self.store.aread(case_messages, case.case_id)
        return JSONResponse(
            {
                "school": case.school,
                "case_id": case.case_id,
                "messages": [_case_row(m) for m in rows],
            },
        )

    async def add_to_case(self, request: Request) -> Response:
        self._limit(request)
        limits = self.limits
        case = await self._student_case(request)
        envelope = self._parse_envelope_json(await read_json(request, limits.max_body_bytes))
        self._check_case_message(envelope, case)
        # A student's later message needs a proof while the school is busy, and beyond the
        # case's FREE_UPDATES of the day (the store counts those in the write's transaction).
        proof, free = None, None
        if limits.proof_of_work:
            free = FREE_UPDATES
            if request.headers.get(PROOF_HEADER) or await self._busy(case.school):
                proof = await self._proof(request, case.school)
        message = self._message(
            envelope, b64u_encode(envelope.nonce), case.case_id, "student", proof
        )
        notices = self.notifier.pending(case.school, datetime.now(UTC))
        write = Write(
            message,
            limits.school_budget_bytes,
            notices,
            free_updates=free,
            escalation=self._opening(case.school, urgent=False),
        )
        return _stored(await self._keep(write))

    def _opening(self, school: str, urgent: bool) -> Opening | None:
        """A student's message opens the school's escalation, if the school has a ladder."""
        if self.planner.ladder(school) is None:
            return None
        return Opening(school, self.planner.window_end(self.clock()), urgent)

    async def _student_case(self, request: Request) -> Case:
        """The case whose code the request proves; one answer for every way of being wrong.

        The version-2 id (X-QD-Case) is looked up first, then the version-1 id
        (X-QD-Case-V1, optional), and the token is checked against whichever exists: a
        miss is one wrong try. An expired conversation is gone from the store, so its
        code gets this answer too. Saturation changes nothing a client sees but the wait.
        """
        case_text = request.headers.get(CASE_HEADER, "")
        case = await self._find_student_case(request, case_text)
        if case is not None:
            return case
        delay = self.failed_codes.failure_delay(case_text[:32])
        if delay:
            self.failed_codes.waiting += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.failed_codes.waiting -= 1
        raise ApiError(404, NO_CASE)

    async def _find_student_case(self, request: Request, case_text: str) -> Case | None:
        """The case one of the request's ids names, if its token matches; else None."""
        scheme, _, token_text = request.headers.get("authorization", "").partition(" ")
        try:
            token = b64u_decode(token_text)
        except ValueError:
            return None
        if scheme != "Bearer" or len(token) != 32:
            return None
        for text in (case_text, request.headers.get(CASE_V1_HEADER, "")):
            try:
                well_formed = len(b64u_decode(text)) == protocol.CASE_ID_BYTES
            except ValueError:
                well_formed = False
            case = await self.store.aread(find_case, text) if well_formed else None
            if case is not None:
                return case if protocol.auth_matches(token, case.auth_hash) else None
        return None

    def _limit(self, request: Request) -> None:
        """Per-address friction, before the body is read: a flood gets a cheap 429."""
        wait = self.addresses.wait(request.scope)
        if wait:
            raise ApiError(429, TOO_MANY, retry_after=math.ceil(wait))

    async def _proof(self, request: Request, school: str) -> SpentProof:
        fewest = await self._tries(school)  # while busy, a normal challenge is too easy
        try:
            return self.proofs.check(request.headers.get(PROOF_HEADER), school, fewest)
        except ProofError as exc:
            raise ApiError(428, f"proof of work needed: {exc}") from None

    # --- how busy a school is ----------------------------------------------------

    async def _count(self, school: str) -> int:
        day = _today(self.clock)
        seen = self._volumes.get(school)
        if seen is not None and seen[0] == day and time.monotonic() - seen[2] < VOLUME_FRESH:
            return seen[1]
        count = await self.store.aread(count_today, school, day)
        self._note_volume(school, day, count)
        return count

    async def _tries(self, school: str) -> int:
        limits = self.limits
        count = await self._count(school)
        return tries_for(count, limits.normal_daily_per_school, limits.proof_of_work_tries)

    async def _busy(self, school: str) -> bool:
        return await self._count(school) > self.limits.normal_daily_per_school

    def _note_volume(self, school: str, day: str, count: int) -> None:
        """Remember a school's count; log when it turns busy, and when it passes the quota.

        Events, not requests: a line a school a day at most for each, so the log does not
        time a student's visit.
        """
        limits = self.limits
        before = self._volumes.get(school)
        self._volumes[school] = (day, count, time.monotonic())
        old = before[1] if before is not None and before[0] == day else 0
        if old <= limits.normal_daily_per_school < count:
            tries = tries_for(count, limits.normal_daily_per_school, limits.proof_of_work_tries)
            log.warning(
                "school %s is busier than normal: challenges now ask for up to %d tries",
                school,
                tries,
                extra={"event": "difficulty", "school": school, "tries": tries},
            )
        if old <= limits.daily_quota_per_school < count:
            log.warning(
                "school %s passed its daily quota: a flood is likely; still accepting at busy "
                "difficulty",
                school,
                extra={"event": "quota", "school": school},
            )

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
        await self._note_served(request, slug, [m.seq for m in rows[:limit]])
        return JSONResponse(
            {"messages": [_school_row(m) for m in rows[:limit]], "more": len(rows) > limit}
        )

    async def staff_to_case(self, request: Request) -> Response:
        slug = await self._staff_school(request, body_limit=self.limits.max_body_bytes)
        case = await self.store.aread(find_case, request.path_params["case_id"])
        if case is None or case.school != slug:
            raise ApiError(404, "this school has no case with this id")
        envelope = self._parse_envelope_json(parse_json(request.state.body))
        self._check_case_message(envelope, case)
        message = self._message(envelope, b64u_encode(envelope.nonce), case.case_id, "staff")
        added = await self._keep(Write(message, None))
        return _stored(added)

    async def staff_note(self, request: Request) -> Response:
        slug = await self._staff_school(request, body_limit=self.limits.max_body_bytes)
        envelope = self._parse_envelope_json(parse_json(request.state.body))
        if envelope.school != slug:
            raise ApiError(422, "the envelope names another school than the path")
        self._check_keys(envelope, with_case_key=False)
        note = self._message(envelope, b64u_encode(envelope.nonce), None, "staff")
        added = await self._keep(Write(note, None))
        return _stored(added)

    # --- acknowledgments ---------------------------------------------------------

    async def _note_served(self, request: Request, slug: str, cursors: list[int]) -> None:
        """Remember the highest cursor served to this reader: acks are capped at it."""
        reader = self.directory.recipient_of(request.state.signer)
        if cursors and reader is not None:
            await self.store.awrite(slug, record_served, slug, reader, max(cursors))

    async def acknowledge(self, request: Request) -> Response:
        """A recipient says what it holds (`held`) and what a person has seen (`seen`)."""
        slug = await self._staff_school(request, body_limit=1024)
        ack = _parse_ack(parse_json(request.state.body))
        reader = self.directory.recipient_of(request.state.signer)
        if reader is None:  # a school's signer is always a recipient; kept for the type
            raise ApiError(403, "this key is not a recipient of this school")
        readers = self.directory.readers(slug)
        resolve_at = self.planner.window_end(self.clock())
        held, seen = await self.store.awrite(
            slug, _acknowledge, slug, reader, ack, readers, _today(self.clock), resolve_at
        )
        return JSONResponse({"held": held, "seen": seen})

    async def escalations(self, request: Request) -> Response:
        """How many of the school's escalations climbed past its first tier, by month."""
        slug = await self._staff_school(request)
        return JSONResponse({"climbed": await self.store.aread(climbed, slug)})

    async def _staff_school(self, request: Request, body_limit: int = 0) -> str:
        """Check a signed request for the school in its path; the body is kept in request.state."""
        slug = request.path_params["slug"]
        signed = await self._verify_staff(request, body_limit)
        if not self.directory.knows(slug):
            raise ApiError(404, f"unknown school {slug[:64]!r}")
        if signed.verify_key not in self.directory.keys(slug).signers:
            raise ApiError(403, "this key is not a recipient of this school")
        await self._use_nonce(signed)
        request.state.signer = signed.verify_key
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
        fresh = await self.store.awrite("", use_nonce, signed.nonce, int(self.clock()), expires)
        if not fresh:
            raise ApiError(401, "replayed request: this nonce was used before")

    # --- for operators -----------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        readers = self.directory.every_school_readers()
        limits = self.limits
        status, answer = await health(
            self.store, limits.retention_days, self.clock(), readers, limits.school_budget_bytes
        )
        return JSONResponse(answer, status_code=status)

    async def metrics_text(self, request: Request) -> Response:
        metrics, limits = self.metrics, self.limits
        metrics.pending_notices.set(await self.store.aread(pending_notices))
        metrics.alerts_waiting.set((await self.store.aread(alert_facts))[0])
        day = _today(self.clock)
        counts = [count for seen_day, count, _ in self._volumes.values() if seen_day == day]
        normal, base = limits.normal_daily_per_school, limits.proof_of_work_tries
        metrics.difficulty.set(tries_for(max(counts, default=0), normal, base))
        metrics.busy_schools.set(sum(c > normal for c in counts))
        return Response(metrics.text(), media_type=CONTENT_TYPE)

    # --- envelopes -------------------------------------------------------------

    def _parse_envelope_json(self, raw: Any) -> protocol.Envelope:
        try:
            envelope = protocol.parse_envelope(raw)
        except protocol.ProtocolError as exc:
            raise ApiError(400, f"malformed envelope: {exc}") from None
        self._known(envelope.school)
        self._check_version(envelope)
        return envelope

    def _check_version(self, envelope: protocol.Envelope) -> None:
        """Version 1 only for `[relay] v1_accept_days` from the day this relay first ran 2."""
        if envelope.version == 1 and (
            self.v1_last_day is None or date.fromisoformat(_today(self.clock)) > self.v1_last_day
        ):
            raise ApiError(
                422,
                "version 1 is no longer accepted: reload the page, or upgrade the key tool",
            )

    def _known(self, school: str) -> None:
        if not self.directory.knows(school):
            raise ApiError(404, f"unknown school {school!r}")

    def _check_keys(self, envelope: protocol.Envelope, *, with_case_key: bool) -> bytes:
        """Sealed to each recipient of the school once, plus (for a case) one more key.

        Each recipient once: to their current key, or to a previous key the config
        still accepts today (a rotation's overlap), never to both. The relay cannot
        tell whose the extra key is: it is the case's own, derived from the code,
        and only the first message's readers learn it. Returns it.
        """
        self._known(envelope.school)
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
        self,
        envelope: protocol.Envelope,
        nonce: str,
        case_id: str | None,
        author: Author,
        proof: SpentProof | None = None,
    ) -> NewMessage:
        return NewMessage(
            school=envelope.school,
            case_id=case_id,
            author=author,
            nonce=nonce,
            body=envelope.canonical(),
            day=_today(self.clock),
            proof=proof,
        )

    async def _keep(self, write: Write) -> Added:
        school = write.message.school
        started = time.perf_counter()
        try:
            added = await self.store.keep(write)
        except Refused as exc:
            if exc.status == 507:
                self._full(school)
                raise ApiError(507, str(exc), full=True) from None
            raise ApiError(exc.status, str(exc)) from None
        finally:
            self.metrics.write_seconds.observe(time.perf_counter() - started)
        if added.counted is not None:
            self._note_volume(school, added.received, added.counted)
        return added

    def _full(self, school: str) -> None:
        """Count a refusal at the storage budget; log the first of a school's day."""
        self.metrics.budget_refusals.inc()
        # One line per school and day: a log line per refused post would time a student's visit.
        day = _today(self.clock)
        if (school, day) not in self._full_logged:
            self._full_logged = {k for k in self._full_logged if k[1] == day}
            self._full_logged.add((school, day))
            log.warning(
                "school %s reached its storage budget: new cases and updates are refused",
                school,
                extra={"event": "budget", "school": school},
            )


def _parse_ack(raw: Any) -> Ack:
    """{"held": N} or {"seen": N} or both, whole numbers from 0 to 2^53."""
    if not isinstance(raw, dict) or not raw or set(raw) - {"held", "seen"}:
        raise ApiError(400, "an acknowledgment is an object with 'held', 'seen' or both")
    for name, value in raw.items():
        if type(value) is not int or not 0 <= value <= MAX_ACK:
            raise ApiError(400, f"'{name}' must be a whole number from 0 to 2^53")
    return Ack(held=raw.get("held"), seen=raw.get("seen"))


def _acknowledge(
    tx: Tx,
    school: str,
    reader: str,
    ack: Ack,
    readers: Sequence[str],
    day: str,
    resolve_at: int,
) -> tuple[int, int]:
    """Record an acknowledgment; a `seen` covering the school's escalation closes it."""
    held, seen = record_ack(tx, school, reader, ack, readers, day)
    if ack.seen is not None:
        settle(tx, school, seen, resolve_at)
    return held, seen


def _today(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).date().isoformat()


def _stored(added: Added) -> Response:
    """201 for a new message; 200 and the first answer for a retry of the same envelope."""
    # Both values are ours (24 hex digits, a YYYY-MM-DD day): nothing to escape.
    body = b'{"id":"%s","received":"%s"}' % (added.id.encode(), added.received.encode())
    return Response(body, status_code=200 if added.duplicate else 201, media_type=JSON)


JSON = "application/json"


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
    body: dict[str, Any] = {"error": exc.message}
    if exc.full:
        body["full"] = True
    wait = exc.retry_after or (RETRY_SECONDS if exc.status == 429 else 0)
    headers = {"Retry-After": str(wait)} if wait else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


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
    log.error(
        "internal error in %s: %s",
        endpoint,
        type(exc).__name__,
        extra={"event": "error", "reason": type(exc).__name__},
    )
    return JSONResponse(
        {"error": "the relay could not do this just now; nothing was stored; please try again"},
        status_code=500,
    )
