"""The example deployment with an escalation ladder, and a clock the tests move."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from relay.stores import open_store

from .mail import DANA_EMAIL
from .paths import EXAMPLE

# Riverside Unified: the school's recipients (for Lincoln High, Dana Ortiz), then the
# rota's person on call, then the district lead Marcus Lee, as its 24/7 person.
LADDER = """
[notify]
smtp = "smtp://127.0.0.1:{smtp_port}"
from = "quietdoor@riverside.example"
window_minutes = 15

[[escalation.channels]]
id = "pager"
kind = "pagerduty"
routing_key = "env:QD_TEST_ROUTING_KEY"
url = "{base}/pagerduty"

[[escalation.channels]]
id = "sms"
kind = "webhook"
url = "{base}/sms"
content_type = "{content_type}"
headers = {{ Authorization = "env:QD_TEST_SMS_TOKEN" }}
body = {{ to = "+15550100", text = "Quiet Door: {{school}} has waited {{waited}} minutes." }}

[[escalation.rotas]]
id = "on-call"
shifts = [
  {{ recipient = "ana-wu", hours = "mon-fri 00:00-24:00" }},
  {{ recipient = "ben-cho", hours = "sat-sun 00:00-24:00" }},
]

[[escalation.ladders]]
id = "riverside"
districts = ["riverside-unified"]

[[escalation.ladders.tiers]]
school = true
wait = 60
wait_outside = 15
realert = 15

[[escalation.ladders.tiers]]
rota = "on-call"
wait = 30
wait_outside = 30
realert = 15
channels = ["sms"]

[[escalation.ladders.tiers]]
recipients = ["marcus-lee"]
wait = 15
wait_outside = 15
realert = 15
channels = ["pager"]
"""

ON_CALL = """
[[recipients]]
id = "ana-wu"
name = "Ana Wu"
x25519 = "{ana_x}"
ed25519 = "{ana_ed}"
districts = ["riverside-unified"]
email = "ana@riverside.example"

[[recipients]]
id = "ben-cho"
name = "Ben Cho"
x25519 = "{ben_x}"
ed25519 = "{ben_ed}"
districts = ["riverside-unified"]
email = "ben@riverside.example"
"""

# The secrets the ladder's channels read from the environment.
ENV = {"QD_TEST_ROUTING_KEY": "R0UTING-KEY-FROM-ENV", "QD_TEST_SMS_TOKEN": "Bearer sms-token"}

# Public keys that belong to nobody (fixed so the config is stable).
KEYS = {
    "ana_x": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "ana_ed": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
    "ben_x": "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8",
    "ben_ed": "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8",
}


def example_without_ladder() -> str:
    """The example config up to its escalation ladder: a deployment with none."""
    return EXAMPLE.read_text(encoding="utf-8").split("# An escalation ladder")[0]


def ladder_text(
    base: str = "http://127.0.0.1:9", content_type: str = "json", smtp_port: int = 25
) -> str:
    """The example config with two on-call recipients and the ladder above."""
    example = (
        example_without_ladder()
        .replace(
            'schools = ["lincoln-high"]\n',
            f'schools = ["lincoln-high"]\nemail = "{DANA_EMAIL}"\n',
            1,
        )
        # The relay runs on this machine, as the tests' do: channels on loopback count.
        .replace(
            'relay_url = "https://relay.riverside.example"', 'relay_url = "http://127.0.0.1:8000"'
        )
    )
    return (
        example
        + ON_CALL.format(**KEYS)
        + LADDER.format(base=base, content_type=content_type, smtp_port=smtp_port)
    )


def without_channels(text: str) -> str:
    """The ladder with no channels on its tiers: only people's e-mails and webhooks alert."""
    for line in ('channels = ["sms"]\n', 'channels = ["pager"]\n'):
        assert line in text
        text = text.replace(line, "")
    return text


def changed(text: str, old: str, new: str) -> str:
    """The text with one thing changed; the thing must be there."""
    assert old in text, old
    return text.replace(old, new)


# Ladders whose tiers past the school's cannot alert anyone able to act at every hour.
# Marcus Lee has no e-mail; Ana Wu is on call on weekdays and Ben Cho on weekends.
UNREACHABLE = {
    "no-email": re.sub(
        r"^(email|smtp|from) = .*\n", "", without_channels(ladder_text()), flags=re.M
    ),
    "weekends-no-email": changed(
        without_channels(ladder_text()), 'email = "ben@riverside.example"\n', ""
    ),
    "weekends-no-key": changed(
        without_channels(ladder_text()),
        'districts = ["riverside-unified"]\nemail = "ben@',
        'districts = ["cedar-valley"]\nemail = "ben@',
    ),
}


def write_ladder(folder: Path, text: str | None = None) -> Path:
    path = folder / "ladder.toml"
    path.write_text(ladder_text() if text is None else text, encoding="utf-8")
    return path


def escalation_open(store_url: str) -> bool:
    """Whether the relay's store holds an open escalation (for any school)."""
    store = open_store(store_url)
    try:
        return bool(store.read(lambda tx: tx.all("SELECT school FROM escalations")))
    finally:
        store.close()


class Clock:
    """A clock the tests move by hand; the relay reads it instead of time.time."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def move(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
