"""Headers on every answer: the page policies, caching, and what a browser should refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietdoor.csp import (
    INLINE_SCRIPTS,
    INLINE_STYLES,
    course_header_policy,
    header_policy,
    read_inline_code,
)

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

    def __init__(self, app: ASGIApp, relay_url: str, static_dir: Path | None = None) -> None:
        self.app = app
        self.student_policy = _StudentPolicy(relay_url, static_dir)
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
        csp = self.course_csp if path.startswith("/training/") else self.student_policy.header()
        return [(b"content-security-policy", csp), (b"cache-control", cache)]


class _StudentPolicy:
    """The student pages' header policy, with the hashes of the inline code of the site served.

    The pages carry their stylesheet and scripts inline (see quietdoor.csp); the
    hashes come from the copies the builder publishes under ``assets/``, read again
    whenever one of them changes, so a rebuild while the relay runs stays in step.
    """

    def __init__(self, relay_url: str, static_dir: Path | None) -> None:
        self.relay_url = relay_url
        self.assets = static_dir / "assets" if static_dir is not None else None
        self._stamp: tuple[tuple[int, int], ...] | None = None
        self._header = header_policy(relay_url).encode()

    def header(self) -> bytes:
        if self.assets is None:
            return self._header
        stamp = tuple(_stamp(self.assets / n) for n in (*INLINE_STYLES, *INLINE_SCRIPTS))
        if stamp != self._stamp:
            inline = read_inline_code(self.assets)
            self._header = header_policy(self.relay_url, inline).encode()
            self._stamp = stamp
        return self._header


def _stamp(path: Path) -> tuple[int, int]:
    """When a file last changed, and its size; (0, 0) when it is missing."""
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)
