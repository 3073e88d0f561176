"""The desk's door: only the lead's browser, only from this computer, only this page.

The desk listens on loopback (a random 127.x.y.z on Linux, else 127.0.0.1), where
every program and every web page the lead's browser opens can reach it. So every
request must:

- on Linux, come over a connection whose socket belongs to the lead's own user
  (peers.py); any other user's gets a bare 403 that says nothing;
- name this address and port in its Host header (a web page whose name an
  attacker points at 127.0.0.1, "DNS rebinding", sends its own name);
- carry the session cookie that the one-time link printed in the terminal set
  (only the link opens `/open`; another local user has neither);
- when it changes anything (POST), come from this origin (Origin header, and
  Sec-Fetch-Site when the browser sends it): another site's form or script,
  even on another port of 127.0.0.1, is refused.

Every request that passes, except the page's own status polling, counts as the
lead using the desk; the desk locks after `--idle-minutes` without one.

Every answer carries a strict Content-Security-Policy (nothing but this
origin, no inline code), no-store caching (decrypted reports never reach the
browser's disk cache), and headers that forbid framing and sniffing.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keytool.desk.runtime import DeskRuntime

COOKIE = "qd_desk"
OPEN_PATH = "/open"
SAFE_METHODS = frozenset({"GET", "HEAD"})
POLLING = "/status"  # desk.js asks it every few seconds: never counts as the lead's use
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"cache-control", b"no-store"),
    # Not "no-referrer": with it, browsers send "Origin: null" on the desk's own forms.
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
REFUSED_PEER = "Refused."  # another user: told nothing, not even why
REFUSED_HOST = "This address is not the desk's. Open the link printed in your terminal."
REFUSED_ORIGIN = "Refused: this request did not come from the desk's own page."
NO_SESSION = (
    "This browser has not been let in. Open the link printed in the terminal where the "
    "desk runs; if it was used already, stop the desk (Ctrl-C) and start it again."
)


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        runtime: DeskRuntime,
        host: str,
        port: int,
        peer_ok: Callable[[Scope], bool] | None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.host = f"{host}:{port}"
        self.origin = f"http://{self.host}"
        self.peer_ok = peer_ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secured = _with_headers(send)
        refusal = self.refusal(scope)
        if refusal is not None:
            await Response(refusal, status_code=403, media_type="text/plain")(
                scope, receive, secured
            )
            return
        self.runtime.lock_if_idle()
        if scope["path"] != POLLING:
            self.runtime.used()
        await self.app(scope, receive, secured)

    def refusal(self, scope: Scope) -> str | None:
        """Why this request is refused, or None."""
        if self.peer_ok is not None and not self.peer_ok(scope):
            return REFUSED_PEER
        headers = _headers(scope)
        if headers.get("host") != self.host:
            return REFUSED_HOST
        if scope["method"] not in SAFE_METHODS and (
            headers.get("origin") != self.origin
            or headers.get("sec-fetch-site", "same-origin") != "same-origin"
        ):
            return REFUSED_ORIGIN
        if scope["path"] == OPEN_PATH and scope["method"] == "GET":
            return None  # the link: checked by its own page, which sets the cookie
        if not self.runtime.cookie_ok(_cookie(headers.get("cookie", ""))):
            return NO_SESSION
        return None


def session_cookie(runtime: DeskRuntime) -> str:
    """The Set-Cookie value that lets this browser in until the desk stops."""
    return f"{COOKIE}={runtime.cookie_secret}; Path=/; HttpOnly; SameSite=Strict"


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key in out:
            out[key] = "\x00duplicate"  # two Host or Origin headers: matches nothing
        else:
            out[key] = value.decode("latin-1")
    return out


def _cookie(header: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def _with_headers(send: Send) -> Any:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"server"]
            message = {**message, "headers": headers + HEADERS}
        await send(message)

    return wrapped
