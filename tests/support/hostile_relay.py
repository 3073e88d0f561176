"""A hostile relay: a real HTTP server that serves the real relay's database as it likes.

It lists a school's messages from the relay's own store (its SQLite file or its
PostgreSQL schema), after a `tamper` function has had its way with them (forged rows
added, rows reordered or moved to another case), numbering cursors in the order it
serves them. Everything else it
forwards to the real relay unchanged, so key tools can still post receipts and notes.
What it forges uses only what a relay knows: case ids, the school's public keys.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from .processes import RelayProcess

Rows = list[dict[str, Any]]
FORWARDED = ("x-qd-key", "x-qd-timestamp", "x-qd-nonce", "x-qd-signature", "content-type")


def relay_rows(relay: RelayProcess, school: str) -> Rows:
    """A school's messages as the real relay lists them (without cursors), oldest first."""
    sql = "SELECT id, received, case_id, author, body FROM messages WHERE school = {} ORDER BY seq"
    if relay.store.startswith("sqlite:///"):
        with sqlite3.connect(relay.db_path) as db:
            found = db.execute(sql.format("?"), (school,)).fetchall()
    else:
        with psycopg.connect(relay.store) as pg:
            found = pg.execute(sql.format("%s"), (school,)).fetchall()
    return [
        {"id": i, "received": r, "case_id": c, "author": a, "envelope": json.loads(b)}
        for i, r, c, a, b in found
    ]


def forged_row(
    envelope: dict[str, Any], case_id: str | None, author: str, received: str
) -> dict[str, Any]:
    """A row the relay makes up: a fresh message id, whatever it says about the envelope."""
    return {
        "id": secrets.token_hex(12),
        "received": received,
        "case_id": case_id,
        "author": author,
        "envelope": envelope,
    }


class HostileRelay:
    def __init__(self, relay: RelayProcess, school: str) -> None:
        self.relay = relay
        self.school = school
        self.tamper: Callable[[Rows], Rows] = lambda rows: rows
        self.url = ""

    def listing(self, after: int, limit: int) -> dict[str, Any]:
        rows = self.tamper(relay_rows(self.relay, self.school))
        numbered = [{"cursor": i, **row} for i, row in enumerate(rows, start=1)]
        page = [r for r in numbered if r["cursor"] > after]
        return {"messages": page[:limit], "more": len(page) > limit}

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 - the test's own loopback relay
            self.relay.url + path, data=body or None, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def _handler(hostile: HostileRelay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _pass_on(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {h: self.headers[h] for h in FORWARDED if self.headers.get(h)}
            self._answer(*hostile.forward(method, self.path, headers, body))

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
            url = urlsplit(self.path)
            if url.path == "/api/v1/schools":
                self._answer(200, json.dumps({"schools": [hostile.school]}).encode())
            elif url.path == f"/api/v1/schools/{hostile.school}/messages":
                query = parse_qs(url.query)
                listing = hostile.listing(int(query["after"][0]), int(query["limit"][0]))
                self._answer(200, json.dumps(listing).encode())
            else:
                self._pass_on("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._pass_on("POST")

    return Handler


@contextmanager
def hostile_relay(relay: RelayProcess, school: str) -> Iterator[HostileRelay]:
    hostile = HostileRelay(relay, school)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hostile))
    hostile.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
