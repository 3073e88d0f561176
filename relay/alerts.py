"""Alerts of the escalation ladder, and the task that steps escalations and sends them.

An alert says only that a school has had something waiting for so many minutes:
"A new message for Lincoln High School has waited 15 minutes. Open your desk."
It goes by e-mail and chat webhook to each person of the tier, and to the tier's
channels: PagerDuty (Events API v2: trigger, and resolve with the same dedup_key
when someone looks) and templated webhooks (an SMS gateway, a chat tool). Alerts
are sent concurrently; one that fails is tried again with back-off and never holds
up another. A round waits for its sends at most ALERT_TIMEOUT; a slower one goes on
in the background, is recorded when it ends, and is not sent again by this relay
meanwhile: a channel that is slow but works gets one alert, not one per round.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlencode

from quietdoor.config.ladder import Channel
from quietdoor.config.reader import sends_safely
from relay.escalate import Planner
from relay.escalation_store import (
    RESOLVE,
    Alert,
    claim_alerts,
    due_escalations,
    finish_alert,
    take_step,
)
from relay.metrics import Metrics
from relay.notify import TIMEOUT, Notifier, NotifyError, Stamp, retry_delay
from relay.rounds import every
from relay.store import SQLStore

log = logging.getLogger("relay")

MAX_ATTEMPTS = 24  # with retry_delay, about a day of trying
ALERT_TIMEOUT = 15.0  # seconds a round waits for its sends; a slower one ends on its own

ALERT_THREADS = 8  # alerts sent at once; more wait their turn
AlertKey = tuple[str, int, str]  # dedup_key, step, target: one row of the alerts table


@dataclass(frozen=True)
class Resolved:
    """A channel with its secrets read from the environment at start."""

    channel: Channel
    url: str
    routing_key: str
    headers: tuple[tuple[str, str], ...]


class Alerter:
    """Words and delivers alerts: e-mail and chat through the notifier, channels here."""

    def __init__(
        self, planner: Planner, notifier: Notifier, env: Mapping[str, str] | None = None
    ) -> None:
        self.planner = planner
        self.notifier = notifier
        environment = dict(os.environ) if env is None else env
        escalation = planner.escalation
        self.channels = {
            c.id: self._resolve(c, escalation.pagerduty_url, environment)
            for c in escalation.channels
        }
        self.source = socket.gethostname() or "quietdoor-relay"
        self.sending: dict[AlertKey, asyncio.Task[bool]] = {}  # this relay's sends under way
        # Threads of their own: a slow channel holds up neither the store nor the notices.
        self.threads = ThreadPoolExecutor(ALERT_THREADS, thread_name_prefix="relay-alert")

    @staticmethod
    def _resolve(c: Channel, default_url: str, env: Mapping[str, str]) -> Resolved:
        def read(value: str, what: str) -> str:
            if not value.startswith("env:"):
                return value
            found = env.get(value.removeprefix("env:"), "")
            if not found:
                raise NotifyError(f"[[escalation.channels]] {c.id}: {value} ({what}) is not set")
            return found

        url = read(c.url or default_url, "url")
        if not sends_safely(url):
            raise NotifyError(f"[[escalation.channels]] {c.id}: the url is not https")
        key = read(c.routing_key, "routing key") if c.kind == "pagerduty" else ""
        headers = tuple((name, read(value, name)) for name, value in c.headers)
        return Resolved(channel=c, url=url, routing_key=key, headers=headers)

    def sentence(self, school: str, waited: int) -> str:
        s = self.planner.deployment.school(school)
        name = s.name if s is not None else school
        return f"A new message for {name} has waited {waited} minutes. Open your desk."

    def deliver(self, alert: Alert) -> None:
        """Send one alert; NotifyError (fit for a log) when it did not go."""
        kind, _, name = alert.target.partition(":")
        stamp = Stamp(f"alert {alert.dedup_key} {alert.step} {alert.target}", alert.at)
        text = self.sentence(alert.school, alert.waited)
        if kind in ("email", "webhook"):
            target = self.notifier.target(name, kind)
            if target is not None:
                self.notifier.deliver(target, text, stamp)
            return
        resolved = self.channels.get(name)
        if resolved is None:
            return  # the channel left the config: nothing to send
        if resolved.channel.kind == "pagerduty":
            self._pagerduty(resolved, alert, text)
        elif alert.action != RESOLVE:
            self._webhook(resolved, alert)

    def _pagerduty(self, r: Resolved, alert: Alert, text: str) -> None:
        event: dict[str, object] = {
            "routing_key": r.routing_key,
            "event_action": alert.action,
            "dedup_key": alert.dedup_key,
        }
        if alert.action != RESOLVE:
            event["payload"] = {"summary": text, "source": self.source, "severity": "critical"}
        self._post(r.url, "POST", json.dumps(event).encode(), {"content-type": "application/json"})

    def _webhook(self, r: Resolved, alert: Alert) -> None:
        s = self.planner.deployment.school(alert.school)
        values = {"{school}": s.name if s is not None else alert.school}
        values["{waited}"] = str(alert.waited)

        def fill(template: str) -> str:
            for placeholder, value in values.items():
                template = template.replace(placeholder, value)
            return template

        fields = {name: fill(template) for name, template in r.channel.body}
        if r.channel.content_type == "json":
            body, kind = json.dumps(fields).encode(), "application/json"
        else:
            body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        headers = {name: fill(value) for name, value in r.headers} | {"content-type": kind}
        self._post(r.url, r.channel.method, body, headers)

    @staticmethod
    def _post(url: str, method: str, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - https, or http on loopback (checked at start)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            raise NotifyError(f"the channel answered HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise NotifyError(f"{type(exc).__name__}: {str(exc)[:120]}") from None


async def step_due(planner: Planner, store: SQLStore, now: int) -> int:
    """Take every due step of every open escalation; how many this relay took."""
    taken = 0
    for was in await store.aread(due_escalations, now):
        step = planner.plan(was, now)
        if await store.awrite(was.school, take_step, was, step):
            taken += 1
    return taken


async def send_alerts(
    alerter: Alerter,
    store: SQLStore,
    now: int,
    metrics: Metrics,
    timeout: float = ALERT_TIMEOUT,
) -> int:
    """Claim the alerts due and send them all at once; how many went within `timeout`.

    A send still under way from an earlier round is not started again: its claim has
    come round, but its outcome is not known yet (it is recorded when the send ends)."""
    claimed = await store.awrite("", claim_alerts, now, retry_delay)
    started = []
    for alert in claimed:
        key = (alert.dedup_key, alert.step, alert.target)
        if key in alerter.sending:
            continue
        task = asyncio.create_task(_send(alerter, store, alert, metrics))
        alerter.sending[key] = task
        task.add_done_callback(partial(_ended, alerter.sending, key))
        started.append(task)
    if not started:
        return 0
    done, slow = await asyncio.wait(started, timeout=timeout)
    if slow:
        log.warning("%d alerts slow to send; they go on, recorded when they end", len(slow))
    return sum(t.result() for t in done)


def _ended(
    sending: dict[AlertKey, asyncio.Task[bool]], key: AlertKey, task: asyncio.Task[bool]
) -> None:
    sending.pop(key, None)
    if not task.cancelled() and (exc := task.exception()) is not None:  # seen, not lost
        log.error("an alert's send failed: %s", type(exc).__name__, extra={"event": "error"})


async def _send(alerter: Alerter, store: SQLStore, alert: Alert, metrics: Metrics) -> bool:
    """Send one alert and record the outcome: done, given up, or left for its next try."""
    try:
        await asyncio.get_running_loop().run_in_executor(alerter.threads, alerter.deliver, alert)
    except NotifyError as exc:
        metrics.alerts_failed.inc()
        if alert.attempts < MAX_ATTEMPTS:
            log.warning("alert to %s not sent (%s); will retry", alert.target, exc)
            return False
        log.error("alert to %s given up after %d tries", alert.target, alert.attempts)
    else:
        metrics.alerts_sent.inc()
    await store.awrite(alert.school, finish_alert, alert)
    return True


async def run_escalation(
    alerter: Alerter,
    store: SQLStore,
    clock: Callable[[], float],
    stop: asyncio.Event,
    metrics: Metrics,
) -> None:
    """Step escalations and send alerts until stopped; a failed round never stops the next."""

    async def one_round() -> None:
        now = int(clock())
        await step_due(alerter.planner, store, now)
        await send_alerts(alerter, store, now, metrics)

    await every(min(2.0, alerter.planner.window / 4), stop, "escalation", one_round)
    if alerter.sending:  # let sends under way record their outcome, so none goes twice
        await asyncio.wait(list(alerter.sending.values()), timeout=ALERT_TIMEOUT)
