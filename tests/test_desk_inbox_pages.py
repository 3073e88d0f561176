"""The desk's inbox page with years of cases: every case to look at first, then a page of
the others, newest first, and a link to older ones (in-process, as test_desk.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime
from keytool.desk.views import OTHER_CASES
from keytool.identity import load_identity

from .support.inbox import fill_cases
from .support.keytool import PASS

HOST, PORT = "127.31.4.160", 47124
URGENT = 3


@pytest.fixture
def desk(home: Path) -> TestClient:
    """Unlocked, with URGENT cases whose student is not safe, then more calm ones than a page."""
    calm = ["yes"] * (OTHER_CASES + 5)
    fill_cases(home, load_identity(home, PASS), "lincoln-high", ["no"] * URGENT + calm)
    runtime = DeskRuntime(home, config=None, relay=None)
    runtime.unlock(PASS)
    client = TestClient(
        create_desk(runtime, HOST, PORT, peer_ok=None), base_url=f"http://{HOST}:{PORT}"
    )
    assert client.get(f"/open?key={runtime.link_secret}", follow_redirects=False).status_code == 303
    return client


def _listed(page: str) -> int:
    return len(re.findall(r'<tr class="case ', page))


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("", URGENT + OTHER_CASES),
        ("?shown=junk", URGENT + OTHER_CASES),
        ("?shown=1", URGENT + OTHER_CASES),
        (f"?shown={OTHER_CASES * 2}", URGENT + OTHER_CASES + 5),
        (f"?school=lincoln-high&shown={OTHER_CASES * 2}", URGENT + OTHER_CASES + 5),
    ],
)
def test_a_page_lists_every_urgent_case_and_the_newest_others(
    desk: TestClient, query: str, listed: int
) -> None:
    page = desk.get("/" + query)
    assert page.status_code == 200 and _listed(page.text) == listed
    older = listed < URGENT + OTHER_CASES + 5
    assert ("5 older cases are not listed" in page.text) is older
    assert (f'shown={OTHER_CASES * 2}">Show older cases</a>' in page.text) is older
