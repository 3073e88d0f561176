"""The desk's pages: unlock, the inbox, a case (thread, reply, status and notes), lock.

Every page works without JavaScript; desk.js keeps the "last checked" line
current, says when new messages have arrived, and sends the read receipt when a
case is opened. No GET changes anything: each change is a form POST (the receipt
too: desk.js posts the case page's receipt form, or the lead presses its button)
answered with a redirect, so a reload never sends anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from keytool.cases import Case
from keytool.desk.guard import COOKIE, OPEN_PATH, Guard, session_cookie
from keytool.desk.runtime import DeskRuntime
from keytool.desk.views import (
    DISPOSITION_LABELS,
    OTHER_CASES,
    STATUS_LABELS,
    case_view,
    inbox_rows,
)
from keytool.errors import KeyToolError
from keytool.inbox import Inbox
from keytool.send import send_note, send_receipt, send_reply
from keytool.session import Session
from keytool.stats import compute
from keytool.stats_report import rows
from quietdoor.clock import Clock

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 256 * 1024  # a reply or note of 20,000 characters, with room
MAX_SEEN_FIELDS = 2048  # one per school a district lead reads, with room
DONE = {
    "reply": "Your reply was sent. The student reads it with their case code.",
    "status": "Saved for the team. Your colleagues see it after their next check.",
    "locked": "The desk is locked: your keys are no longer in memory here.",
    "receipt": "The student can now see that the school read this.",
}
IDLE_LOCKED = "The desk locked itself after {} without use: your keys are no longer in memory here."


def create_desk(
    runtime: DeskRuntime, host: str, port: int, *, peer_ok: Callable[[Scope], bool] | None
) -> Starlette:
    """The desk's app for `host:port`; `peer_ok` refuses other users' connections (Linux)."""
    desk = _Desk(runtime)
    routes: list[Route | Mount] = [
        Route(OPEN_PATH, desk.open_link, methods=["GET"]),
        Route("/", desk.home, methods=["GET"]),
        Route("/unlock", desk.unlock, methods=["POST"]),
        Route("/lock", desk.lock, methods=["POST"]),
        Route("/check", desk.check, methods=["POST"]),
        Route("/seen", desk.seen, methods=["POST"]),
        Route("/status", desk.status, methods=["GET"]),
        Route("/stats", desk.stats, methods=["GET"]),
        Route("/case/{ref:str}", desk.case, methods=["GET"]),
        Route("/case/{ref:str}/receipt", desk.receipt, methods=["POST"]),
        Route("/case/{ref:str}/reply", desk.reply, methods=["POST"]),
        Route("/case/{ref:str}/status", desk.set_status, methods=["POST"]),
        Route("/favicon.ico", desk.icon, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(runtime.fetch_forever()),
            asyncio.create_task(runtime.lock_when_idle()),
            asyncio.create_task(runtime.drop_link_file_later()),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            runtime.lock()
            runtime.drop_link_file()

    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, runtime=runtime, host=host, port=port, peer_ok=peer_ok)],
        lifespan=lifespan,
    )


class _Desk:
    def __init__(self, runtime: DeskRuntime) -> None:
        self.runtime = runtime
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)
        self.receipts = asyncio.Lock()  # two tabs opening one case send one receipt

    # --- coming in and leaving -------------------------------------------------------

    async def open_link(self, request: Request) -> Response:
        if self.runtime.cookie_ok(request.cookies.get(COOKIE)):
            return RedirectResponse("/", status_code=303)
        if not self.runtime.spend_link(request.query_params.get("key", "")):
            return self.refused(request)
        answer = RedirectResponse("/", status_code=303)
        answer.headers["set-cookie"] = session_cookie(self.runtime)
        return answer

    async def icon(self, request: Request) -> Response:
        return FileResponse(HERE / "static" / "icon.svg", media_type="image/svg+xml")

    async def home(self, request: Request) -> Response:
        session = self.runtime.session
        if session is None:
            done = DONE.get(request.query_params.get("done", ""), "")
            if self.runtime.idle_locked:
                minutes = round(self.runtime.idle_seconds / 60)
                done = IDLE_LOCKED.format(f"{minutes} minute{'s' if minutes != 1 else ''}")
            return self.page(request, "unlock.html.j2", {"error": "", "done": done})
        school = request.query_params.get("school", "")
        # Before reading, and only the schools shown: `seen` claims no more than the page.
        held = await asyncio.to_thread(session.held, school or None)
        inbox = await asyncio.to_thread(session.read)
        clock = Clock(session.colleagues.deployment)
        schools = sorted({c.school for c in inbox.cases})
        shown = _shown(request.query_params.get("shown", ""))
        rows = inbox_rows(inbox, session.colleagues, clock, school, shown)
        listed = sum(1 for c in inbox.cases if not school or c.school == school)
        return self.page(
            request,
            "inbox.html.j2",
            {
                "rows": rows,
                "hidden": listed - len(rows),
                "more": shown + OTHER_CASES,
                "schools": [(s, session.colleagues.school_name(s)) for s in schools],
                "school": school,
                "zones": clock.zones_line([s for s in schools if not school or s == school]),
                "unreadable": len(inbox.unreadable),
                "warnings": len(inbox.warnings),
                "held": sorted(held.items()),
            },
        )

    async def seen(self, request: Request) -> Response:
        """A person has the inbox page before them: tell the relay what it showed (`seen`).

        The page posts its form as it opens (desk.js); its cursors were taken when the
        page was made, so a fetch since then is not claimed. Schools and cursors the
        form names are kept only where they match this tool's own, and never above it.
        """
        form = await self.form(request, max_fields=MAX_SEEN_FIELDS)
        session = self.runtime.session
        if session is None:
            return RedirectResponse("/", status_code=303)
        held = await asyncio.to_thread(session.held)
        shown = {}
        for school, now in held.items():
            value = str(form.get(f"seen-{school}", ""))
            if value.isascii() and value.isdigit() and len(value) <= 18:
                shown[school] = min(int(value), now)
        await asyncio.to_thread(session.acknowledge_seen, shown)
        return RedirectResponse("/?done=seen", status_code=303)

    async def unlock(self, request: Request) -> Response:
        form = await self.form(request)
        passphrase = str(form.get("passphrase", ""))
        try:
            await asyncio.to_thread(self.runtime.unlock, passphrase)
        except KeyToolError as exc:
            error = (
                "That passphrase does not open these keys. Try again."
                if "wrong passphrase" in str(exc)
                else str(exc)
            )
            return self.page(request, "unlock.html.j2", {"error": error, "done": ""}, status=401)
        self.runtime.wake()
        return RedirectResponse("/", status_code=303)

    async def lock(self, request: Request) -> Response:
        self.runtime.lock()
        return RedirectResponse("/?done=locked", status_code=303)

    async def check(self, request: Request) -> Response:
        self.runtime.wake()
        return RedirectResponse("/", status_code=303)

    async def status(self, request: Request) -> Response:
        checked = self.runtime.checked
        return JSONResponse(
            {
                "unlocked": self.runtime.session is not None,
                "checking": self.runtime.checking,
                "fetches": self.runtime.fetches,
                "last_checked": self.checked_at(),
                "new": checked.new if checked else 0,
                "error": checked.error if checked else "",
            }
        )

    # --- a case ----------------------------------------------------------------------

    async def stats(self, request: Request) -> Response:
        """The lead's numbers for the last twelve months: reports, minutes to the first look,
        and escalations past the first tier (the relay's count)."""
        session = self.runtime.session
        if session is None:
            return RedirectResponse("/", status_code=303)
        inbox = await asyncio.to_thread(session.read)
        schools = session.colleagues.schools_of(session.identity.recipient)
        climbed, warnings = await asyncio.to_thread(session.climbed, schools)
        clock = Clock(session.colleagues.deployment)
        start = clock.today.replace(day=1) - timedelta(days=335)
        numbers = compute(inbox.cases, schools, start.replace(day=1), clock.today, clock, climbed)
        every = rows(numbers, session.colleagues.school_name)
        tables = [
            (session.colleagues.school_name(slug), [r for r in every if r["school_slug"] == slug])
            for slug in numbers.schools
        ]
        zones = clock.zones_line(list(numbers.schools))
        context = {"tables": tables, "warnings": warnings, "zones": zones}
        return self.page(request, "stats.html.j2", context)

    async def case(self, request: Request) -> Response:
        found = await self.opened(request)
        if isinstance(found, Response):
            return found
        session, case = found
        return self.case_page(request, session, case)

    async def receipt(self, request: Request) -> Response:
        """Tell the student the school read the case, if no receipt follows their last message."""
        async with self.receipts:
            found = await self.opened(request)
            if isinstance(found, Response):
                return found
            session, case = found
            if case.needs_receipt() and session.colleagues.deployment is not None:
                try:
                    await asyncio.to_thread(self.send_receipt, session, case)
                except KeyToolError as exc:
                    notice = f"The student has not been told yet that the school read this: {exc}"
                    return self.case_page(request, session, case, notice=notice, status=502)
        return RedirectResponse(f"/case/{case.ref}?done=receipt", status_code=303)

    async def reply(self, request: Request) -> Response:
        form = await self.form(request)
        found = await self.opened(request)
        if isinstance(found, Response):
            return found
        session, case = found
        text = str(form.get("text", ""))
        try:
            await asyncio.to_thread(self.send_reply, session, case, text)
        except KeyToolError as exc:
            return self.case_page(request, session, case, error=str(exc), draft=text, status=400)
        return RedirectResponse(f"/case/{case.ref}?done=reply#thread-end", status_code=303)

    async def set_status(self, request: Request) -> Response:
        form = await self.form(request)
        found = await self.opened(request)
        if isinstance(found, Response):
            return found
        session, case = found
        values = {k: str(form.get(k, "")) for k in ("status", "disposition", "note")}
        try:
            await asyncio.to_thread(self.send_note, session, case, values)
        except KeyToolError as exc:
            return self.case_page(
                request, session, case, error=str(exc), note_form=values, status=400
            )
        return RedirectResponse(f"/case/{case.ref}?done=status#team", status_code=303)

    # --- helpers ---------------------------------------------------------------------

    def case_page(
        self,
        request: Request,
        session: Session,
        case: Case,
        *,
        notice: str = "",
        error: str = "",
        draft: str = "",
        note_form: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        clock = Clock(session.colleagues.deployment)
        view = case_view(case, session.colleagues, clock)
        due = case.needs_receipt() and session.colleagues.deployment is not None
        form = note_form or {
            "status": view.status_code,
            "disposition": view.outcome_code,
            "note": "",
        }
        return self.page(
            request,
            "case.html.j2",
            {
                "case": view,
                "zones": clock.zones_line([case.school]),
                "receipt_due": due,
                "notice": notice,
                "error": error,
                "draft": draft,
                "note_form": form,
                "done": DONE.get(request.query_params.get("done", ""), ""),
                "statuses": list(STATUS_LABELS.items()),
                "dispositions": list(DISPOSITION_LABELS.items()),
            },
            status=status,
        )

    def page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        session = self.runtime.session
        checked = self.runtime.checked
        context |= {
            "me": session.identity.recipient.name if session else "",
            "unlocked": session is not None,
            "checked": checked,
            "checked_at": self.checked_at(),
            "checking": self.runtime.checking,
            "fetches": self.runtime.fetches,
            "no_config": session is not None and session.colleagues.deployment is None,
        }
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def refused(self, request: Request) -> Response:
        """The spent link's page: it says nothing of the desk's state or who unlocked it."""
        context = {"me": "", "unlocked": False, "checked": None, "checked_at": ""}
        context |= {"checking": False, "fetches": 0, "no_config": False}
        return self.templates.TemplateResponse(request, "refused.html.j2", context, status_code=403)

    def checked_at(self) -> str:
        session, checked = self.runtime.session, self.runtime.checked
        if session is None or checked is None:
            return ""
        return Clock(session.colleagues.deployment).time(checked.at)

    async def form(self, request: Request, max_fields: int = 8) -> FormData:
        size = request.headers.get("content-length", "")
        if not size.isdigit() or int(size) > MAX_FORM_BYTES:
            raise HTTPException(413, "This is too long for the desk to take.")
        return await request.form(max_files=0, max_fields=max_fields, max_part_size=MAX_FORM_BYTES)

    async def opened(self, request: Request) -> tuple[Session, Case] | Response:
        """The session and the case the path names; else where to go (unlock, or not found)."""
        session = self.runtime.session
        if session is None:
            return RedirectResponse("/", status_code=303)
        case = await self.find(session, request.path_params["ref"])
        if case is None:
            return self.page(request, "missing.html.j2", {}, status=404)
        return session, case

    async def find(self, session: Session, ref: str) -> Case | None:
        inbox = await asyncio.to_thread(session.read)
        try:
            return inbox.find(ref) if len(ref) == 10 else None
        except LookupError:
            return None

    def send_receipt(self, session: Session, case: Case) -> None:
        with Inbox(session.home) as store:
            send_receipt(session.relay(), store, session.writer, session.colleagues, case)

    def send_reply(self, session: Session, case: Case, text: str) -> None:
        with Inbox(session.home) as store:
            send_reply(session.relay(), store, session.writer, session.colleagues, case, text)

    def send_note(self, session: Session, case: Case, values: dict[str, str]) -> None:
        with Inbox(session.home) as store:
            send_note(
                session.relay(),
                store,
                session.writer,
                session.colleagues,
                case,
                status=values["status"],
                disposition=values["disposition"],
                text=values["note"],
            )


def _shown(asked: str) -> int:
    """How many calm or closed cases the inbox page lists: ?shown=N, from OTHER_CASES up."""
    if asked.isascii() and asked.isdigit() and len(asked) <= 7:
        return max(int(asked), OTHER_CASES)
    return OTHER_CASES
