"""quietdoor-build --config PATH --out DIR: build a deployment's site and what it prints.

Writes the published site to --out (the training course, a landing page per
school and language, QR codes, the vendored browser crypto, precompressed copies
and manifest.json) and, to --print-out (never published; default: DIR-print),
a sign or sticker sheet per placement and language, each school's placement
plan, plan.csv and the readiness report. Only what changed since the last build
into the same folders is rebuilt; --full starts again from empty folders.

--review-kit LANG DIR and --apply-review FILE are a translation's review
(docs/LANGUAGES.md): they write or read its files and build nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.errors import BuildError
from builder.progress import ProgressPrinter
from builder.review_kit import apply_review, write_kit
from builder.site import build, default_print_dir
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
    review = parser.add_mutually_exclusive_group()
    review.add_argument(
        "--review-kit",
        nargs=2,
        metavar=("LANG", "DIR"),
        help="write a translation's review page and CSV into DIR, and stop",
    )
    review.add_argument(
        "--apply-review", type=Path, metavar="FILE", help="apply a reviewed CSV, and stop"
    )
    args = parser.parse_args(argv)
    if args.review_kit or args.apply_review:
        return _review(args.review_kit, args.apply_review)
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


def _review(kit: list[str] | None, reviewed: Path | None) -> int:
    try:
        if kit:
            page, sheet = write_kit(kit[0], Path(kit[1]))
            print(
                f"review kit: read {page}, fill in {sheet}, then: "
                "quietdoor-build --apply-review FILE"
            )
        elif reviewed:
            lang = apply_review(reviewed)
            print(f"site/i18n/{lang}.toml: corrections applied, marked reviewed")
    except BuildError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    return 0
