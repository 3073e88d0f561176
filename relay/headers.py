"""Headers on every answer: the page policies, caching, and what a browser should refuse."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietdoor.csp import course_header_policy, header_policy

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Every page the relay serves gets its policy and cache rule, whatever its path looks like.

    The API answers get neither; everything else is the built site: the course under
    /training/, and the student pages (all the rest, so that //s/x/ or /s/x/index.html
    are covered too).
    """

    def __init__(self, app: ASGIApp, relay_url: str) -> None:
        self.app = app
        self.student_csp = header_policy(relay_url).encode()
        self.course_csp = course_header_policy(relay_url).encode()
        self.common = COMMON + ([HSTS] if urlsplit(relay_url).scheme == "https" else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = "/" + str(scope["path"]).lstrip("/")
        extra = self._page_headers(path, scope.get("query_string", b""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += self.common + [(n, v) for n, v in extra if n not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _page_headers(self, path: str, query: bytes) -> list[tuple[bytes, bytes]]:
        if path.startswith("/api/"):
            return [(b"cache-control", b"no-store")]
        if path.startswith("/assets/") and b"v=" in query:
            # Fingerprinted by the builder: a changed file gets a new URL.
            cache = b"public, max-age=31536000, immutable"
        else:
            cache = b"no-cache"
        csp = self.course_csp if path.startswith("/training/") else self.student_csp
        return [(b"content-security-policy", csp), (b"cache-control", cache)]
