"""Build the static site of a deployment, and what a district prints to put it up.

``out`` (published): the training course, a landing page per school and
language, QR codes, the shared assets, precompressed copies of text files, and
``manifest.json``. ``print`` (not published; by default ``<out>-print``): signs
and sticker sheets, each school's placement plan, ``plan.csv``, the readiness
report, and the build record.

Schools are built in parallel worker processes, and only when their inputs
changed (see builder.build_record); a rebuild with nothing changed rewrites nothing.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from builder import compress
from builder.assets import Asset, build_assets
from builder.build_record import (
    RECORD_FILE,
    BuildRecord,
    SchoolRecord,
    code_version,
    load_record,
    save_record,
    school_fingerprint,
    settings_fingerprint,
    tree_version,
)
from builder.course import Course
from builder.course_language import (
    CourseLanguage,
    all_course_languages,
    published_course_languages,
    translated_course,
)
from builder.errors import BuildError
from builder.files import (
    expected_with_copies,
    publish,
    remove_tree,
    remove_unexpected,
    write_if_changed,
)
from builder.i18n import refuse_drafts
from builder.plan import (
    Finding,
    by_district,
    course_draft_findings,
    deployment_problems,
    district_problems,
    plan_csv,
    readiness_csv,
    render_district,
    render_readiness,
    school_problems,
)
from builder.school import BuildContext, build_school, print_folder, school_folder
from builder.signers import school_signers, signers_json
from builder.state_rules import StateRules
from builder.training import (
    ANSWER_KEY,
    COURSE_JSON,
    DISTRICTS_DIR,
    DISTRICTS_JSON,
    ITEMS_JSON,
    SCHOOLS_DIR,
    check_course,
    course_version,
    render_training,
    write_answer_key,
    write_course_json,
    write_items_json,
    write_school_index,
)
from quietdoor.config import Deployment, School

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SOURCE = ROOT / "content" / "training"
MANIFEST = "manifest.json"
PARALLEL_FROM = 32  # fewer schools than this are built in this process: starting workers costs more
CHUNK = 25  # schools per task sent to a worker
READABLE_MANIFEST = 200  # schools; a larger manifest is written without indentation

Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    """What a build did, for the command line."""

    manifest: dict[str, Any]
    built: int  # schools built this time
    unchanged: int  # schools whose files were kept
    removed: list[str]  # schools no longer in the config, whose files were deleted
    findings: list[Finding] = field(default_factory=list)
    print_dir: Path = Path()


def default_print_dir(out_dir: Path) -> Path:
    return out_dir.parent / f"{out_dir.name}-print"


def build_site(
    deployment: Deployment,
    out_dir: Path,
    *,
    print_dir: Path | None = None,
    training_source: Path = TRAINING_SOURCE,
    progress: Progress | None = None,
    jobs: int | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Build into out_dir and print_dir (updating an earlier build there); the manifest."""
    return build(
        deployment,
        out_dir,
        print_dir=print_dir,
        training_source=training_source,
        progress=progress,
        jobs=jobs,
        full=full,
    ).manifest


def build(
    deployment: Deployment,
    out_dir: Path,
    *,
    print_dir: Path | None = None,
    training_source: Path = TRAINING_SOURCE,
    progress: Progress | None = None,
    jobs: int | None = None,
    full: bool = False,
) -> BuildReport:
    """Build, or bring an earlier build up to date; what was done."""
    refuse_drafts(deployment)
    print_dir = print_dir or default_print_dir(out_dir)
    code = code_version()
    record, fresh = _open_folders(out_dir, print_dir, code, full)
    course, rules = check_course(deployment, training_source)
    languages = published_course_languages(training_source, deployment.allow_draft_languages)
    translations = {
        lang.code: translated_course(course, training_source, rules, lang.code)
        for lang in languages
    }
    # The course depends on its source, mkdocs and the deployment's settings (its state).
    training_version = tree_version(
        training_source,
        _library("mkdocs"),
        _library("mkdocs-material"),
        settings_fingerprint(deployment),
    )
    rendering = None
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    site_dir = Path(tempfile.mkdtemp(prefix="quietdoor-training-"))
    if training_version != record.training or not (out_dir / "training").is_dir():
        # mkdocs runs in its own process: a thread waits for it while the schools build.
        rendering = pool.submit(
            render_training, training_source, rules, site_dir / "training", languages
        )
    (out_dir / "training" / SCHOOLS_DIR).mkdir(parents=True, exist_ok=True)

    try:
        assets, asset_files = _publish_assets(out_dir)
        shared = _shared_fingerprint(deployment, code, assets)
        signers = {
            s.slug: school_signers(deployment, s, record.signers.get(s.slug, []), _today())
            for s in deployment.schools
        }
        published = {slug: signers_json(keys) for slug, keys in signers.items()}
        ctx = BuildContext(deployment, out_dir, print_dir, assets, shared, published)
        todo, kept = _schools_to_build(deployment, record, shared, out_dir, published)
        built = _build_schools(ctx, todo, jobs or os.cpu_count() or 1, progress)
        schools = {s.slug: kept.get(s.slug) or built[s.slug] for s in deployment.schools}
        retired = set(record.retired)
        if not fresh:
            retired |= _sweep_built(out_dir, print_dir, record, built)
        removed = [slug for slug in record.schools if slug not in schools]
        retired |= _remove_schools(out_dir, print_dir, record, removed)
        rendered = record.training_files  # the course's pages, as mkdocs made them
        if rendering is not None:
            rendering.result()
            rendered = _publish_training(site_dir / "training", out_dir)
    finally:
        pool.shutdown(cancel_futures=True)  # waits for mkdocs when a school failed
        remove_tree(site_dir)
    course_files = _publish_course_files(deployment, course, rules, assets, out_dir)
    for lang, translated in translations.items():
        course_files.update(
            _publish_translation_files(deployment, course, translated, rules, lang, assets, out_dir)
        )

    files: dict[str, str] = {**asset_files, **rendered, **course_files}
    for school in deployment.schools:
        files.update(schools[school.slug].files)
    retired -= set(files)
    manifest = _publish_manifest(deployment, out_dir, files, schools, retired)
    write_answer_key(deployment, course, print_dir / ANSWER_KEY)
    findings = write_rollout(deployment, print_dir, all_course_languages(training_source))
    save_record(
        print_dir,
        BuildRecord(
            code=code,
            training=training_version,
            training_files=rendered,
            schools=schools,
            retired=sorted(retired),
            signers=signers,
        ),
    )
    return BuildReport(
        manifest=manifest,
        built=len(built),
        unchanged=len(kept),
        removed=removed,
        findings=findings,
        print_dir=print_dir,
    )


def _today() -> datetime.date:
    """The UTC day: a removed recipient's key is trusted for retention_days from it."""
    return datetime.datetime.now(datetime.UTC).date()


def _open_folders(
    out_dir: Path, print_dir: Path, code: str, full: bool
) -> tuple[BuildRecord, bool]:
    """Check both folders and read the earlier build's record; also whether out_dir is new."""
    # --full empties the print folder; the keys of removed recipients outlive it.
    signers = _remembered_signers(print_dir, code) if full else None
    _prepare(out_dir, MANIFEST, full)
    _prepare(print_dir, RECORD_FILE, full)
    record = load_record(print_dir, code)
    if signers is not None:
        record.signers = signers
    # Without a manifest the folder is empty (_prepare refuses anything else): nothing in
    # it can be stale, and the record in the print folder says nothing about it.
    fresh = not (out_dir / MANIFEST).is_file()
    if fresh:
        record = BuildRecord(retired=record.retired, signers=record.signers)
        remove_tree(print_dir / "schools")  # all of it is made again
    return record, fresh


def _remembered_signers(print_dir: Path, code: str) -> dict[str, list[dict[str, str | None]]]:
    try:
        return load_record(print_dir, code).signers
    except BuildError:  # a damaged record: --full is how one starts again
        return {}


def _publish_assets(out_dir: Path) -> tuple[dict[str, Asset], dict[str, str]]:
    """The shared assets, and their published files: path -> SHA-256."""
    assets = build_assets(out_dir)
    files = {
        a.path: publish(out_dir, a.path, (out_dir / a.path).read_bytes(), compress.ASSETS)
        for a in assets.values()
    }
    return assets, files


def _shared_fingerprint(deployment: Deployment, code: str, assets: dict[str, Asset]) -> str:
    """What every school's files depend on: the code, the assets and the settings."""
    return hashlib.sha256(
        repr(
            (
                code,
                sorted((n, a.integrity) for n, a in assets.items()),
                settings_fingerprint(deployment),
            )
        ).encode()
    ).hexdigest()


def _schools_to_build(
    deployment: Deployment,
    record: BuildRecord,
    shared: str,
    out_dir: Path,
    signers: Mapping[str, str],
) -> tuple[list[tuple[School, str, dict[str, str]]], dict[str, SchoolRecord]]:
    """The schools whose inputs changed (with their fingerprints and old signs), and the rest."""
    todo: list[tuple[School, str, dict[str, str]]] = []
    kept: dict[str, SchoolRecord] = {}
    for school in deployment.schools:
        fingerprint = school_fingerprint(deployment, school, shared, signers[school.slug])
        old = record.schools.get(school.slug)
        if (
            old is not None
            and old.fingerprint == fingerprint
            and (out_dir / school_folder(school.slug)).is_dir()
        ):
            kept[school.slug] = old
        else:
            todo.append((school, fingerprint, old.print_files if old else {}))
    return todo, kept


def _sweep_built(
    out_dir: Path, print_dir: Path, record: BuildRecord, built: dict[str, SchoolRecord]
) -> set[str]:
    """Delete what the rebuilt schools no longer make; the published paths that were retired."""
    retired: set[str] = set()
    for slug, new in built.items():
        old = record.schools.get(slug)
        # Its own folder only: the course's entries of other schools share a folder.
        swept = remove_unexpected(out_dir, school_folder(slug), expected_with_copies(new.files))
        retired.update(p for p in swept if p in (old.files if old else {}))
        remove_unexpected(print_dir, print_folder(slug), set(new.print_files))
    return retired


def _remove_schools(
    out_dir: Path, print_dir: Path, record: BuildRecord, removed: list[str]
) -> set[str]:
    """Delete the files of schools no longer in the config; the published paths retired."""
    retired: set[str] = set()
    for slug in removed:
        retired.update(record.schools[slug].files)
        for name in expected_with_copies(record.schools[slug].files):
            (out_dir / name).unlink(missing_ok=True)  # its course entry, for one
        remove_tree(out_dir / school_folder(slug))
        remove_tree(print_dir / print_folder(slug))
    return retired


def _publish_manifest(
    deployment: Deployment,
    out_dir: Path,
    files: dict[str, str],
    schools: dict[str, SchoolRecord],
    retired: set[str],
) -> dict[str, Any]:
    """Write manifest.json, then delete whatever it does not list; the manifest."""
    manifest = {
        "organisation": deployment.organisation,
        "base_url": deployment.base_url,
        "relay_url": deployment.relay_url,
        "training_url": f"{deployment.base_url}/training/",
        "schools": [schools[s.slug].entry for s in deployment.schools],
        "files": dict(sorted(files.items())),
        "precompressed": compress.manifest_entry(),
        "retired": sorted(retired),
    }
    # Indented for a district, where a person may read it; compact for a state, where
    # indenting would take Python's slow JSON encoder seconds.
    indent = 1 if len(deployment.schools) <= READABLE_MANIFEST else None
    manifest_bytes = (json.dumps(manifest, indent=indent, ensure_ascii=False) + "\n").encode()
    publish(out_dir, MANIFEST, manifest_bytes)
    _sweep(out_dir, {*expected_with_copies(files), *expected_with_copies([MANIFEST])}, schools)
    return manifest


def write_rollout(
    deployment: Deployment, print_dir: Path, course_languages: tuple[CourseLanguage, ...] = ()
) -> list[Finding]:
    """The deployment-wide print files: plan.csv, the readiness report and its district pages;
    `course_languages` are the staff course's translations (drafts are listed)."""
    findings = deployment_problems(deployment) + district_problems(deployment)
    findings += course_draft_findings(deployment, course_languages)
    for school in deployment.schools:
        findings.extend(school_problems(deployment, school))
    findings.sort(key=lambda f: (f.district, f.school))
    write_if_changed(print_dir / "plan.csv", plan_csv(deployment).encode())
    write_if_changed(print_dir / "readiness.csv", readiness_csv(findings).encode())
    districts = by_district(deployment, findings)
    overview = render_readiness(
        deployment.organisation, [f for f in findings if not f.district], districts
    )
    write_if_changed(print_dir / "readiness.html", overview.encode())
    pages = set()
    for district in districts:
        path = f"districts/{district.slug}.html"
        page = render_district(deployment.organisation, district)
        write_if_changed(print_dir / path, page.encode())
        pages.add(path)
    remove_unexpected(print_dir, "districts", pages)
    return findings


def _build_schools(
    ctx: BuildContext,
    todo: Sequence[tuple[School, str, dict[str, str]]],
    jobs: int,
    progress: Progress | None,
) -> dict[str, SchoolRecord]:
    """Build the schools, in worker processes when there are enough; slug -> record."""
    results: dict[str, SchoolRecord] = {}
    total = len(todo)
    if jobs <= 1 or total < PARALLEL_FROM:
        for school, fingerprint, old_signs in todo:
            results[school.slug] = build_school(ctx, school, fingerprint, old_signs)
            if progress is not None:
                progress(len(results), total)
        return results
    chunks = [todo[i : i + CHUNK] for i in range(0, total, CHUNK)]
    # spawn, not fork: a forked copy of a process with threads can hang.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(ctx,)
    ) as pool:
        futures = [pool.submit(_build_chunk, chunk) for chunk in chunks]
        try:
            for future in concurrent.futures.as_completed(futures):
                for record in future.result():
                    results[record.entry["slug"]] = record
                if progress is not None:
                    progress(len(results), total)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return results


_worker_context: BuildContext | None = None


def _start_worker(ctx: BuildContext) -> None:
    global _worker_context
    _worker_context = ctx


def _build_chunk(chunk: Sequence[tuple[School, str, dict[str, str]]]) -> list[SchoolRecord]:
    if _worker_context is None:
        raise BuildError("a build worker started without its context")
    return [build_school(_worker_context, s, fp, old) for s, fp, old in chunk]


def _sweep(out_dir: Path, expected: set[str], schools: dict[str, SchoolRecord]) -> None:
    """Delete what no build wrote: unknown top-level entries, unknown folders under s/.

    A school's own folder is swept when that school is built; a file dropped by
    hand into an unchanged school's folder stays until then (or ``--full``), and
    the monitor's ``--root`` check names it.
    """
    tops = {p.split("/", 1)[0] for p in expected}
    for entry in out_dir.iterdir():
        if entry.name not in tops:
            remove_tree(entry)
    school_dirs = {school_folder(slug).split("/", 1)[1] for slug in schools}
    s_dir = out_dir / "s"
    if s_dir.is_dir():
        for entry in s_dir.iterdir():
            if entry.name not in school_dirs:
                remove_tree(entry)
    remove_unexpected(out_dir, "assets", expected)


def _publish_training(site: Path, out_dir: Path) -> dict[str, str]:
    """Copy the rendered course into training/ (only files that changed), delete what
    mkdocs no longer makes, keep the JSON files the build writes there; path -> SHA-256."""
    files = {}
    for path in sorted(site.rglob("*")):
        if path.is_file():
            rel = f"training/{path.relative_to(site).as_posix()}"
            files[rel] = publish(out_dir, rel, path.read_bytes())
    ours = (
        f"training/{COURSE_JSON}",
        f"training/{DISTRICTS_JSON}",
        f"training/{DISTRICTS_DIR}/",
        f"training/{SCHOOLS_DIR}/",
    )
    expected = expected_with_copies(files)
    for dirpath, _dirs, names in os.walk(out_dir / "training"):
        for name in names:
            rel = (Path(dirpath) / name).relative_to(out_dir).as_posix()
            if rel not in expected and not rel.startswith(ours):
                (Path(dirpath) / name).unlink()
    return files


def _publish_course_files(
    deployment: Deployment,
    course: Course,
    rules: StateRules,
    assets: dict[str, Asset],
    out_dir: Path,
) -> dict[str, str]:
    """course.json and the district lists, written when they change; path -> SHA-256."""
    training = out_dir / "training"
    write_course_json(deployment, course, rules, assets, training / COURSE_JSON)
    write_items_json(course, training / ITEMS_JSON)
    write_school_index(deployment, training)
    files = {}
    listed = {s.district for s in deployment.schools}  # a district without schools has no list
    paths = [training / COURSE_JSON, training / ITEMS_JSON, training / DISTRICTS_JSON]
    paths += [
        training / DISTRICTS_DIR / f"{d.slug}.json"
        for d in deployment.districts
        if d.slug in listed
    ]
    for path in paths:
        rel = path.relative_to(out_dir).as_posix()
        files[rel] = publish(out_dir, rel, path.read_bytes())
    # A district that has gone, or whose last school has gone, keeps no list.
    remove_unexpected(out_dir, f"training/{DISTRICTS_DIR}", expected_with_copies(files))
    return files


def _publish_translation_files(
    deployment: Deployment,
    course: Course,
    translated: Course,
    rules: StateRules,
    code: str,
    assets: dict[str, Asset],
    out_dir: Path,
) -> dict[str, str]:
    """A translation's course.json (its titles, the English course's version) and items.json
    (the same items in its language), in training/<code>/; path -> SHA-256."""
    folder = out_dir / "training" / code
    spoken = rules.in_language(code)
    write_course_json(
        deployment, translated, spoken, assets, folder / COURSE_JSON, course_version(course)
    )
    write_items_json(translated, folder / ITEMS_JSON)
    return {
        f"training/{code}/{name}": publish(
            out_dir, f"training/{code}/{name}", (folder / name).read_bytes()
        )
        for name in (COURSE_JSON, ITEMS_JSON)
    }


def _prepare(folder: Path, marker: str, full: bool) -> None:
    """Make sure folder is empty or holds an earlier build (its marker file); empty it if full."""
    if folder.exists():
        if not folder.is_dir():
            raise BuildError(f"{folder} is a file, not a folder")
        if any(folder.iterdir()) and not (folder / marker).is_file():
            raise BuildError(
                f"{folder} is not empty and holds no earlier build ({marker}); "
                "choose an empty folder"
            )
        if full:
            remove_tree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _library(name: str) -> str:
    try:
        return f"{name}={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name}=-"
