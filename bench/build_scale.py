"""Builder throughput over many schools (landing pages and QR codes, no training site).

    python bench/build_scale.py [SCHOOLS]

Builds a synthetic deployment of SCHOOLS schools (default 2000) and prints the
time per school, with the ratio to a 50-school baseline run in the same process.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.assets import build_assets  # noqa: E402
from builder.site import build_school  # noqa: E402
from quietdoor.config import Deployment, load_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def synthetic(n: int) -> Deployment:
    base = load_config(ROOT / "examples" / "demo.toml")
    template = base.schools[0]
    schools = tuple(
        dataclasses.replace(template, slug=f"school-{i:06d}", name=f"School {i}") for i in range(n)
    )
    recipients = tuple(
        dataclasses.replace(r, schools=(), districts=(template.district,)) for r in base.recipients
    )
    return dataclasses.replace(base, schools=schools, recipients=recipients)


def per_school(n: int) -> float:
    deployment = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        assets = build_assets(out)
        started = time.perf_counter()
        for school in deployment.schools:
            build_school(deployment, school, out, assets)
        return (time.perf_counter() - started) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    baseline = per_school(50)
    measured = per_school(n)
    print(f"baseline   50 schools: {baseline * 1000:.2f} ms per school")
    print(
        f"measured {n:>5} schools: {measured * 1000:.2f} ms per school "
        f"({measured / baseline:.2f}x baseline; {measured * 130_000 / 60:.0f} min for 130,000)"
    )


if __name__ == "__main__":
    main()
