"""The builder: manifest, QR codes, hashes, and its errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from builder.site import BuildError, build_site
from builder.training import build_training

from .helpers import ROOT, KeyedDeployment, make_deployment


@pytest.fixture
def training(tmp_path: Path) -> Path:
    """A copy of the course source, for tests that change it."""
    src = tmp_path / "training-src"
    shutil.copytree(ROOT / "content" / "training", src)
    return src


def test_manifest_lists_schools_and_hashes_every_file(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    seen: list[tuple[int, int]] = []
    manifest = build_site(
        deployment.deployment,
        out,
        training_source=training,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    lincoln = manifest["schools"][0]
    assert lincoln == {
        "slug": "lincoln-high",
        "name": "Lincoln High School",
        "landing_url": "https://report.riverside.example/s/lincoln-high/",
        "pages": {"en": "s/lincoln-high/index.html", "es": "s/lincoln-high/es/index.html"},
        "qr_svg": "s/lincoln-high/qr.svg",
        "qr_png": "s/lincoln-high/qr.png",
    }
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert "training/index.html" in on_disk
    for school in ("lincoln-high", "riverside-middle", "cedar-valley-high"):
        assert {f"s/{school}/case/index.html", f"s/{school}/es/case/index.html"} <= on_disk
    for school in manifest["schools"]:
        decoded = zxingcpp.read_barcodes(Image.open(out / school["qr_png"]))
        assert [b.text for b in decoded] == [school["landing_url"]]


def test_rebuild_is_identical_and_replaces_stale_files(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    first = build_site(deployment.deployment, out, training_source=training)
    (out / "s" / "stale.html").write_text("old")
    second = build_site(deployment.deployment, out, training_source=training)
    assert not (out / "s" / "stale.html").exists()
    landing = {k: v for k, v in first["files"].items() if k.startswith(("s/", "assets/"))}
    assert landing == {k: v for k, v in second["files"].items() if k.startswith(("s/", "assets/"))}


def test_refuses_a_folder_that_is_not_a_build(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.docx").write_text("do not delete")
    with pytest.raises(BuildError, match="holds no earlier build"):
        build_site(deployment.deployment, out, training_source=training)
    assert (out / "thesis.docx").read_text() == "do not delete"


def test_broken_training_link_fails_the_build(training: Path, tmp_path: Path) -> None:
    (training / "docs" / "index.md").write_text("# Mini\n\n[gone](missing.md)\n")
    with pytest.raises(BuildError, match="did not build"):
        build_training(training, tmp_path / "out")


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "build.py", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_cli_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (ROOT / "examples" / "demo.toml")
        .read_text()
        .replace('slug = "cedar-valley-high"', 'slug = "lincoln-high"')
    )
    result = run_build("--config", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"build: {bad}: schools[2].slug: 'lincoln-high' is used twice"
    assert not (tmp_path / "out").exists()


def test_cli_builds_the_example(tmp_path: Path) -> None:
    make_deployment(tmp_path)
    result = run_build(
        "--config", str(tmp_path / "deployment.toml"), "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr
    assert "schools: 3/3" in result.stderr
    assert "built 3 schools" in result.stdout
