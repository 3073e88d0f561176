"""Build the static site of a deployment: training, landing pages, QR codes, manifest.

Each school is built by `build_school`, which depends only on the deployment,
the school and the shared assets, so schools can be built in any order, in
parallel, or skipped when unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from builder.assets import Asset, build_assets
from builder.course import CourseError, Module, load_course
from builder.errors import BuildError
from builder.landing import landing_paths, render_landing
from builder.qr import write_qr
from quietdoor.config import Deployment, School
from quietdoor.encoding import b64u_encode

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SOURCE = ROOT / "content" / "training"
MANIFEST = "manifest.json"
COURSE_JSON = "course.json"
COURSE_SCRIPTS = ("nacl-fast.min.js", "blake2b.js", "envelope.js")


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
    try:
        modules = load_course(training_source / "docs")
    except CourseError as exc:
        raise BuildError(f"the training course is incomplete: {exc}") from None
    build_training(training_source, out_dir / "training")
    assets = build_assets(out_dir)
    write_course_json(deployment, modules, assets, out_dir / "training" / COURSE_JSON)
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


def build_training(source: Path, target: Path) -> None:
    """Render the course with mkdocs in strict mode: a broken link fails the build."""
    config = source / "mkdocs.yml"
    if not config.is_file():
        raise BuildError(f"{config}: the training site's mkdocs.yml is missing")
    result = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
        # Not --quiet: mkdocs then stops counting warnings, and --strict stops failing on them.
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(target.resolve()),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode != 0:
        detail = "\n".join(
            line
            for line in (result.stderr + result.stdout).splitlines()
            if line.startswith(("WARNING", "ERROR", "Aborted", "Error"))
        )
        raise BuildError(f"the training site did not build:\n{detail}")


def write_course_json(
    deployment: Deployment, modules: list[Module], assets: dict[str, Asset], path: Path
) -> None:
    """What the course's pages need: module versions, and where and to whom to send completions."""
    course = {
        "modules": [
            {
                "id": m.id,
                "title": m.title,
                "version": m.version,
                "path": m.path,
                "minutes": m.minutes,
                "questions": len(m.questions),
            }
            for m in modules
        ],
        "relay_url": deployment.relay_url,
        "schools": [
            {
                "slug": s.slug,
                "name": s.name,
                "recipients": [b64u_encode(r.x25519) for r in deployment.recipients_for(s.slug)],
            }
            for s in deployment.schools
        ],
        "scripts": [
            {
                "src": f"../{assets[name].path}?v={assets[name].version}",
                "integrity": assets[name].integrity,
            }
            for name in COURSE_SCRIPTS
        ],
    }
    path.write_text(json.dumps(course, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
