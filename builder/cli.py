"""quietdoor-build --config PATH --out DIR: build a deployment's site and what it prints.

Writes the published site to --out (the training course, a landing page per
school and language, QR codes, the vendored browser crypto, precompressed copies
and manifest.json) and, to --print-out (never published; default: DIR-print),
a sign or sticker sheet per placement and language, each school's placement
plan, plan.csv and the readiness report. Only what changed since the last build
into the same folders is rebuilt; --full starts again from empty folders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.errors import BuildError
from builder.progress import ProgressPrinter
from builder.site import build, default_print_dir
from quietdoor import console
from quietdoor.config import load_config
from quietdoor.errors import QuietDoorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quietdoor-build", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("examples/demo.toml"))
    parser.add_argument("--out", type=Path, default=Path("dist"), help="the site to publish")
    parser.add_argument(
        "--print-out", type=Path, help="signs, plans, readiness (default: OUT-print)"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: every core)"
    )
    parser.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    print_dir = args.print_out or default_print_dir(args.out)
    try:
        deployment = load_config(args.config)
        report = build(
            deployment,
            args.out,
            print_dir=print_dir,
            progress=ProgressPrinter(),
            jobs=args.jobs,
            full=args.full,
        )
    except (QuietDoorError, BuildError) as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    manifest = report.manifest
    print(
        f"built {report.built} schools ({report.unchanged} unchanged"
        + (f", {len(report.removed)} removed" if report.removed else "")
        + f"); {len(manifest['schools'])} schools and {len(manifest['files'])} files in {args.out}"
    )
    problems = [f for f in report.findings if f.level == "problem"]
    schools = {f.school for f in problems if f.school}
    readiness = (
        f"{len(problems)} problems at {len(schools)} schools, see {print_dir / 'readiness.html'}"
        if problems
        else "nothing stands in the way"
    )
    print(f"signs and plans in {print_dir}; readiness: {readiness}")
    return 0


def cli() -> int:
    return console.run("build", main)
