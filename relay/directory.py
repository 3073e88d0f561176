"""What the relay needs to know of the deployment, indexed once at start-up.

Per request the relay asks: which key ids must an envelope to this school be
sealed to, and which schools may this signing key read? Both are dictionary
lookups here, so no request ever scans every school.
"""

from __future__ import annotations

from dataclasses import dataclass

from quietdoor import protocol
from quietdoor.config import Deployment


@dataclass(frozen=True)
class SchoolKeys:
    box_key_ids: frozenset[bytes]  # key ids of the recipients' X25519 keys
    signers: frozenset[bytes]  # the recipients' Ed25519 public keys


class Directory:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        schools_by_signer: dict[bytes, list[str]] = {}
        for school in deployment.schools:
            for r in deployment.recipients_for(school.slug):
                schools_by_signer.setdefault(r.ed25519, []).append(school.slug)
        self._schools_by_signer = {k: tuple(v) for k, v in schools_by_signer.items()}
        self._keys: dict[str, SchoolKeys] = {}

    def knows(self, school: str) -> bool:
        return self.deployment.school(school) is not None

    def keys(self, school: str) -> SchoolKeys:
        """The school's recipients' keys; computed on first use, then remembered."""
        found = self._keys.get(school)
        if found is None:
            recipients = self.deployment.recipients_for(school)
            found = SchoolKeys(
                box_key_ids=frozenset(protocol.key_id(r.x25519) for r in recipients),
                signers=frozenset(r.ed25519 for r in recipients),
            )
            self._keys[school] = found
        return found

    def schools_of(self, signer: bytes) -> tuple[str, ...]:
        return self._schools_by_signer.get(signer, ())
