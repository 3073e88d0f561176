"""Who the lead's colleagues are: the deployment config, read as the one trusted directory.

The relay may be hostile, so it is never asked who a school's recipients are.
The deployment config (the file the lead's district maintains) says it: whose
signatures on replies, receipts and notes are a colleague's, and to which keys a
reply must be sealed so that every colleague, and the student, can read it.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from keytool.errors import KeyToolError
from quietdoor.config import Deployment, Recipient, load_config
from quietdoor.errors import QuietDoorError
from quietdoor.payloads import Signer
from quietdoor.rotation import still_counts


class Colleagues:
    def __init__(self, me: Recipient, deployment: Deployment | None) -> None:
        self.me = me
        self.deployment = deployment

    @classmethod
    def load(cls, me: Recipient, config: str) -> Colleagues:
        return cls(me, load_deployment(config))

    def check(self, school: str, signer: Signer, day: datetime.date) -> bool | None:
        """True: a recipient of the school signed it; False: someone else; None: cannot tell.

        day is the later of the day the message says it was written and the day the
        relay received it: a key replaced by rotation counts up to its last day only.
        """
        if _holds(self.me, signer.key, day):
            return True
        if self.deployment is None:
            return None
        return any(_holds(r, signer.key, day) for r in self.deployment.recipients_for(school))

    def published(self) -> Recipient | None:
        """How the deployment config lists me now (after a rotation, maybe still the old keys)."""
        if self.deployment is None:
            return None
        return next((r for r in self.deployment.recipients if r.id == self.me.id), None)

    def recipients(self, school: str) -> tuple[Recipient, ...]:
        """Everyone a reply on this school's case is sealed to; KeyToolError without a config."""
        if self.deployment is None:
            raise KeyToolError(
                "to send, the tool needs the deployment config: pass --config PATH once "
                "(it is remembered)"
            )
        recipients = self.deployment.recipients_for(school)
        mine = {self.me.x25519, *(p.x25519 for p in self.me.previous)}
        if not any(r.x25519 in mine for r in recipients):
            raise KeyToolError(
                f"the deployment config does not list you as a recipient of {school!r}"
            )
        return recipients

    def schools_of(self, me: Recipient) -> list[str]:
        """The schools I read: named, and (with the config) every school of my districts."""
        slugs = dict.fromkeys(me.schools)
        if self.deployment is not None:
            for school in self.deployment.schools:
                if school.district in me.districts:
                    slugs[school.slug] = None
        return list(slugs)

    def school_name(self, school: str) -> str:
        found = self.deployment.school(school) if self.deployment else None
        return found.name if found else school

    def person(self, recipient_id: str) -> str:
        if self.deployment is not None:
            for r in self.deployment.recipients:
                if r.id == recipient_id:
                    return r.name
        return self.me.name if recipient_id == self.me.id else recipient_id


def load_deployment(config: str) -> Deployment | None:
    """The deployment config at that path (None for "": the tool runs without one)."""
    if not config:
        return None
    try:
        return load_config(Path(config))
    except QuietDoorError as exc:
        raise KeyToolError(f"the deployment config: {exc}") from None


def _holds(recipient: Recipient, ed25519: bytes, day: datetime.date) -> bool:
    """The key is the recipient's signing key, or a previous one still valid on that day."""
    return recipient.ed25519 == ed25519 or any(
        p.ed25519 == ed25519 and still_counts(p.until, day) for p in recipient.previous
    )
