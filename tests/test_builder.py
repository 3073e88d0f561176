"""The builder: manifest, QR codes, precompressed copies, incremental and parallel builds."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
import zxingcpp
from PIL import Image

from builder.compress import FILES
from builder.site import BuildError, build, build_site
from builder.training import build_training
from quietdoor.config import Deployment, Placement, load_config
from quietdoor.languages import SUPPORTED_LANGUAGES

from .support.deployments import KeyedDeployment, make_deployment
from .support.paths import ROOT
from .support.prints import decoded, pdf_text


@pytest.fixture
def training(tmp_path: Path) -> Path:
    """A copy of the course source, for tests that change it."""
    src = tmp_path / "training-src"
    shutil.copytree(ROOT / "content" / "training", src)
    return src


TEXT_SUFFIXES = (".css", ".html", ".js", ".json", ".xml")


def files_under(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file: relative path -> (modification time in ns, SHA-256)."""
    return {
        p.relative_to(folder).as_posix(): (
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


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
        "case_pages": {
            "en": "s/lincoln-high/case/index.html",
            "es": "s/lincoln-high/es/case/index.html",
        },
        "qr_svg": "s/lincoln-high/qr.svg",
        "qr_png": "s/lincoln-high/qr.png",
    }
    on_disk = set(files_under(out))
    texts = [p for p in [*manifest["files"], "manifest.json"] if p.endswith(TEXT_SUFFIXES)]
    copies = {
        p + suffix
        for p in texts
        for suffix in ((".gz",) if p.startswith(("s/", "training/schools/")) else (".gz", ".br"))
    }
    assert on_disk == {*manifest["files"], "manifest.json", *copies}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert "training/index.html" in on_disk
    assert "training/course.json" in on_disk
    for school in ("lincoln-high", "riverside-middle", "cedar-valley-high"):
        assert {f"s/{school}/case/index.html", f"s/{school}/es/case/index.html"} <= on_disk
    for school in manifest["schools"]:
        decoded = zxingcpp.read_barcodes(Image.open(out / school["qr_png"]))
        assert [b.text for b in decoded] == [school["landing_url"]]


def test_text_files_have_precompressed_copies_the_manifest_describes(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    manifest = build_site(deployment.deployment, out, training_source=training)
    rule = manifest["precompressed"]
    assert rule["encodings"] == {"br": ".br", "gzip": ".gz"}
    assert rule["gzip_only"] == ["s/", "training/schools/"]
    texts = [
        p for p in [*manifest["files"], "manifest.json"] if p.endswith(tuple(rule["suffixes"]))
    ]
    assert "s/lincoln-high/es/index.html" in texts and "assets/landing.css" in texts
    for path in texts:
        original = (out / path).read_bytes()
        assert gzip.decompress((out / f"{path}.gz").read_bytes()) == original
        brotli_copy = out / f"{path}.br"
        if path.startswith(tuple(rule["gzip_only"])):
            assert not brotli_copy.exists()
        else:
            assert brotli.decompress(brotli_copy.read_bytes()) == original
    assert not (out / "s/lincoln-high/qr.png.gz").exists()  # PNG is compressed already
    assert not (out / "s/lincoln-high/qr.svg.gz").exists()  # no page loads it
    page = (out / "s/lincoln-high/index.html").stat().st_size
    assert (out / "s/lincoln-high/index.html.gz").stat().st_size < page / 2


# TCP's first flight from a new connection: ten segments of 1,460 bytes (RFC 6928).
FIRST_FLIGHT = 10 * 1460
# The relay's answer headers for a page, its CSP included: 839 bytes measured on 2026-12-06
# (HTTP/1.1, Russian landing page); the rest is room for a proxy's own headers.
HEADERS_ALLOWANCE = 1536
# What may come before the text box, as gzip: a tenth of a second at 51,200 bytes/s. 4,817 bytes,
# the largest in any language, measured on 2026-12-06.
BEFORE_THE_BOX = 5120


@pytest.mark.parametrize("kind", ["pages", "case_pages"])
def test_every_school_page_arrives_in_the_first_flight_as_gzip(
    deployment: KeyedDeployment, training: Path, tmp_path: Path, kind: str
) -> None:
    """Why a school's pages get no brotli copy: as gzip they already fit the first flight,
    in every language (the signs are left out: they have their own tests)."""
    out = tmp_path / "dist"
    every_language = dataclasses.replace(
        deployment.deployment,
        languages=SUPPORTED_LANGUAGES,
        allow_draft_languages=True,
        placements=(),
    )
    manifest = build_site(every_language, out, training_source=training)
    pages = [p for s in manifest["schools"] for p in s[kind].values()]
    assert len(pages) == 3 * len(SUPPORTED_LANGUAGES)
    sizes = {p: (out / f"{p}.gz").stat().st_size for p in pages}
    assert max(sizes.values()) + HEADERS_ALLOWANCE <= FIRST_FLIGHT, sizes
    # The text box does not wait for the rest: the script just after it shows it, and what
    # comes before it is a tenth of a second on one bar of signal (bench/page_weight.py).
    box = 'id="code"' if kind == "case_pages" else 'id="what"'
    before_box = {}
    for page in pages:
        html = (out / page).read_text(encoding="utf-8")
        at = html.index(box)
        script = html.index("<script>", at)
        between = html[html.index(">", at) + 1 : script]
        assert between.replace("</textarea>", "").strip() == "", page  # the box, the script
        before_box[page] = len(FILES.gzip(html[: html.index("</script>", script)].encode()))
    assert max(before_box.values()) <= BEFORE_THE_BOX, before_box


def test_files_are_compressed_almost_as_small_as_can_be_and_shared_assets_fully(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    build_site(deployment.deployment, out, training_source=training)
    for page in ("s/lincoln-high/index.html", "s/lincoln-high/es/case/index.html"):
        html = (out / page).read_bytes()
        best_gzip = len(gzip.compress(html, compresslevel=9))
        # ISA-L's fast gzip: about 8% over zlib's best (compress.FILES says why).
        assert len((out / f"{page}.gz").read_bytes()) <= best_gzip * 1.1
    course = (out / "training/index.html").read_bytes()
    best_brotli = len(brotli.compress(course, quality=9))  # 11 takes 40 times as long
    assert len((out / "training/index.html.br").read_bytes()) <= best_brotli * 1.02
    css = (out / "assets/landing.css").read_bytes()
    assert len((out / "assets/landing.css.br").read_bytes()) <= len(
        brotli.compress(css, quality=11)
    )


def test_rebuild_is_identical_and_replaces_stale_files(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    first = build_site(deployment.deployment, out, training_source=training)
    (out / "s" / "stale.html").write_text("old")
    (out / "s" / "gone-school").mkdir()
    (out / "old-top.txt").write_text("old")
    second = build_site(deployment.deployment, out, training_source=training)
    assert not (out / "s" / "stale.html").exists()
    assert not (out / "s" / "gone-school").exists()
    assert not (out / "old-top.txt").exists()
    assert first == second


def test_a_rebuild_with_nothing_changed_touches_nothing(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    build(deployment.deployment, out, training_source=training)
    before = files_under(out), files_under(printed)
    report = build(deployment.deployment, out, training_source=training)
    assert (report.built, report.unchanged) == (0, 3)
    assert (files_under(out), files_under(printed)) == before


def test_editing_one_school_rebuilds_only_its_files(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    d = deployment.deployment
    build(d, out, training_source=training)
    before = files_under(out), files_under(printed)
    renamed = d.schools[1]._replace(name="Riverside Middle School North")
    report = build(
        dataclasses.replace(d, schools=(d.schools[0], renamed, d.schools[2])),
        out,
        training_source=training,
    )
    assert (report.built, report.unchanged) == (1, 2)
    site_changes = changed(before[0], files_under(out))
    assert {p.split("/")[1] for p in site_changes if p.startswith("s/")} == {"riverside-middle"}
    # Besides the school's own files: the lists that name schools (the manifest, and the
    # course's list of the district's schools).
    assert {p for p in site_changes if not p.startswith("s/")} == {
        "training/schools/riverside-middle.json",
        "training/schools/riverside-middle.json.gz",
    } | {
        f"{name}{suffix}"
        for name in ("manifest.json", "training/districts/riverside-unified.json")
        for suffix in ("", ".gz", ".br")
    }
    print_changes = changed(before[1], files_under(printed))
    assert "plan.csv" in print_changes  # it names the school
    assert {p for p in print_changes if not p.startswith("schools/")} <= {
        "plan.csv",
        "readiness.html",
        "readiness.csv",
        "districts/riverside-unified.html",
        "build-state.json",
    }
    assert {p.split("/")[1] for p in print_changes if p.startswith("schools/")} == {
        "riverside-middle"
    }


def test_a_rebuilt_school_replaces_changed_files_whole_and_keeps_the_same_ones(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    d = deployment.deployment
    build(d, out, training_source=training)
    page, code = out / "s/riverside-middle/index.html", out / "s/riverside-middle/qr.png"
    old_page, old_code = page.read_bytes(), code.stat()
    renamed = d.schools[1]._replace(name="Riverside Middle School North")
    with page.open("rb") as serving:  # a web server half-way through sending the page
        head = serving.read(100)
        report = build(
            dataclasses.replace(d, schools=(d.schools[0], renamed, d.schools[2])),
            out,
            training_source=training,
        )
        assert head + serving.read() == old_page
    assert report.built == 1 and page.read_bytes() != old_page
    # The code encodes the address, which did not change: the file is the one written before.
    assert (code.stat().st_ino, code.stat().st_mtime_ns) == (old_code.st_ino, old_code.st_mtime_ns)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_signs_are_redrawn_only_when_their_inputs_change(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    d = deployment.deployment
    build(d, out, training_source=training)
    signs = printed / "schools" / "lincoln-high"
    before = files_under(signs)
    assert set(before) == {
        "stalls-2f-en.pdf",
        "stalls-2f-es.pdf",
        "counseling-en.pdf",
        "counseling-es.pdf",
        "plan.html",
    }
    # A new recipient changes the pages (their keys) and the plan, not what a sign says.
    only_district = tuple(r for r in d.recipients if r.id != "dana-ortiz")
    build(dataclasses.replace(d, recipients=only_district), out, training_source=training)
    assert changed(before, files_under(signs)) == {"plan.html"}
    # A new placement adds its two files and leaves the others alone.
    extra = Placement(school="lincoln-high", id="library", location="Library door")
    build(
        dataclasses.replace(d, recipients=only_district, placements=(*d.placements, extra)),
        out,
        training_source=training,
    )
    assert changed(before, files_under(signs)) == {
        "plan.html",
        "library-en.pdf",
        "library-es.pdf",
    }


def test_each_language_sign_opens_that_language_page(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    """A Spanish sign, built with its school, opens the Spanish landing page."""
    out = tmp_path / "dist"
    d = deployment.deployment
    build(d, out, training_source=training)
    signs = tmp_path / "dist-print" / "schools" / "lincoln-high"
    base = "https://report.riverside.example/s/lincoln-high/"
    assert decoded(signs / "counseling-en.pdf", tmp_path) == [base]
    assert decoded(signs / "counseling-es.pdf", tmp_path) == [base + "es/"]
    assert (out / "s" / "lincoln-high" / "es" / "index.html").is_file()
    assert base + "es/" in pdf_text(signs / "counseling-es.pdf")


def test_a_removed_school_is_deleted_and_listed_as_retired(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    d = deployment.deployment
    build(d, out, training_source=training)
    fewer = dataclasses.replace(
        d,
        schools=d.schools[:2],
        placements=tuple(p for p in d.placements if p.school != "cedar-valley-high"),
        recipients=tuple(r for r in d.recipients if r.id != "ruth-nakamura"),
        districts=d.districts[:1],
    )
    report = build(fewer, out, training_source=training)
    assert report.removed == ["cedar-valley-high"]
    assert not (out / "s" / "cedar-valley-high").exists()
    assert not (printed / "schools" / "cedar-valley-high").exists()
    assert not (out / "training/schools/cedar-valley-high.json").exists()
    assert not (out / "training/districts/cedar-valley.json.gz").exists()
    assert (out / "training/schools/lincoln-high.json").is_file()
    assert "s/cedar-valley-high/index.html" in report.manifest["retired"]
    assert "s/cedar-valley-high/index.html" not in report.manifest["files"]
    again = build(d, out, training_source=training)
    assert "s/cedar-valley-high/index.html" not in again.manifest["retired"]


def many_schools(base: Deployment, n: int) -> Deployment:
    template = base.schools[0]
    schools = tuple(template._replace(slug=f"school-{i:03d}", name=f"School {i}") for i in range(n))
    recipients = tuple(
        dataclasses.replace(r, schools=(), districts=(template.district,)) for r in base.recipients
    )
    placements = tuple(
        Placement(school=s.slug, id="a1", location="Hall", private=True) for s in schools[::7]
    )
    return dataclasses.replace(base, schools=schools, recipients=recipients, placements=placements)


def test_worker_processes_build_the_same_files(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    d = many_schools(deployment.deployment, 40)
    seen: list[tuple[int, int]] = []
    parallel = build(
        d, tmp_path / "a", training_source=training, jobs=2, progress=lambda *p: seen.append(p)
    )
    serial = build(d, tmp_path / "b", training_source=training, jobs=1)
    assert parallel.manifest == serial.manifest
    assert seen[-1] == (40, 40) and len(seen) == 2  # one report per chunk of 25
    assert {p: h for p, (_, h) in files_under(tmp_path / "a-print").items()} == {
        p: h for p, (_, h) in files_under(tmp_path / "b-print").items()
    }


@pytest.mark.parametrize("folder", ["dist", "dist-print"])
def test_refuses_a_folder_that_is_not_a_build(
    deployment: KeyedDeployment, training: Path, tmp_path: Path, folder: str
) -> None:
    precious = tmp_path / folder
    precious.mkdir()
    (precious / "thesis.docx").write_text("do not delete")
    with pytest.raises(BuildError, match="holds no earlier build"):
        build_site(deployment.deployment, tmp_path / "dist", training_source=training)
    assert (precious / "thesis.docx").read_text() == "do not delete"


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


def test_cli_builds_the_example_then_only_what_changed(tmp_path: Path) -> None:
    make_deployment(tmp_path)
    args = ("--config", str(tmp_path / "deployment.toml"), "--out", str(tmp_path / "out"))
    result = run_build(*args)
    assert result.returncode == 0, result.stderr
    assert "schools: 3/3" in result.stderr
    assert "built 3 schools (0 unchanged)" in result.stdout
    assert f"signs and plans in {tmp_path / 'out-print'}; readiness: " in result.stdout
    again = run_build(*args)
    assert "built 0 schools (3 unchanged)" in again.stdout
    full = run_build(*args, "--full", "--jobs", "1")
    assert "built 3 schools (0 unchanged)" in full.stdout


def test_loads_the_example_it_builds() -> None:
    assert load_config(ROOT / "examples" / "demo.toml").placements


def test_a_deleted_site_is_built_again_with_a_clean_print_folder(
    deployment: KeyedDeployment, training: Path, tmp_path: Path
) -> None:
    out, printed = tmp_path / "dist", tmp_path / "dist-print"
    build(deployment.deployment, out, training_source=training)
    (printed / "schools" / "lincoln-high" / "old-en.pdf").write_bytes(b"%PDF old")
    shutil.rmtree(out)
    report = build(deployment.deployment, out, training_source=training)
    assert report.built == 3
    assert (out / "s" / "lincoln-high" / "index.html").is_file()
    assert not (printed / "schools" / "lincoln-high" / "old-en.pdf").exists()
    assert (printed / "schools" / "lincoln-high" / "counseling-en.pdf").is_file()
