"""WCAG 2.2 A/AA checks with axe-core, injected into a page whose CSP the test bypasses.

axe-core comes from the npm registry (package.json, pinned by package-lock.json);
scripts/test installs it.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from .paths import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page: Page) -> list[dict[str, Any]]:
    assert AXE.is_file(), "axe-core is missing: run ./scripts/test, which installs it with npm"
    # Colours are measured as shown: let transitions (a button fading in) finish first.
    page.wait_for_function(
        "document.getAnimations().every(a => a.playState !== 'running')", timeout=5000
    )
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
