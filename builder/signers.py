"""The staff keys a school's case page trusts (``data-signers``, docs/BUILD.md).

A student's page accepts a reply or a read receipt only if it is signed by one of
these Ed25519 keys: every current recipient's key (``until`` null), each key a
rotation replaced (its ``until``), and the keys of recipients removed from the
school, for ``retention_days`` after the build that first saw them gone (their
replies stay in conversations that long). Removals are remembered in the build
record, since the config no longer names them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence

from quietdoor.config import Deployment, School
from quietdoor.encoding import b64u_encode

# {"key": "<Ed25519 public key, base64url>", "until": "YYYY-MM-DD" or None}
Signer = dict[str, str | None]


def current_signers(deployment: Deployment, school: School) -> list[Signer]:
    """The keys the config names for the school: current ones, then replaced ones."""
    signers: list[Signer] = []
    for recipient in deployment.recipients_for(school.slug):
        signers.append({"key": b64u_encode(recipient.ed25519), "until": None})
        signers.extend(
            {"key": b64u_encode(p.ed25519), "until": p.until.isoformat()}
            for p in recipient.previous
        )
    return signers


def school_signers(
    deployment: Deployment,
    school: School,
    earlier: Sequence[Mapping[str, str | None]],
    today: datetime.date,
) -> list[Signer]:
    """The config's keys, and those the earlier build published that the config no longer
    names: a key that was current gets ``until`` = today + retention_days; a key with an
    ``until`` keeps it. A key is dropped the day after its ``until`` once it is removed."""
    signers = current_signers(deployment, school)
    named = {s["key"] for s in signers}
    keep_until = today + datetime.timedelta(days=deployment.relay.retention_days)
    for old in earlier:
        key, until = old["key"], old["until"]
        if key in named:
            continue
        until = until or keep_until.isoformat()
        if until >= today.isoformat():
            signers.append({"key": key, "until": until})
            named.add(key)
    return signers


def signers_json(signers: Sequence[Signer]) -> str:
    return json.dumps(signers, separators=(",", ":"))
