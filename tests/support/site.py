"""The example deployment built and served by a real relay, and conversations posted to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx2 as httpx

from builder.site import build_site
from demo.prepare import PASSPHRASE as DEMO_PASSPHRASE
from demo.prepare import prepare
from keytool.identity import load_identity
from quietdoor.config import Deployment, dump_config, load_config

from .envelopes import StudentCase, new_case, staff_message
from .mail import DANA_EMAIL
from .paths import EXAMPLE
from .processes import RelayProcess, free_port, start_relay
from .relay_api import as_body, proof, reply_path, signed_headers


@dataclass
class Site:
    deployment: Deployment
    dist: Path
    var: Path
    relay: RelayProcess


def serve_example(tmp: Path, mail_port: int | None = None, languages: Sequence[str] = ()) -> Site:
    """The example deployment with fresh keys for every lead (in tmp/var/keys/<id>), built
    and served by a real relay; stop it with stop_relay(site.relay).

    With mail_port, Dana Ortiz (Lincoln High's lead) is told of new messages by email,
    through the SMTP server on that loopback port, in windows of 3 seconds.
    With languages, the pages are in those (drafts allowed) and nothing is printed: the
    signs have their own tests.
    """
    port = free_port()
    config, deployment = prepare(EXAMPLE, tmp / "var", port)
    # The page's proof of work stays on, as in production; but the whole suite is one
    # address, and sends a school more than a normal day's messages.
    deployment = dataclasses.replace(
        deployment,
        relay=dataclasses.replace(
            deployment.relay, address_per_minute=0, normal_daily_per_school=400
        ),
    )
    if languages:
        deployment = dataclasses.replace(
            deployment, languages=tuple(languages), allow_draft_languages=True, placements=()
        )
    if mail_port is not None:
        deployment = dataclasses.replace(
            deployment,
            recipients=tuple(
                dataclasses.replace(r, email=DANA_EMAIL) if r.id == "dana-ortiz" else r
                for r in deployment.recipients
            ),
            notify=dataclasses.replace(
                deployment.notify,
                smtp=f"smtp://127.0.0.1:{mail_port}",
                sender="quietdoor@riverside.example",
                window_minutes=0.05,
            ),
        )
    config.write_text(dump_config(deployment), encoding="utf-8")
    deployment = load_config(config)
    build_site(deployment, tmp / "dist")
    relay = start_relay(
        config, f"sqlite:///{tmp / 'relay.db'}", tmp, static=tmp / "dist", port=port
    )
    return Site(deployment=deployment, dist=tmp / "dist", var=tmp / "var", relay=relay)


def post_conversation(
    site: Site,
    school: str,
    staff: str,
    report: str,
    reply: str,
    times: Sequence[datetime | None] = (None, None, None),
    code: str | None = None,
) -> StudentCase:
    """A case on the site's relay, as a student and a lead of the example leave it: the
    report, a read receipt and a reply signed by `staff` (whose keys are in site.var), each
    written at its time in `times` (now by default)."""
    identity = load_identity(site.var / "keys" / staff, DEMO_PASSPHRASE)
    case = new_case(site.deployment, school, report, "unsure", code=code, now=times[0])
    answer = httpx.post(
        site.relay.url + "/api/v1/cases", json=case.body, headers=proof(site.relay.url, school)
    )
    assert answer.status_code == 201, answer.text
    for text, when in (("", times[1]), (reply, times[2])):
        message = staff_message(site.deployment, case, staff, identity.signing_key, text, when)
        body = as_body(message)
        headers = signed_headers(identity.signing_key, reply_path(case), "POST", body)
        answer = httpx.post(site.relay.url + reply_path(case), content=body, headers=headers)
        assert answer.status_code == 201, answer.text
    return case
