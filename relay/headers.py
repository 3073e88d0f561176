"""What every answer passes through on its way out: headers, CORS, and the request count.

One plain ASGI layer does all three with precomputed header lists, so the hot
path (a student's POST) pays for one wrapper, not three.

- Every page the relay serves gets its policy and cache rule, whatever its path
  looks like; API answers get `no-store` instead. Pages are the built site: the
  course under /training/, and the student pages (all the rest, so that //s/x/
  or /s/x/index.html are covered too).
- CORS: the site's origin (and no other) may call the API from a browser, with
  the headers the pages send; a preflight is answered here.
- Each answer is counted by endpoint (the route's template, not the path) and
  status, for GET /metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import Counter
from starlette.routing import Route
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
CORS_METHODS = ("GET", "POST")
CORS_HEADERS = (
    "content-type",
    "authorization",
    "x-qd-case",
    "x-qd-case-v1",
    "x-qd-proof",
    "x-qd-urgent",
)
CORS_MAX_AGE = "3600"
OPERATOR_PATHS = ("/healthz", "/metrics")  # answered like the API: JSON or text, never cached


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        relay_url: str,
        site_url: str,
        requests: Counter,
        static_dir: Path | None = None,
    ) -> None:
        self.app = app
        self.origin = _origin(site_url).encode()
        common = COMMON + ([HSTS] if urlsplit(relay_url).scheme == "https" else [])
        self.api = [*common, (b"cache-control", b"no-store"), (b"vary", b"Origin")]
        self.api_cors = [
            *self.api,
            (b"access-control-allow-origin", self.origin),
            (b"access-control-expose-headers", b"Retry-After"),  # a page reads a 429's wait
        ]
        self.common = common
        self.student_policy = _StudentPolicy(relay_url, static_dir)
        self.course_csp = course_header_policy(relay_url).encode()
        self._requests = requests
        self._counters: dict[tuple[str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = "/" + str(scope["path"]).lstrip("/")
        origin = preflight = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = value
        if path.startswith("/api/") or path in OPERATOR_PATHS:
            if scope["method"] == "OPTIONS" and origin is not None and preflight is not None:
                await self._preflight(scope, origin, preflight, send)
                return
            extra = self.api_cors if origin == self.origin else self.api
            replace = False
        else:
            extra = self._page_headers(path, scope.get("query_string", b""))
            replace = True
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", ()))
                if replace:
                    names = {name.lower() for name, _ in headers}
                    headers += [(n, v) for n, v in extra if n not in names]
                else:
                    headers += extra
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self._count(scope, status)

    def _page_headers(self, path: str, query: bytes) -> list[tuple[bytes, bytes]]:
        if path.startswith("/assets/") and b"v=" in query:
            # Fingerprinted by the builder: a changed file gets a new URL.
            cache = b"public, max-age=31536000, immutable"
        else:
            cache = b"no-cache"
        csp = self.course_csp if path.startswith("/training/") else self.student_policy.header()
        return [*self.common, (b"content-security-policy", csp), (b"cache-control", cache)]

    async def _preflight(self, scope: Scope, origin: bytes, method: bytes, send: Send) -> None:
        """Answer a browser's CORS preflight: the site's origin, our methods and headers only."""
        wanted = b""
        for name, value in scope["headers"]:
            if name == b"access-control-request-headers":
                wanted = value
        asked = {h.strip().lower() for h in wanted.decode("latin-1").split(",") if h.strip()}
        allowed = (
            origin == self.origin
            and method.decode("latin-1") in CORS_METHODS
            and asked <= set(CORS_HEADERS)
        )
        headers = [
            *self.api,
            (b"access-control-allow-methods", ", ".join(CORS_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(CORS_HEADERS).encode()),
            (b"access-control-max-age", CORS_MAX_AGE.encode()),
            (b"content-type", b"text/plain; charset=utf-8"),
        ]
        if allowed:
            headers.append((b"access-control-allow-origin", self.origin))
        body = b"OK" if allowed else b"Disallowed CORS request"
        headers.append((b"content-length", str(len(body)).encode()))
        status = 200 if allowed else 400
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self._count(scope, status)

    def _count(self, scope: Scope, status: int) -> None:
        route = scope.get("route")
        if isinstance(route, Route):
            endpoint = route.path
        else:
            endpoint = "site" if route is not None else "unmatched"
        if scope["method"] == "OPTIONS":
            endpoint = "preflight"
        key = (endpoint, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self._requests.labels(endpoint, str(status))
        counter.inc()


class _StudentPolicy:
    """The student pages' header policy, with the hashes of the inline code of the site served.

    The pages carry their stylesheet and small scripts inline (see quietdoor.csp); the
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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
