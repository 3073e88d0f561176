"""Start the desk: a socket on 127.0.0.1 only, the one-time link printed, uvicorn until Ctrl-C."""

from __future__ import annotations

import socket
import sys
import webbrowser
from pathlib import Path

import uvicorn

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
    open_browser: bool,
) -> None:
    me = load_public(home)  # fail here, in the terminal, if there are no keys
    sock = _listen(port)
    actual = int(sock.getsockname()[1])
    runtime = DeskRuntime(home, config, relay, every)
    url = f"http://127.0.0.1:{actual}{OPEN_PATH}?key={runtime.link_secret}"
    print(f"The desk for {me.name} is ready. Open this link in your browser:\n")
    print(f"  {url}\n")
    print("The link works once, for one browser; keep it to yourself.")
    print("Press Ctrl-C here to close the desk: your keys are then forgotten.", flush=True)
    if open_browser:
        webbrowser.open(url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_desk(runtime, actual),
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
        sock.close()
        print("The desk is closed.", file=sys.stderr)


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A desk closed a moment ago leaves its port waiting (TIME_WAIT); two live desks
    # still cannot share one port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise KeyToolError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
            "leave out --port to take a free one"
        ) from None
    sock.listen(64)
    return sock
