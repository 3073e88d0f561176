"""A relay as version 1 was: a real HTTP server in front of the real relay, without /acks."""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "host"}


@contextmanager
def old_relay(relay_url: str) -> Iterator[str]:
    """The URL of a proxy passing every request to relay_url, except /acks: a 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self._forward()

        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            self._forward()

        def _forward(self) -> None:
            if self.path.split("?")[0].endswith("/acks"):
                self._answer(404, {"content-type": "application/json"}, b'{"error":"Not Found"}')
                return
            size = int(self.headers.get("content-length") or 0)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            request = urllib.request.Request(  # noqa: S310 - the test's own relay
                relay_url + self.path,
                data=self.rfile.read(size) if size else None,
                headers=headers,
                method=self.command,
            )
            try:
                with urllib.request.urlopen(request) as answer:  # noqa: S310
                    self._answer(answer.status, dict(answer.headers), answer.read())
            except urllib.error.HTTPError as exc:
                self._answer(exc.code, dict(exc.headers), exc.read())

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
