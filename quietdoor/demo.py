"""python -m quietdoor.demo: the example deployment, running on this machine.

Creates key-tool homes for the example's recipients (keys made here, never
committed), writes a copy of the example config with those public keys and
local URLs, builds the site, starts the relay serving it, and prints the URLs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from pathlib import Path

from keytool.errors import KeyToolError
from keytool.identity import create_identity, load_identity
from keytool.settings import Settings, save_settings
from quietdoor.builder import BuildError, ProgressPrinter, build_site
from quietdoor.config import ConfigError, Deployment, dump_config, load_config
from quietdoor.landing import LandingError
from quietdoor.site_assets import AssetError

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "demo passphrase, not for real reports"  # noqa: S105 - demo keys only


def prepare(example: Path, var: Path, port: int) -> tuple[Path, Deployment]:
    """Keys and a local config for the example deployment; keys are reused across runs."""
    base = load_config(example)
    url = f"http://127.0.0.1:{port}"
    recipients = []
    for r in base.recipients:
        home = var / "keys" / r.id
        if (home / "identity.json").exists():
            identity = load_identity(home, PASSPHRASE)
        else:
            identity = create_identity(home, r.id, r.name, PASSPHRASE, r.schools, r.districts)
        save_settings(home, Settings(relay_url=url))
        recipients.append(
            dataclasses.replace(
                r, x25519=identity.recipient.x25519, ed25519=identity.recipient.ed25519
            )
        )
    deployment = dataclasses.replace(
        base, base_url=url, relay_url=url, recipients=tuple(recipients)
    )
    config = var / "demo.toml"
    config.write_text(dump_config(deployment), encoding="utf-8")
    return config, load_config(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quietdoor.demo", description=__doc__)
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
    except (ConfigError, BuildError, AssetError, LandingError, KeyToolError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    print(f"\nBuilt in {time.monotonic() - started:.1f} s. Open these in a browser:\n")
    print(f"  Staff training   {manifest['training_url']}")
    for school in manifest["schools"]:
        print(f"  {school['name']}")
        print(f"    landing page   {school['landing_url']}")
        print(f"    QR code        {deployment.base_url}/{school['qr_svg']}")
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
