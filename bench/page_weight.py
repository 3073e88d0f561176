"""Page weight of a student's landing page: bytes on the wire, raw and gzipped.

    python bench/page_weight.py

Prints each file the page loads and the totals, before the crypto (what the
student needs to start writing) and in all. Baseline: the HTML alone.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.assets import build_assets  # noqa: E402
from builder.landing import SCRIPTS, STYLESHEET, landing_paths, render_landing  # noqa: E402
from quietdoor.config import load_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    deployment = load_config(ROOT / "examples" / "demo.toml")
    school = deployment.schools[0]
    with tempfile.TemporaryDirectory() as tmp:
        assets = build_assets(Path(tmp))
        page_path = landing_paths(deployment, school)[deployment.languages[0]]
        html = render_landing(deployment, school, deployment.languages[0], assets, page_path)
        files = {"index.html": html.encode()}
        for name in (STYLESHEET, *SCRIPTS):
            files[name] = (Path(tmp) / assets[name].path).read_bytes()
    first_view = ("index.html", STYLESHEET, "app.js")
    print(f"{'file':<20}{'raw':>10}{'gzip':>10}")
    sizes = {}
    for name, data in files.items():
        sizes[name] = (len(data), len(gzip.compress(data, 9)))
        print(f"{name:<20}{sizes[name][0]:>10}{sizes[name][1]:>10}")
    base = sizes["index.html"][1]
    for label, names in (("first view", first_view), ("everything", tuple(files))):
        raw = sum(sizes[n][0] for n in names)
        gz = sum(sizes[n][1] for n in names)
        print(f"{label:<20}{raw:>10}{gz:>10}   {gz / base:.1f}x the HTML alone")


if __name__ == "__main__":
    main()
