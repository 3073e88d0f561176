"""python -m demo: the example deployment, running on this machine.

Creates key-tool homes for the example's recipients (keys made here, never
committed), writes a copy of the example config with those public keys and
local URLs, builds the site, starts the relay serving it, and prints the URLs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from builder.errors import BuildError
from builder.progress import ProgressPrinter
from builder.site import build_site, default_print_dir
from demo import on_call
from demo.alerts import alert_routes
from demo.lock import FolderInUse, claim
from demo.prepare import PASSPHRASE, prepare
from keytool.errors import KeyToolError
from quietdoor.errors import QuietDoorError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8000
# The console scripts (pyproject.toml), what runs them from a checkout, and what they are for.
COMMANDS = (
    (
        "quietdoor-build",
        [str(ROOT / "build.py")],
        "build the site: pages, QR codes, signs, the course",
    ),
    ("quietdoor-relay", ["-m", "relay"], "the relay (this demo runs one)"),
    ("quietdoor-keytool", ["-m", "keytool"], "the safeguarding lead's keys, inbox and desk"),
    ("quietdoor-monitor", ["-m", "builder.monitor"], "check a live site against its manifest"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "demo.toml")
    parser.add_argument(
        "--var",
        type=Path,
        help="folder for the demo's keys, config and database "
        f"(default var/demo; var/demo-PORT on a port other than {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the built site (default dist; VAR/dist on another port)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    var, out = default_folders(args.port, args.var, args.out)
    started = time.monotonic()
    try:
        port_is_free(args.port)  # before minutes of building, not after
        for folder in (var, out):
            claim(folder, args.port)  # held by the relay this process becomes
        var.mkdir(parents=True, exist_ok=True)
        alerts = on_call.listen()  # held from here, so nothing else takes it meanwhile
        config, deployment = prepare(args.config, var, args.port, alerts_url(alerts))
        manifest = build_site(deployment, out, progress=ProgressPrinter())
    except (QuietDoorError, BuildError, KeyToolError, FolderInUse, PortInUse) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    print(f"\nBuilt in {time.monotonic() - started:.1f} s. Open these in a browser:\n")
    print(f"  Staff training   {manifest['training_url']}")
    for school in manifest["schools"]:
        print(f"  {school['name']}")
        print(f"    landing page   {school['landing_url']}")
        print(f"    case page      {deployment.base_url}/{_folder(school['case_pages'])}")
        print(f"    QR code        {deployment.base_url}/{school['qr_svg']}")
    print(f"\nSigns, sticker sheets and placement plans to print: {default_print_dir(out)}")
    print("\n" + "\n".join(alert_routes(deployment)))
    print("While the demo runs, alerts to its webhook channel appear in this terminal.")
    keytool = command("quietdoor-keytool", ["-m", "keytool"])
    home = shlex.quote(str(var / "keys" / "dana-ortiz"))
    print("\nAfter sending a report from Lincoln High's page, read it as its safeguarding lead,")
    print(f"in your browser (the passphrase is {PASSPHRASE!r}):\n")
    print(f"  {keytool} --home {home} desk --open")
    print("\nor in a terminal:\n")
    print(f"  export QUIETDOOR_PASSPHRASE={shlex.quote(PASSPHRASE)}")
    print(f"  {keytool} --home {home} fetch")
    print(f"  {keytool} --home {home} list")
    print(f"  {keytool} --home {home} show CASE       # the id that list shows")
    print(f"  {keytool} --home {home} reply CASE --message 'Are you safe?'")
    print(f"\nThe commands, each with --help, are in {Path(sys.executable).parent}:\n")
    for script, checkout, what in COMMANDS:
        print(f"  {command(script, checkout)}\n      {what}")
    log = var / "relay.log"
    print(f"\nThe relay runs until you press Ctrl-C; its log goes to {log}\n", flush=True)
    relay = [
        sys.executable,
        "-m",
        "relay",
        "--config",
        str(config),
        "--store",
        f"sqlite:///{var / 'relay.db'}",
        "--static",
        str(out),
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    # The on-call channel writes to this terminal; the relay, once it is this process, to its
    # log. Its own session: Ctrl-C stops the relay, and the channel follows it in a second.
    subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "demo.on_call", str(alerts.fileno())],
        pass_fds=[alerts.fileno()],
        start_new_session=True,
    )
    alerts.close()
    os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), sys.stderr.fileno())
    os.execv(sys.executable, relay)  # noqa: S606 - our own interpreter and module


class PortInUse(Exception):
    """Something already listens on the demo's port."""


def port_is_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the relay binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(
                f"port {port} is in use (another demo or program); choose another with --port"
            ) from None


def alerts_url(listening: socket.socket) -> str:
    return f"http://127.0.0.1:{listening.getsockname()[1]}{on_call.PATH}"


def command(script: str, checkout: list[str]) -> str:
    """The console script beside this Python (the venv's bin), else this Python running
    `checkout` (`-m keytool`); quoted for a shell."""
    installed = Path(sys.executable).parent / script
    if installed.exists():
        return shlex.quote(str(installed))
    return shlex.join([sys.executable, *checkout])


def _folder(pages: dict[str, str]) -> str:
    """The default language's page folder, as a URL path: s/lincoln-high/case/."""
    return next(iter(pages.values())).removesuffix("index.html")


def default_folders(port: int, var: Path | None, out: Path | None) -> tuple[Path, Path]:
    """Each port its own folders by default, so a second demo never rewrites the first's."""
    if var is None:
        var = ROOT / "var" / ("demo" if port == DEFAULT_PORT else f"demo-{port}")
    if out is None:
        out = (
            ROOT / "dist" if port == DEFAULT_PORT and var == ROOT / "var" / "demo" else var / "dist"
        )
    return var, out
