"""Keys and a local config for the example deployment, made on this machine and never committed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from keytool.identity import create_identity, load_identity
from keytool.settings import update_settings
from quietdoor.config import Deployment, dump_config, load_config

PASSPHRASE = "demo passphrase, not for real reports"  # noqa: S105 - demo keys only


def prepare(example: Path, var: Path, port: int, alerts_url: str = "") -> tuple[Path, Deployment]:
    """Keys and a local config for the example deployment; keys are reused across runs.
    With alerts_url, the example's webhook channels post there (the demo's on-call channel)."""
    base = load_config(example)
    if alerts_url:
        channels = tuple(
            dataclasses.replace(c, url=alerts_url) if c.kind == "webhook" else c
            for c in base.escalation.channels
        )
        base = dataclasses.replace(
            base, escalation=dataclasses.replace(base.escalation, channels=channels)
        )
    url = f"http://127.0.0.1:{port}"
    recipients = []
    for r in base.recipients:
        home = var / "keys" / r.id
        if (home / "identity.json").exists():
            identity = load_identity(home, PASSPHRASE)
        else:
            identity = create_identity(home, r.id, r.name, PASSPHRASE, r.schools, r.districts)
        recipients.append(
            dataclasses.replace(
                r, x25519=identity.recipient.x25519, ed25519=identity.recipient.ed25519
            )
        )
    deployment = dataclasses.replace(
        base, base_url=url, relay_url=url, recipients=tuple(recipients)
    )
    config = (var / "demo.toml").resolve()
    config.write_text(dump_config(deployment), encoding="utf-8")
    for r in base.recipients:
        # Each lead's key tool knows the relay, and the config that names its colleagues.
        update_settings(var / "keys" / r.id, relay_url=url, config=str(config))
    return config, load_config(config)
