"""Notices to staff: "There is something new in Quiet Door for Lincoln High School."

A notice says only that something new arrived for a school: no content, no case,
no time finer than the window it went out in. When a student's message is
stored, a pending notice for each recipient of the school (who has an email or a
webhook) is written in the same transaction, keyed by the end of the current
fixed window (default 15 minutes; or, in digest mode, the next digest time).
However many messages arrive in a window, a recipient gets one notice for it,
so the mail or chat provider learns the time of a report only to the window.

A background task sends what is due and deletes it; a failed delivery is tried
again later, and a relay killed before sending sends after it restarts. Several
relays sharing a database each claim a notice before sending it, so it goes
out once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from quietdoor.config import Deployment, NotifySettings, Recipient
from quietdoor.config.reader import sends_safely
from relay.errors import RelayError
from relay.rounds import every
from relay.store import Notice, SQLStore, claim_notices, finish_notices

log = logging.getLogger("relay")

PASSWORD_ENV = "QUIETDOOR_SMTP_PASSWORD"  # noqa: S105 - the name, not a password
POLL_SECONDS = 2.0
TIMEOUT = 20
NOTICE_THREADS = 2  # notices go one at a time, in threads of their own
MAX_ATTEMPTS = 24  # with the back-off below, about a day of trying
SUBJECT = "Something new in Quiet Door"


class NotifyError(RelayError):
    """A notice that could not be delivered this time; it is tried again later."""


@dataclass(frozen=True)
class Target:
    recipient: str
    channel: str  # a key of the notifier's senders: "email" or "webhook"
    address: str


@dataclass(frozen=True)
class Stamp:
    """What makes a repeat of one e-mail the same e-mail: its Message-ID and Date.

    key names the notice or alert (never its content); at is when it was due, so the
    Date says no more than the window.
    """

    key: str
    at: int

    def message_id(self, sender: str) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"<{digest}@{sender.rpartition('@')[2] or 'quietdoor.invalid'}>"


Sender = Callable[["Notifier", str, str, Stamp], None]
"""Sends one text to one address; raises OSError, SMTPException or NotifyError."""


class Notifier:
    """Which notices a new message makes, and how they are worded and delivered."""

    def __init__(
        self,
        deployment: Deployment,
        env: dict[str, str] | None = None,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.deployment = deployment
        self.senders: Mapping[str, Sender] = SENDERS if senders is None else senders
        self.settings: NotifySettings = deployment.notify
        environment = dict(os.environ) if env is None else env
        self.password = environment.get(PASSWORD_ENV, "")
        # A send waits on another's server: notices get threads of their own, so a slow
        # mail server never holds the threads the store writes reports with, nor alerts'.
        self.threads = ThreadPoolExecutor(NOTICE_THREADS, thread_name_prefix="relay-notice")
        self._targets: dict[str, tuple[Target, ...]] = {}
        self._recipients = {r.id: r for r in deployment.recipients}
        for r in deployment.recipients:
            self._targets[r.id] = tuple(self._targets_of(r, environment))
            for t in self._targets[r.id]:
                if t.channel not in self.senders:
                    known = ", ".join(sorted(self.senders)) or "none"
                    raise NotifyError(
                        f"recipient {r.id}: no sender for the channel {t.channel!r} "
                        f"(known: {known})"
                    )
        if self.settings.smtp and urlsplit(self.settings.smtp).username and not self.password:
            raise NotifyError(f"[notify] smtp names a user: set {PASSWORD_ENV} to its password")

    @property
    def active(self) -> bool:
        return any(self._targets.values())

    def _targets_of(self, r: Recipient, environment: dict[str, str]) -> Iterable[Target]:
        if r.email and self.settings.smtp:
            yield Target(r.id, "email", r.email)
        if r.webhook:
            url = r.webhook
            if url.startswith("env:"):
                url = environment.get(url.removeprefix("env:"), "")
                if not sends_safely(url):
                    raise NotifyError(f"recipient {r.id}: {r.webhook} holds no webhook URL")
            yield Target(r.id, "webhook", url)

    def pending(self, school: str, now: datetime) -> list[Notice]:
        """The notices a new message for this school makes, due at the end of the window."""
        if not self.active:
            return []
        due = self.due_time(now, school)
        return [
            Notice(recipient=t.recipient, channel=t.channel, school=school, due=due)
            for r in self.deployment.recipients_for(school)
            for t in self._targets.get(r.id, ())
        ]

    def due_time(self, now: datetime, school: str = "") -> int:
        """The end of the window `now` falls in (Unix seconds): the earliest a notice goes out.

        A digest goes out at `digest_at` in the school's zone (its district's own, if set).
        """
        if self.settings.mode == "digest":
            local = now.astimezone(ZoneInfo(self.deployment.timezone_of(school)))
            hour, minute = map(int, self.settings.digest_at.split(":"))
            at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if at <= local:
                at += timedelta(days=1)
            return int(at.timestamp())
        width = self.settings.window_minutes * 60
        return int(math.floor(now.timestamp() / width) * width + width)

    def sentence(self, schools: Sequence[str]) -> str:
        names = [self._school_name(s) for s in sorted(schools)]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"There is something new in Quiet Door for {listed}. Open your key tool."

    def _school_name(self, slug: str) -> str:
        school = self.deployment.school(slug)
        return school.name if school else slug

    def target(self, recipient: str, channel: str) -> Target | None:
        for t in self._targets.get(recipient, ()):
            if t.channel == channel:
                return t
        return None

    def deliver(self, target: Target, text: str, stamp: Stamp) -> None:
        """Send one notice or alert; NotifyError (with a reason fit for a log) if it did not go."""
        send = self.senders[target.channel]
        try:
            send(self, target.address, text, stamp)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise NotifyError(f"{type(exc).__name__}: {str(exc)[:120]}") from None

    def send_email(self, address: str, text: str, stamp: Stamp) -> None:
        parts = urlsplit(self.settings.smtp)
        host = parts.hostname or ""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = address
        message["Subject"] = SUBJECT
        message["Date"] = formatdate(stamp.at, usegmt=True)
        message["Message-ID"] = stamp.message_id(self.settings.sender)
        message.set_content(text + "\n")
        context = ssl.create_default_context()
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls(context=context)
            if parts.username:
                client.login(unquote(parts.username), self.password)
            client.send_message(message)

    def send_webhook(self, url: str, text: str, stamp: Stamp) -> None:
        request = urllib.request.Request(  # noqa: S310 - https, or http on loopback (config)
            url,
            data=json.dumps({"text": text}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            raise NotifyError(f"the webhook answered HTTP {exc.code}") from None


SENDERS: Mapping[str, Sender] = {"email": Notifier.send_email, "webhook": Notifier.send_webhook}


def retry_delay(attempts: int) -> int:
    """Seconds before the next try: 30 s, 1 min, 2 min … at most an hour."""
    return int(min(30 * 2 ** max(attempts - 1, 0), 3600))


async def send_due(notifier: Notifier, store: SQLStore, clock: Callable[[], float]) -> int:
    """Claim every notice that is due, send one per recipient, channel and window; how many went."""
    now = int(clock())
    claimed = await store.awrite("", claim_notices, now, retry_delay)
    groups: dict[tuple[str, str, int], list[Notice]] = {}
    for notice in claimed:
        groups.setdefault((notice.recipient, notice.channel, notice.due), []).append(notice)
    sent = 0
    for (recipient, channel, due), notices in groups.items():
        target = notifier.target(recipient, channel)
        attempts = max(n.attempts for n in notices)
        if target is not None:
            text = notifier.sentence([n.school for n in notices])
            try:
                stamp = Stamp(f"notice {recipient} {channel} {due}", due)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(notifier.threads, notifier.deliver, target, text, stamp)
            except NotifyError as exc:
                if attempts < MAX_ATTEMPTS:
                    log.warning(
                        "notice to %s by %s not sent (%s); will retry", recipient, channel, exc
                    )
                    continue
                log.error(
                    "notice to %s by %s given up after %d tries", recipient, channel, attempts
                )
            else:
                sent += 1
        # Delivered, given up, or the recipient or channel left the config: done with it.
        await store.awrite("", finish_notices, notices)
    return sent


async def run_sender(
    notifier: Notifier, store: SQLStore, clock: Callable[[], float], stop: asyncio.Event
) -> None:
    """Send due notices until stopped; a failure of one round never stops the next."""
    await every(POLL_SECONDS, stop, "notice sender", lambda: send_due(notifier, store, clock))
