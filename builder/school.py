"""Everything the builder makes for one school, independent of every other school.

Published (``<out>/s/<slug>/``): the landing and case pages in each language, the QR code
as SVG and PNG, and precompressed copies of the text files; and the school's entry
for the course (``<out>/training/schools/<slug>.json``). Printed
(``<print>/schools/<slug>/``): a PDF per placement and language, and the
placement plan. A school's files depend only on the deployment's settings, the
school's slice of the config and the shared assets, so schools are built in any
order, in parallel, and skipped when their fingerprint has not changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builder import compress
from builder.assets import Asset
from builder.build_record import SchoolRecord, sign_fingerprint
from builder.files import publish, write_if_changed
from builder.landing import case_paths, landing_paths, render_case, render_landing
from builder.plan import render_school_plan, school_problems
from builder.qr import make_code, png_bytes, svg_bytes
from builder.signs import render_pdf, sign_files, sign_text
from builder.training import school_entry, school_entry_path
from quietdoor.config import Deployment, School


@dataclass(frozen=True)
class BuildContext:
    """What every school's build shares; sent once to each worker process."""

    deployment: Deployment
    out_dir: Path
    print_dir: Path
    assets: Mapping[str, Asset]
    shared: str  # fingerprint of the code, assets and deployment-wide settings
    signers: Mapping[str, str]  # slug -> data-signers of its case pages (builder/signers.py)


def school_folder(slug: str) -> str:
    return f"s/{slug}"


def print_folder(slug: str) -> str:
    return f"schools/{slug}"


def build_school(
    ctx: BuildContext, school: School, fingerprint: str, old_signs: Mapping[str, str]
) -> SchoolRecord:
    """Write one school's files; reuse a printed PDF whose inputs have not changed."""
    deployment = ctx.deployment
    files: dict[str, str] = {}

    def add(path: str, data: bytes) -> None:
        files[path] = publish(ctx.out_dir, path, data, compress.FILES)

    pages = landing_paths(deployment, school)
    cases = case_paths(deployment, school)
    for page_path in [*pages.values(), *cases.values()]:
        (ctx.out_dir / page_path).parent.mkdir(parents=True, exist_ok=True)
    for lang, page_path in pages.items():
        html = render_landing(deployment, school, lang, ctx.assets, page_path)
        add(page_path, html.encode("utf-8"))
    for lang, page_path in cases.items():
        html = render_case(
            deployment, school, lang, ctx.assets, page_path, signers=ctx.signers[school.slug]
        )
        add(page_path, html.encode("utf-8"))
    folder = school_folder(school.slug)
    url = deployment.landing_url(school.slug)
    code = make_code(url)
    add(f"{folder}/qr.svg", svg_bytes(code, title=school.name))
    add(f"{folder}/qr.png", png_bytes(code))
    # What the course's completion page loads for this school: its recipients' keys.
    add(f"training/{school_entry_path(school)}", school_entry(deployment, school))

    printed = print_folder(school.slug)
    (ctx.print_dir / printed).mkdir(parents=True, exist_ok=True)
    signs: dict[str, str] = {}
    codes = {url: code}
    for placement in deployment.placements_for(school.slug):
        for lang, name in sign_files(placement, deployment.languages_for(school.slug)).items():
            path = f"{printed}/{name}"
            inputs = sign_fingerprint(school, placement, lang, ctx.shared)
            if old_signs.get(path) != inputs or not (ctx.print_dir / path).is_file():
                text = sign_text(deployment, school, placement, lang)
                # Each language's sign opens that language's page.
                if text.url not in codes:
                    codes[text.url] = make_code(text.url)
                pdf = render_pdf(
                    text, codes[text.url], deployment.paper, placement.kind, deployment.organisation
                )
                write_if_changed(ctx.print_dir / path, pdf)
            signs[path] = inputs
    plan = render_school_plan(deployment, school, school_problems(deployment, school))
    write_if_changed(ctx.print_dir / printed / "plan.html", plan.encode("utf-8"))
    signs[f"{printed}/plan.html"] = fingerprint

    entry = {
        "slug": school.slug,
        "name": school.name,
        "landing_url": url,
        "pages": pages,
        "case_pages": cases,
        "qr_svg": f"{folder}/qr.svg",
        "qr_png": f"{folder}/qr.png",
    }
    return SchoolRecord(fingerprint=fingerprint, entry=entry, files=files, print_files=signs)
