"""What the course's completion page loads, at state and national scale.

    python bench/course_index.py [SCHOOLS ...]    (default: 1000 10000 130000)

For a deployment of SCHOOLS schools in districts of 10, prints the bytes (raw and
gzipped) of each file the completion page loads: course.json (every page loads
it), districts.json, one district's list and one school's keys, and their total.
Baseline, computed in the same run: the single course.json of before issue 9,
which listed every school with its recipients' keys.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.assets import build_assets  # noqa: E402
from builder.course import load_course  # noqa: E402
from builder.state_rules import load_state_rules  # noqa: E402
from builder.training import (  # noqa: E402
    school_entry,
    write_course_json,
    write_school_index,
)
from quietdoor.config import (  # noqa: E402
    District,
    ReadHours,
    Recipient,
    School,
    load_config,
)
from quietdoor.encoding import b64u_encode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def deployment_of(schools: int):  # type: ignore[no-untyped-def]
    example = load_config(ROOT / "examples" / "demo.toml")
    districts = tuple(
        District(slug=f"district-{d}", name=f"Example District {d}")
        for d in range((schools + 9) // 10)
    )
    recipients = tuple(
        Recipient(
            id=f"lead-{d.slug}",
            name="Lead",
            x25519=hashlib.sha256(d.slug.encode()).digest(),  # random-looking, like real keys
            ed25519=hashlib.sha256(d.name.encode()).digest(),
            districts=(d.slug,),
        )
        for d in districts
    )
    return example.__class__(
        organisation=example.organisation,
        base_url=example.base_url,
        relay_url=example.relay_url,
        languages=example.languages,
        quick_exit_url=example.quick_exit_url,
        timezone=example.timezone,
        districts=districts,
        schools=tuple(
            School(
                slug=f"school-{i}",
                name=f"Example School Number {i}",
                district=f"district-{i // 10}",
                read_hours=ReadHours(always=True),
            )
            for i in range(schools)
        ),
        recipients=recipients,
    )


def sizes(data: bytes) -> tuple[int, int]:
    return len(data), len(gzip.compress(data, 9))


def main(counts: list[int]) -> None:
    rules = load_state_rules("")
    course = load_course(ROOT / "content" / "training" / "docs", rules)
    print(f"{'schools':>8} {'file':<32}{'raw':>12}{'gzip':>10}")
    for n in counts:
        deployment = deployment_of(n)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            assets = build_assets(out)
            started = time.perf_counter()
            write_course_json(deployment, course, rules, assets, out / "course.json")
            write_school_index(deployment, out)
            # Each school's entry as the build publishes it (builder/school.py), in memory.
            entries = [school_entry(deployment, school) for school in deployment.schools]
            seconds = time.perf_counter() - started
            loaded = {
                "course.json": (out / "course.json").read_bytes(),
                "districts.json": (out / "districts.json").read_bytes(),
                "districts/district-0.json": (out / "districts" / "district-0.json").read_bytes(),
                "schools/school-0.json": entries[0],
            }
        old = json.dumps(
            {
                "modules": json.loads(loaded["course.json"])["modules"],
                "schools": [
                    {
                        "slug": s.slug,
                        "name": s.name,
                        "recipients": [
                            b64u_encode(r.x25519) for r in deployment.recipients_for(s.slug)
                        ],
                    }
                    for s in deployment.schools
                ],
            },
            indent=2,
        ).encode()
        total = [0, 0]
        for name, data in loaded.items():
            raw, gz = sizes(data)
            total[0] += raw
            total[1] += gz
            print(f"{n:>8} {name:<32}{raw:>12,}{gz:>10,}")
        print(f"{n:>8} {'completion page loads, in all':<32}{total[0]:>12,}{total[1]:>10,}")
        raw, gz = sizes(old)
        print(f"{n:>8} {'baseline: one course.json':<32}{raw:>12,}{gz:>10,}")
        print(
            f"{n:>8} ratio {total[1] / gz:.4f} of the baseline (gzip); "
            f"index made in {seconds:.1f} s"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 130000])
