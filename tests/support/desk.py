"""The desk in this process (Starlette's TestClient), let in and unlocked, for reading pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.testclient import TestClient

from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime

from .keytool import PASS

HOST, PORT = "127.31.4.160", 47124
BASE = f"http://{HOST}:{PORT}"


@contextmanager
def unlocked_desk(home: Path, config: Path, relay: str) -> Iterator[TestClient]:
    """The lead's desk after following its link and unlocking it."""
    runtime = DeskRuntime(home, config=str(config), relay=relay)
    app = create_desk(runtime, HOST, PORT, peer_ok=None)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlock = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": BASE})
        assert unlock.status_code == 303
        yield client


def inbox_row(page: str, ref: str) -> str:
    """The inbox table's row of one case, as HTML."""
    found = re.search(rf'<tr class="case [a-z]+" data-ref="{ref}">(.*?)</tr>', page, re.S)
    assert found, f"no row for case {ref}"
    return found.group(1)


def cells(row: str) -> list[str]:
    """The text of a row's cells, tags removed."""
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    ]
