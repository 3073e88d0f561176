"""The demo's on-call channel: a webhook on loopback that shows each escalation alert in the
terminal the demo runs in, so the example's promise ("a person on call is alerted") holds
while the demo runs.

    python -m demo.on_call FD

The demo binds the port (so it knows it is taken before it builds), starts this with the
listening socket's file descriptor, and points the example's channel at it. It runs in a
session of its own, so Ctrl-C in the terminal stops the relay, not this; it leaves when
the relay (its parent) has gone.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from keytool.present import clean
from quietdoor import strictjson

PATH = "/quietdoor-alerts"
MAX_BODY = 4096  # an alert is one sentence


class _Alerts(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = self.headers.get("content-length", "")
        if self.path != PATH or not length.isdigit() or not 0 < int(length) <= MAX_BODY:
            self._answer(400)
            return
        try:
            body = strictjson.loads(self.rfile.read(int(length)), max_bytes=MAX_BODY)
            text = body["text"] if isinstance(body, dict) else None
        except (strictjson.JSONError, KeyError):
            text = None
        if not isinstance(text, str):
            self._answer(400)
            return
        print(f"\non call: {clean(text)}", file=sys.stderr, flush=True)
        self._answer(204)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass  # the terminal shows alerts, not requests


def _stop_with_parent(parent: int) -> None:
    """Leave once the relay that started this has gone (Ctrl-C reaches both; a kill may not)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class _Inherited(ThreadingHTTPServer):
    """A server on a socket already bound and listening (the demo's)."""

    def __init__(self, listening: socket.socket) -> None:
        super().__init__(listening.getsockname(), _Alerts, bind_and_activate=False)
        self.socket = listening


def listen() -> socket.socket:
    """A listening socket on a free loopback port, to hand to this module."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m demo.on_call FD", file=sys.stderr)
        return 2
    try:
        server = _Inherited(socket.socket(fileno=int(args[0])))
    except OSError as exc:  # not a listening socket this process was given
        print(f"demo: the on-call channel has no socket to listen on ({exc})", file=sys.stderr)
        return 2
    threading.Thread(target=_stop_with_parent, args=(os.getppid(),), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
