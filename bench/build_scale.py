"""The builder at state scale, beside the naive floor measured in the same run.

    python bench/build_scale.py [--schools 1000,10000] [--jobs N] [--config-only]

For each size: a synthetic state (schools in a CSV file, 100 per district, one
district recipient each, one sign and one sticker sheet per school) is loaded,
then built four ways: pages and codes only (no placements), the full build with
signs, a rebuild with nothing changed, and a rebuild after one school changed.
The naive floor is a plain loop in one process that renders one Jinja2 page per
language and one segno SVG and PNG per school (automatic mask), written to files.
Then: loading the config against parsing its files, and 130,000 schools from CSV
(``--config-only`` measures just that).
Every full build includes the staff course (mkdocs, in a thread beside the
schools): a fixed cost of a few seconds of CPU whatever the number of schools.
Each timed step starts after os.sync(), so that the kernel writing back the files
of the step before (hundreds of megabytes) is not counted against it.

What the config's fast CSV path (quietdoor/config/csv_schools.py) saved when each
trick went in, loading 130,000 schools:
- the cyclic collector paused during a load: it had taken a fifth of the load,
  walking the kept schools again and again and freeing nothing;
- School a named tuple made with tuple.__new__: a row's school in a third of the
  time of a frozen dataclass's field-by-field set-up, the largest single cost of a row;
- a dict of read-hours texts in front of the cached parser: a lookup costs about
  half a call of it.
Splitting the config into a package (issue 20) kept that load as it was: in six
alternating runs beside the old module, a median best-of-five of 0.87 s of CPU
against 0.89 s (2 shared cores; wall times there varied by half).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segno  # noqa: E402

from builder.assets import build_assets  # noqa: E402
from builder.landing import landing_paths, render_landing  # noqa: E402
from builder.qr import make_code  # noqa: E402
from builder.signs import render_pdf, sign_text  # noqa: E402
from builder.site import TRAINING_SOURCE, build  # noqa: E402
from quietdoor.config import load_config  # noqa: E402
from quietdoor.encoding import b64u_encode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PER_DISTRICT = 100


def write_state(folder: Path, n: int, placements: bool) -> Path:
    """A state deployment: config TOML, schools.csv and (optionally) placements.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    districts = (n + PER_DISTRICT - 1) // PER_DISTRICT
    with (folder / "schools.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slug", "name", "district", "district_name", "read_hours"])
        for i in range(n):
            d = i // PER_DISTRICT
            w.writerow(
                [
                    f"school-{i:06d}",
                    f"School {i}",
                    f"d-{d:04d}",
                    f"District {d}",
                    "mon-fri 07:30-16:30",
                ]
            )
    lines = [
        'organisation = "State program (benchmark)"',
        'base_url = "https://report.state.example"',
        'relay_url = "https://relay.state.example"',
        'languages = ["en", "es"]',
        'timezone = "America/Chicago"',
        'schools_csv = "schools.csv"',
    ]
    if placements:
        with (folder / "placements.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["school", "id", "location", "kind", "private"])
            for i in range(n):
                w.writerow([f"school-{i:06d}", "office", "Counseling office", "sign", "yes"])
                w.writerow([f"school-{i:06d}", "stalls", "Restroom stalls", "sticker", "yes"])
        lines.append('placements_csv = "placements.csv"')
    for d in range(districts):
        lines += [
            "[[recipients]]",
            f'id = "lead-{d:04d}"',
            f'name = "Lead {d}"',
            f'x25519 = "{b64u_encode(d.to_bytes(32, "big"))}"',
            f'ed25519 = "{b64u_encode((d + 2**200).to_bytes(32, "big"))}"',
            f'districts = ["d-{d:04d}"]',
        ]
    (folder / "state.toml").write_text("\n".join(lines) + "\n")
    return folder / "state.toml"


def naive(config: Path, out: Path) -> float:
    """The floor: one page per language and a segno SVG + PNG per school, in one process."""
    deployment = load_config(config)
    assets = build_assets(out)
    os.sync()
    started = time.perf_counter()
    for school in deployment.schools:
        for lang, page in landing_paths(deployment, school).items():
            target = out / page
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_landing(deployment, school, lang, assets, page))
        code = segno.make(deployment.landing_url(school.slug), error="m", micro=False)
        code.save(str(out / f"s/{school.slug}/qr.svg"), scale=8, border=4)
        code.save(str(out / f"s/{school.slug}/qr.png"), scale=12, border=4)
    return time.perf_counter() - started


def timed_build(config: Path, out: Path, training: Path, jobs: int | None) -> tuple[float, int]:
    os.sync()  # the step before wrote tens of thousands of files: not this step's writes
    started = time.perf_counter()
    report = build(load_config(config), out, training_source=training, jobs=jobs)
    return time.perf_counter() - started, report.built


def one_school_changed(config: Path) -> None:
    schools = config.parent / "schools.csv"
    text = schools.read_text()
    schools.write_text(text.replace("School 7,", "School 7 (renamed),", 1))


def config_load(n: int, tmp: Path) -> tuple[float, float, float]:
    """Seconds to parse the files (TOML + CSV rows) and to load and validate them, and per row."""
    config = write_state(tmp / f"load-{n}", n, placements=False)
    parse = load = float("inf")
    for _ in range(5):  # the best of five: this machine is shared, and its speed varies
        started = time.perf_counter()
        tomllib.loads(config.read_text())
        with (config.parent / "schools.csv").open(newline="") as f:
            rows = list(csv.reader(f))
        parse = min(parse, time.perf_counter() - started)
        started = time.perf_counter()
        deployment = load_config(config)
        deployment.recipients_for(deployment.schools[-1].slug)  # build the index
        load = min(load, time.perf_counter() - started)
    assert len(rows) == n + 1
    return parse, load, load / n


def sign_times(config: Path, count: int) -> dict[str, float]:
    """Milliseconds per PDF, sign and sticker sheet, drawn in this process."""
    deployment = load_config(config)
    school = deployment.schools[0]
    code = make_code(deployment.landing_url(school.slug))
    times = {}
    for placement in deployment.placements_for(school.slug):
        text = sign_text(deployment, school, placement, "es")
        render_pdf(text, code, deployment.paper, placement.kind, deployment.organisation)
        started = time.perf_counter()
        for _ in range(count):
            render_pdf(text, code, deployment.paper, placement.kind, deployment.organisation)
        times[placement.kind] = (time.perf_counter() - started) / count * 1000
    return times


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the build's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def line(
    label: str,
    seconds: float,
    n: int,
    floor: float | None = None,
    used: float = 0.0,
    floor_cpu: float = 0.0,
) -> str:
    """Wall time (and its ratio to the naive floor's), and CPU time of every process.

    On a shared machine the wall-time ratio depends on how many cores are free;
    the CPU ratio does not.
    """
    text = f"  {label:<34}{seconds:8.2f} s {seconds / n * 1000:7.2f} ms/school"
    if floor is not None:
        text += f"  {seconds / floor:.2f}x naive"
    if used:
        text += f"  (CPU {used:.1f} s"
        text += f", {used / floor_cpu:.2f}x naive's)" if floor_cpu else ")"
    return text


def builds(tmp: Path, sizes: list[int], jobs: int) -> None:
    """The builds of each size beside the naive floor, then signs drawn in one process."""
    training = TRAINING_SOURCE
    for n in sizes:
        print(f"\n{n:,} schools")
        pages_only = write_state(tmp / f"pages-{n}", n, placements=False)
        before = cpu()
        floor = naive(pages_only, tmp / f"naive-{n}")
        floor_cpu = cpu() - before
        print(line("naive floor (one process)", floor, n, used=floor_cpu))
        before = cpu()
        t, _ = timed_build(pages_only, tmp / f"pages-out-{n}", training, jobs)
        print(line("build: pages and codes", t, n, floor, cpu() - before, floor_cpu))
        with_signs = write_state(tmp / f"signs-{n}", n, placements=True)
        before = cpu()
        t2, _ = timed_build(with_signs, tmp / f"signs-out-{n}", training, jobs)
        label = f"build with signs ({n * 4:,} PDFs)"
        print(line(label, t2, n, floor, cpu() - before, floor_cpu))
        t3, built = timed_build(with_signs, tmp / f"signs-out-{n}", training, jobs)
        print(f"  rebuild, nothing changed          {t3:8.2f} s ({built} schools built)")
        one_school_changed(with_signs)
        t4, built = timed_build(with_signs, tmp / f"signs-out-{n}", training, jobs)
        print(f"  rebuild, one school changed       {t4:8.2f} s ({built} school built)")
    times = sign_times(with_signs, 200)
    print(
        f"\nsigns, drawn in one process: {times['sign']:.1f} ms per sign, "
        f"{times['sticker']:.1f} ms per sheet of four stickers"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", default="1000,10000")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--tmp", type=Path, default=ROOT / "var", help="where to build (default: var/)"
    )
    parser.add_argument(
        "--config-only", action="store_true", help="only load the config against parsing it"
    )
    args = parser.parse_args()
    jobs = args.jobs or os.cpu_count() or 1
    print(f"cores: {os.cpu_count()}, jobs: {jobs}")
    args.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.config_only:
            builds(tmp, [int(x) for x in args.schools.split(",")], jobs)
        for n in (10_000, 130_000):
            parse, load, per = config_load(n, tmp)
            print(
                f"config, {n:,} schools from CSV: parse {parse:.2f} s, load (parse and validate) "
                f"{load:.2f} s ({load / parse:.1f}x parse; {per * 1e6:.1f} us per school)"
            )
        parse, load = toml_load(10_000, tmp)
        print(
            f"config, 10,000 schools as [[schools]] tables: parse {parse:.2f} s, "
            f"load (parse and validate) {load:.2f} s ({load / parse:.2f}x parse)"
        )


def toml_load(n: int, tmp: Path) -> tuple[float, float]:
    """Parsing a TOML config of n [[schools]] against loading and validating it."""
    config = write_state(tmp / f"toml-{n}", n, placements=False)
    rows = list(csv.DictReader((config.parent / "schools.csv").open(newline="")))
    text = config.read_text().replace('schools_csv = "schools.csv"\n', "")
    districts = {r["district"]: r["district_name"] for r in rows}
    text += "".join(
        f'[[districts]]\nslug = "{d}"\nname = "{name}"\n' for d, name in districts.items()
    )
    text += "".join(
        f'[[schools]]\nslug = "{r["slug"]}"\nname = "{r["name"]}"\ndistrict = "{r["district"]}"\n'
        f'read_hours = "{r["read_hours"]}"\n'
        for r in rows
    )
    config.write_text(text)
    parse = load = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        tomllib.loads(config.read_text())
        parse = min(parse, time.perf_counter() - started)
        started = time.perf_counter()
        deployment = load_config(config)
        deployment.recipients_for(deployment.schools[-1].slug)
        load = min(load, time.perf_counter() - started)
    return parse, load


if __name__ == "__main__":
    main()
