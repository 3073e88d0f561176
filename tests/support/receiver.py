"""A real HTTP server on loopback that keeps what PagerDuty or a webhook would receive."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Post:
    path: str
    method: str
    headers: dict[str, str]
    body: Any  # JSON as parsed, a form as a dict
    at: float  # time.monotonic() when it arrived


@dataclass
class Receiver:
    url: str = ""
    posts: list[Post] = field(default_factory=list)

    def to(self, path: str) -> list[Post]:
        return [p for p in list(self.posts) if p.path == path]


@contextmanager
def receiver(hold: threading.Event | None = None) -> Iterator[Receiver]:
    """The server; with `hold`, each request is kept (and answered) until the event is set."""
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers["content-length"]))
            kind = self.headers.get("content-type", "")
            body = dict(parse_qsl(raw.decode())) if "form" in kind else json.loads(raw)
            headers = {k.lower(): v for k, v in self.headers.items()}
            got.posts.append(Post(self.path, self.command, headers, body, time.monotonic()))
            if hold is not None:
                hold.wait(timeout=60)
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

        do_POST = do_PUT = _any  # noqa: N815 - the http.server API

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
