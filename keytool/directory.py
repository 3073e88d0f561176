"""Who the lead's colleagues are: the deployment config, read as the one trusted directory.

The relay may be hostile, so it is never asked who a school's recipients are.
The deployment config (the file the lead's district maintains) says it: whose
signatures on replies, receipts and notes are a colleague's, and to which keys a
reply must be sealed so that every colleague, and the student, can read it.
"""

from __future__ import annotations

from pathlib import Path

from keytool.errors import KeyToolError
from quietdoor.config import Deployment, Recipient, load_config
from quietdoor.errors import QuietDoorError
from quietdoor.payloads import Signer


class Colleagues:
    def __init__(self, me: Recipient, deployment: Deployment | None) -> None:
        self.me = me
        self.deployment = deployment

    @classmethod
    def load(cls, me: Recipient, config: str) -> Colleagues:
        if not config:
            return cls(me, None)
        try:
            return cls(me, load_config(Path(config)))
        except QuietDoorError as exc:
            raise KeyToolError(f"the deployment config: {exc}") from None

    def check(self, school: str, signer: Signer) -> bool | None:
        """True: a recipient of the school signed it; False: someone else; None: cannot tell."""
        if signer.key == self.me.ed25519:
            return True
        if self.deployment is None:
            return None
        return any(r.ed25519 == signer.key for r in self.deployment.recipients_for(school))

    def recipients(self, school: str) -> tuple[Recipient, ...]:
        """Everyone a reply on this school's case is sealed to; KeyToolError without a config."""
        if self.deployment is None:
            raise KeyToolError(
                "to send, the tool needs the deployment config: pass --config PATH once "
                "(it is remembered)"
            )
        recipients = self.deployment.recipients_for(school)
        if not any(r.x25519 == self.me.x25519 for r in recipients):
            raise KeyToolError(
                f"the deployment config does not list you as a recipient of {school!r}"
            )
        return recipients

    def school_name(self, school: str) -> str:
        found = self.deployment.school(school) if self.deployment else None
        return found.name if found else school

    def person(self, recipient_id: str) -> str:
        if self.deployment is not None:
            for r in self.deployment.recipients:
                if r.id == recipient_id:
                    return r.name
        return self.me.name if recipient_id == self.me.id else recipient_id
