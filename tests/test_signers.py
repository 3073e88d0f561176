"""data-signers: the staff keys a school's case page trusts (builder/signers.py).

Current keys, keys a rotation replaced (with their last day), and the keys of
recipients removed from the school, kept for retention_days from the build
that first saw them gone, remembered in the build record.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import json
import re
from pathlib import Path

from builder.build_record import RECORD_FILE
from builder.site import build
from quietdoor.config import Deployment, PreviousKeys
from quietdoor.encoding import b64u_encode

from .support.deployments import KeyedDeployment
from .support.paths import ROOT

TRAINING = ROOT / "content/training"
CASE_PAGES = ("s/lincoln-high/case/index.html", "s/lincoln-high/es/case/index.html")
SIGNERS = re.compile(r'data-signers="([^"]*)"')


def published(out: Path, page: str = CASE_PAGES[0]) -> list[dict[str, str | None]]:
    found = SIGNERS.search((out / page).read_text(encoding="utf-8"))
    assert found, f"{page} has no data-signers"
    signers: list[dict[str, str | None]] = json.loads(html.unescape(found.group(1)))
    return signers


def key_of(d: Deployment, recipient: str) -> str:
    return b64u_encode(next(r for r in d.recipients if r.id == recipient).ed25519)


def without(d: Deployment, recipient: str) -> Deployment:
    return dataclasses.replace(d, recipients=tuple(r for r in d.recipients if r.id != recipient))


def test_current_and_replaced_keys_are_published_on_every_case_page(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    d = deployment.deployment
    old = PreviousKeys(x25519=bytes(32), ed25519=b"\x07" * 32, until=datetime.date(2026, 12, 1))
    rotated = tuple(
        dataclasses.replace(r, previous=(old,)) if r.id == "dana-ortiz" else r for r in d.recipients
    )
    out = tmp_path / "dist"
    build(dataclasses.replace(d, recipients=rotated), out, training_source=TRAINING)
    expected = [
        {"key": key_of(d, "dana-ortiz"), "until": None},
        {"key": b64u_encode(b"\x07" * 32), "until": "2026-12-01"},
        {"key": key_of(d, "marcus-lee"), "until": None},
    ]
    assert [published(out, page) for page in CASE_PAGES] == [expected, expected]
    # Another school's page names only its own recipients.
    assert published(out, "s/riverside-middle/case/index.html") == [
        {"key": key_of(d, "marcus-lee"), "until": None}
    ]


def test_a_removed_recipient_is_trusted_for_retention_days_then_dropped(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    d = deployment.deployment
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    training = TRAINING
    build(d, out, training_source=training)
    dana = key_of(d, "dana-ortiz")

    report = build(without(d, "dana-ortiz"), out, training_source=training)
    assert report.built >= 1, "the school's pages are rebuilt when a signer is removed"
    until = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(
        days=d.relay.retention_days
    )
    assert published(out) == [
        {"key": key_of(d, "marcus-lee"), "until": None},
        {"key": dana, "until": until.isoformat()},
    ]
    # A later build keeps the day it was first seen gone, even one from empty folders.
    build(without(d, "dana-ortiz"), out, training_source=training)
    assert {"key": dana, "until": until.isoformat()} in published(out)
    build(without(d, "dana-ortiz"), out, training_source=training, full=True)
    assert {"key": dana, "until": until.isoformat()} in published(out)

    # Once that day has passed (as the build record says), the key is dropped.
    record_path = printed / RECORD_FILE
    record = json.loads(record_path.read_text())
    for signer in record["signers"]["lincoln-high"]:
        if signer["key"] == dana:
            signer["until"] = "2020-01-01"
    record_path.write_text(json.dumps(record))
    build(without(d, "dana-ortiz"), out, training_source=training)
    assert published(out) == [{"key": key_of(d, "marcus-lee"), "until": None}]


def test_a_recipient_added_back_is_current_again(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    d = deployment.deployment
    out = tmp_path / "dist"
    training = TRAINING
    build(d, out, training_source=training)
    build(without(d, "dana-ortiz"), out, training_source=training)
    build(d, out, training_source=training)
    assert published(out) == [
        {"key": key_of(d, "dana-ortiz"), "until": None},
        {"key": key_of(d, "marcus-lee"), "until": None},
    ]
