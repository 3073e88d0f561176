"""Start the desk: a loopback socket, the one-time link printed, uvicorn until Ctrl-C.

On Linux the socket is on a random 127.x.y.z (not 127.0.0.1, so the cookie is not
sent to other users' servers on 127.0.0.1) and refuses other users' connections;
elsewhere it is on 127.0.0.1 (see docs/THREAT-MODEL.md for what remains there).
"""

from __future__ import annotations

import html
import os
import secrets
import socket
import sys
import tempfile
import webbrowser
from pathlib import Path

import uvicorn

from keytool.desk import peers
from keytool.desk.app import create_desk
from keytool.desk.guard import OPEN_PATH
from keytool.desk.runtime import DeskRuntime
from keytool.errors import KeyToolError
from keytool.identity import load_public


def run_desk(
    home: Path,
    config: str | None,
    relay: str | None,
    port: int,
    every: int,
    idle_minutes: int,
    open_browser: bool,
) -> None:
    me = load_public(home)  # fail here, in the terminal, if there are no keys
    own_address = peers.supported()
    host = _random_loopback() if own_address else "127.0.0.1"
    sock = _listen(host, port)
    actual = int(sock.getsockname()[1])
    runtime = DeskRuntime(home, config, relay, every, idle_minutes)
    url = f"http://{host}:{actual}{OPEN_PATH}?key={runtime.link_secret}"
    print(f"The desk for {me.name} is ready. Open this link in your browser:\n")
    print(f"  {url}\n")
    print("The link works once, for one browser; keep it to yourself.")
    print(f"The desk locks itself after {idle_minutes} minutes without use.")
    print("Press Ctrl-C here to close the desk: your keys are then forgotten.", flush=True)
    if open_browser:
        runtime.link_file = _link_file(url)
        webbrowser.open(runtime.link_file.as_uri())
    server = uvicorn.Server(
        uvicorn.Config(
            create_desk(runtime, host, actual, peer_ok=peers.same_user if own_address else None),
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="on",
        )
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn shut down cleanly, then passed Ctrl-C on: closing is what was asked
    finally:
        runtime.lock()
        runtime.drop_link_file()
        sock.close()
        print("The desk is closed.", file=sys.stderr)


def _random_loopback() -> str:
    """127.x.y.z with x, y, z random and z neither 0 nor 255; never 127.0.0.1 (x > 0)."""
    return f"127.{secrets.randbelow(255) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A desk closed a moment ago leaves its port waiting (TIME_WAIT); two live desks
    # still cannot share one port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise KeyToolError(
            f"cannot listen on {host}:{port} ({exc.strerror}); leave out --port to take a free one"
        ) from None
    sock.listen(64)
    return sock


def _link_file(url: str) -> Path:
    """A page only this user can read that sends the browser on to the link: the browser's
    command line (which every user can read in /proc) then holds a file name, not the secret."""
    folder = Path(tempfile.mkdtemp(prefix="quietdoor-desk-"))  # 0700
    path = folder / "open.html"
    target = html.escape(url, quote=True)
    page = (
        '<!doctype html><meta charset="utf-8"><title>Quiet Door desk</title>'
        f'<meta http-equiv="refresh" content="0;url={target}">'
        f'<p><a href="{target}">Open the desk</a></p>\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(page)
    return path
