"""A real SMTP server on loopback that keeps what the relay sends."""

from __future__ import annotations

import time
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

from .processes import free_port

DANA_EMAIL = "dana@lincoln.example"


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, authenticator: Any = None) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.times: list[float] = []  # time.monotonic() of each message's arrival
        self.port = free_port()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.times.append(time.monotonic())
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def texts(self) -> list[tuple[list[str], str, str]]:
        """(to, subject, body) of every message, decoded."""
        out = []
        for to, raw in self.messages:
            mail = message_from_bytes(raw)
            body = mail.get_payload(decode=True)
            assert isinstance(body, bytes)
            out.append((to, str(mail["Subject"]), body.decode().strip()))
        return out
