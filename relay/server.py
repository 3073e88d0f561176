"""uvicorn, with deadlines for slow clients, and without an access log.

uvicorn waits for a request's headers and body as long as the client likes, so a
handful of connections that trickle a byte every few seconds could hold the
relay's sockets for hours. Each connection here gets two deadlines:

- the request's headers must arrive within `header_timeout` seconds of the
  connection opening (or of the previous answer, on a kept-alive connection);
- its body must arrive at no less than `min_rate` bytes a second on average,
  after a grace of `header_timeout` seconds: a 64 KiB report over a 50 KB/s
  phone connection takes about 2 s, far inside the bound.

A connection past its deadline is closed. The same guard wraps both of
uvicorn's HTTP parsers (h11 and httptools).

The process's cyclic garbage collector is set for a server before it starts
serving (`tune_collector`).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # the "standard" extra is missing: h11 only
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

from starlette.types import ASGIApp


@dataclass(frozen=True)
class Deadlines:
    header_timeout: float
    min_rate: float  # bytes per second, averaged over the body
    max_body: int  # used when a request does not say its length


class _Guard:
    """The timer of one connection; the protocol calls it at each stage of a request."""

    def __init__(self, deadlines: Deadlines, transport: asyncio.Transport) -> None:
        self.deadlines = deadlines
        self.transport = transport
        self.timer: asyncio.TimerHandle | None = None

    def waiting_for_headers(self) -> None:
        self._arm(self.deadlines.header_timeout)

    def waiting_for_body(self, length: int | None) -> None:
        size = self.deadlines.max_body if length is None else length
        self._arm(self.deadlines.header_timeout + size / self.deadlines.min_rate)

    def request_complete(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _arm(self, seconds: float) -> None:
        self.request_complete()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            self.transport.close()


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


def guarded_h11(deadlines: Deadlines) -> type[H11Protocol]:
    class GuardedH11(H11Protocol):
        guard: _Guard

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.guard = _Guard(deadlines, transport)
            self.guard.waiting_for_headers()
            self._stage: object = h11.IDLE

        def handle_events(self) -> None:
            super().handle_events()
            state = self.conn.their_state
            if state is self._stage:
                return
            self._stage = state
            if state is h11.SEND_BODY:
                headers = self.headers or []
                self.guard.waiting_for_body(_content_length(headers))
            elif state is not h11.IDLE:
                self.guard.request_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._stage = self.conn.their_state
                self.guard.waiting_for_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self.guard.request_complete()
            super().connection_lost(exc)

    return GuardedH11


def guarded_httptools(deadlines: Deadlines) -> type[Any]:
    assert HttpToolsProtocol is not None  # noqa: S101 - callers check first

    class GuardedHttpTools(HttpToolsProtocol):
        guard: _Guard

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.guard = _Guard(deadlines, transport)
            self.guard.waiting_for_headers()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self.guard.waiting_for_body(_content_length(self.headers))

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self.guard.request_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self.guard.waiting_for_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self.guard.request_complete()
            super().connection_lost(exc)

    return GuardedHttpTools


def choose(parser: str, loop: str) -> tuple[str, str]:
    """The HTTP parser and event loop to run: "auto" picks httptools and uvloop when installed.

    Both come with uvicorn's "standard" extra (a dependency): httptools parses requests
    in C, and uvloop's event loop is libuv's; together they serve a small JSON POST
    several times faster than h11 on asyncio. The benchmark runs its bare endpoint
    with the same choice.
    """
    if parser == "auto":
        parser = "httptools" if HttpToolsProtocol is not None else "h11"
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    return parser, loop


YOUNG_THRESHOLD = 10_000  # objects allocated and not freed before a young-generation pass


def tune_collector() -> None:
    """Freeze what start-up made, and let the young generation grow past the requests in flight.

    A busy relay holds a few thousand objects for the requests it is working on, so
    at Python's default threshold (700) the collector ran young passes every few
    requests and full passes, during which no request moved, several times a
    second. A request's objects are freed by reference counting when it ends; very
    few form cycles. Frozen objects are never looked at for cycles, so start-up's
    own garbage is collected first. The passes and timings before and after, under
    bench/relay_load.py, are in bench/README.md.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 10, 10)


def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    deadlines: Deadlines,
    log_config: dict[str, Any],
    parser: str = "auto",
    loop: str = "auto",
) -> None:
    """Run the app until stopped, with one worker; see `choose` for parser and loop."""
    parser, loop = choose(parser, loop)
    protocol = guarded_httptools(deadlines) if parser == "httptools" else guarded_h11(deadlines)
    tune_collector()
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol,
        loop=loop,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=log_config,
    )
