"""Deployments with fresh keys for every recipient, and relay limits for tests."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from quietdoor.config import Deployment, RelayLimits, dump_config, load_config
from quietdoor.encoding import b64u_decode

from .paths import EXAMPLE


@dataclass(frozen=True)
class Keys:
    box: PrivateKey
    signing: SigningKey


@dataclass(frozen=True)
class KeyedDeployment:
    path: Path
    deployment: Deployment
    keys: dict[str, Keys]  # recipient id -> private keys


def lenient_limits(**changes: Any) -> RelayLimits:
    """Relay limits for tests that are not about flood friction: no proof of work, no
    per-address limit (every test client shares one address)."""
    return dataclasses.replace(RelayLimits(proof_of_work=False, address_per_minute=0), **changes)


def make_deployment(tmp: Path, base_url: str | None = None, **changes: object) -> KeyedDeployment:
    """The example deployment with fresh keys for every recipient, written to tmp.

    Its relay limits are lenient_limits() unless `relay` is given.
    """
    changes.setdefault("relay", lenient_limits())
    example = load_config(EXAMPLE)
    keys = {r.id: Keys(PrivateKey.generate(), SigningKey.generate()) for r in example.recipients}
    recipients = tuple(
        dataclasses.replace(
            r, x25519=bytes(keys[r.id].box.public_key), ed25519=bytes(keys[r.id].signing.verify_key)
        )
        for r in example.recipients
    )
    urls = {"base_url": base_url, "relay_url": base_url} if base_url else {}
    deployment = dataclasses.replace(example, recipients=recipients, **urls, **changes)  # type: ignore[arg-type]
    path = tmp / "deployment.toml"
    path.write_text(dump_config(deployment), encoding="utf-8")
    return KeyedDeployment(path=path, deployment=load_config(path), keys=keys)


def with_keys_of(deployment: Deployment, homes: dict[str, Path]) -> Deployment:
    """The deployment with these key tools' public keys in place of the named recipients'."""
    keys = {who: json.loads((h / "identity.json").read_text()) for who, h in homes.items()}
    return dataclasses.replace(
        deployment,
        recipients=tuple(
            dataclasses.replace(
                r,
                x25519=b64u_decode(keys[r.id]["x25519"]),
                ed25519=b64u_decode(keys[r.id]["ed25519"]),
            )
            if r.id in keys
            else r
            for r in deployment.recipients
        ),
    )
