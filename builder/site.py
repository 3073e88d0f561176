"""Build the static site of a deployment: training, landing pages, QR codes, manifest.

Each school is built by `build_school`, which depends only on the deployment,
the school and the shared assets, so schools can be built in any order, in
parallel, or skipped when unchanged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from builder.assets import Asset, build_assets
from builder.errors import BuildError
from builder.landing import case_paths, landing_paths, render_case, render_landing
from builder.qr import write_qr
from builder.training import build_course
from quietdoor.config import Deployment, School

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SOURCE = ROOT / "content" / "training"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SchoolOutput:
    slug: str
    name: str
    landing_url: str
    pages: dict[str, str]  # language -> page path relative to the output folder
    qr_svg: str
    qr_png: str


Progress = Callable[[int, int], None]


def build_site(
    deployment: Deployment,
    out_dir: Path,
    *,
    training_source: Path = TRAINING_SOURCE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build everything into out_dir (replacing an earlier build there) and return the manifest."""
    _prepare(out_dir)
    assets = build_assets(out_dir)
    build_course(deployment, out_dir, assets, training_source)
    schools = []
    total = len(deployment.schools)
    for done, school in enumerate(deployment.schools, start=1):
        schools.append(build_school(deployment, school, out_dir, assets))
        if progress is not None:
            progress(done, total)
    manifest = {
        "organisation": deployment.organisation,
        "base_url": deployment.base_url,
        "relay_url": deployment.relay_url,
        "training_url": f"{deployment.base_url}/training/",
        "schools": [asdict(s) for s in schools],
        "files": _hash_files(out_dir),
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def build_school(
    deployment: Deployment, school: School, out_dir: Path, assets: dict[str, Asset]
) -> SchoolOutput:
    pages = landing_paths(deployment, school)
    for lang, page_path in pages.items():
        target = out_dir / page_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            render_landing(deployment, school, lang, assets, page_path), encoding="utf-8"
        )
    for lang, page_path in case_paths(deployment, school).items():
        target = out_dir / page_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            render_case(deployment, school, lang, assets, page_path), encoding="utf-8"
        )
    folder = f"s/{school.slug}"
    url = deployment.landing_url(school.slug)
    write_qr(url, out_dir / folder / "qr.svg", out_dir / folder / "qr.png", title=school.name)
    return SchoolOutput(
        slug=school.slug,
        name=school.name,
        landing_url=url,
        pages=pages,
        qr_svg=f"{folder}/qr.svg",
        qr_png=f"{folder}/qr.png",
    )


def _prepare(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise BuildError(f"{out_dir} is a file, not a folder")
        if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise BuildError(
                f"{out_dir} is not empty and holds no earlier build ({MANIFEST}); "
                "choose an empty folder with --out"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)


def _hash_files(out_dir: Path) -> dict[str, str]:
    return {
        path.relative_to(out_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }
