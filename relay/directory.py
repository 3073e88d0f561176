"""What the relay needs to know of the deployment, indexed once at start-up.

Per request the relay asks: which key ids must an envelope to this school be
sealed to, and which schools may this signing key read? Both are dictionary
lookups here, so no request ever scans every school.

After `keytool rotate`, the config lists a recipient's previous keys with the
last day they are accepted: a student's phone may still hold a page that seals
to the old key. Each recipient then has a small set of accepted key ids, and an
envelope must be sealed to exactly one of them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from quietdoor import protocol
from quietdoor.config import Deployment
from quietdoor.rotation import still_counts


@dataclass(frozen=True)
class RecipientKeys:
    current: bytes  # key id of the recipient's X25519 key
    previous: tuple[tuple[bytes, datetime.date], ...]  # (key id, last UTC day accepted)

    def accepted(self, day: datetime.date) -> frozenset[bytes]:
        return frozenset(
            [self.current, *(k for k, until in self.previous if still_counts(until, day))]
        )


@dataclass(frozen=True)
class SchoolKeys:
    recipients: tuple[RecipientKeys, ...]
    signers: frozenset[bytes]  # the recipients' current Ed25519 public keys

    def accepted(self, day: datetime.date) -> tuple[frozenset[bytes], ...]:
        """Per recipient, the key ids an envelope may be sealed to on this UTC day."""
        return tuple(r.accepted(day) for r in self.recipients)


class Directory:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        schools_by_signer: dict[bytes, list[str]] = {}
        for school in deployment.schools:
            for r in deployment.recipients_for(school.slug):
                schools_by_signer.setdefault(r.ed25519, []).append(school.slug)
        self._schools_by_signer = {k: tuple(v) for k, v in schools_by_signer.items()}
        self._recipient_by_signer = {r.ed25519: r.id for r in deployment.recipients}
        self._keys: dict[str, SchoolKeys] = {}

    def knows(self, school: str) -> bool:
        return self.deployment.school(school) is not None

    def keys(self, school: str) -> SchoolKeys:
        """The school's recipients' keys; computed on first use, then remembered."""
        found = self._keys.get(school)
        if found is None:
            recipients = self.deployment.recipients_for(school)
            found = SchoolKeys(
                recipients=tuple(
                    RecipientKeys(
                        current=protocol.key_id(r.x25519),
                        previous=tuple((protocol.key_id(p.x25519), p.until) for p in r.previous),
                    )
                    for r in recipients
                ),
                signers=frozenset(r.ed25519 for r in recipients),
            )
            self._keys[school] = found
        return found

    def schools_of(self, signer: bytes) -> tuple[str, ...]:
        return self._schools_by_signer.get(signer, ())

    def recipient_of(self, signer: bytes) -> str | None:
        """The id of the recipient whose signing key this is."""
        return self._recipient_by_signer.get(signer)

    def readers(self, school: str) -> tuple[str, ...]:
        """The ids of everyone who reads the school now: retention waits for all of them."""
        return tuple(r.id for r in self.deployment.recipients_for(school))

    def every_school_readers(self) -> dict[str, tuple[str, ...]]:
        """Each school's readers now, for the retention sweep and the health check."""
        return {school.slug: self.readers(school.slug) for school in self.deployment.schools}
