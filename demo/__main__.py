"""python -m demo: the example deployment, running on this machine.

Creates key-tool homes for the example's recipients (keys made here, never
committed), writes a copy of the example config with those public keys and
local URLs, builds the site, starts the relay serving it, and prints the URLs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from builder.errors import BuildError
from builder.progress import ProgressPrinter
from builder.site import build_site, default_print_dir
from demo.prepare import PASSPHRASE, prepare
from keytool.errors import KeyToolError
from quietdoor.errors import QuietDoorError

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "demo.toml")
    parser.add_argument(
        "--var",
        type=Path,
        default=ROOT / "var" / "demo",
        help="folder for the demo's keys, config and database",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        args.var.mkdir(parents=True, exist_ok=True)
        config, deployment = prepare(args.config, args.var, args.port)
        manifest = build_site(deployment, args.out, progress=ProgressPrinter())
    except (QuietDoorError, BuildError, KeyToolError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    print(f"\nBuilt in {time.monotonic() - started:.1f} s. Open these in a browser:\n")
    print(f"  Staff training   {manifest['training_url']}")
    for school in manifest["schools"]:
        print(f"  {school['name']}")
        print(f"    landing page   {school['landing_url']}")
        print(f"    QR code        {deployment.base_url}/{school['qr_svg']}")
    print(f"\nSigns, sticker sheets and placement plans to print: {default_print_dir(args.out)}")
    python = shlex.quote(sys.executable)
    home = shlex.quote(str(args.var / "keys" / "dana-ortiz"))
    print("\nAfter sending a report from Lincoln High's page, read it as its safeguarding lead:\n")
    print(f"  export QUIETDOOR_PASSPHRASE={shlex.quote(PASSPHRASE)}")
    print(f"  {python} -m keytool --home {home} fetch")
    print(f"  {python} -m keytool --home {home} list")
    print("\nThe relay runs until you press Ctrl-C.\n", flush=True)
    relay = [
        sys.executable,
        "-m",
        "relay",
        "--config",
        str(config),
        "--store",
        f"sqlite:///{args.var / 'relay.db'}",
        "--static",
        str(args.out),
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    os.execv(sys.executable, relay)  # noqa: S606 - our own interpreter and module


if __name__ == "__main__":
    sys.exit(main())
