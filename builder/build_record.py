"""What an earlier build was made from, so that a rebuild redoes only what changed.

Every output is tied to a fingerprint of all its inputs: the builder's own code,
templates and translations; the deployment-wide settings (every field of the
Deployment that is not a list of schools, districts, recipients or placements);
and the slice of the config that concerns it. Fingerprints are taken generically
from the config's dataclasses, so a new config key or a new page needs no change
here: it is part of some dataclass, and so of some fingerprint.

The build record is kept in the print folder (never published), as JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from builder.errors import BuildError
from builder.files import write_if_changed
from quietdoor.config import Deployment, Placement, School

ROOT = Path(__file__).resolve().parent.parent
# The name earlier builds wrote: _prepare recognises a print folder by it.
RECORD_FILE = "build-state.json"
RECORD_VERSION = 1
# Code and data whose change can change any output.
CODE_FOLDERS = ("builder", "quietdoor", "site/templates", "site/i18n")
LIBRARIES = ("jinja2", "segno", "reportlab", "brotli", "isal")
PER_SCHOOL_LISTS = ("schools", "districts", "recipients", "placements")


@dataclass
class SchoolRecord:
    """One school's last build: its fingerprint, manifest entry, files and signs."""

    fingerprint: str
    entry: dict[str, Any]  # the school's entry in manifest["schools"]
    files: dict[str, str]  # published path -> SHA-256 of the original
    print_files: dict[str, str]  # print path -> fingerprint of the inputs it was made from


@dataclass
class BuildRecord:
    """What the last build was made from and wrote: code, course, schools, retired files."""

    code: str = ""
    training: str = ""
    training_files: dict[str, str] = field(default_factory=dict)
    schools: dict[str, SchoolRecord] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    # slug -> the staff keys its case pages trust (builder/signers.py); like `retired`,
    # kept across code changes, since it remembers recipients the config no longer names.
    signers: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)


def code_version() -> str:
    """A fingerprint of the builder's code, templates, translations and libraries."""
    digest = hashlib.sha256()
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    for name in LIBRARIES:
        digest.update(f"{name}={_version(name)}\0".encode())
    return digest.hexdigest()


def tree_version(folder: Path, *extra: str) -> str:
    """A fingerprint of every file under a folder (names and bytes), plus some text."""
    digest = hashlib.sha256("\0".join(extra).encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def settings_fingerprint(deployment: Deployment) -> str:
    """The deployment-wide settings: every field but the per-school lists."""
    settings = [
        (f.name, getattr(deployment, f.name))
        for f in dataclasses.fields(deployment)
        if f.name not in PER_SCHOOL_LISTS
    ]
    return _hash(repr(settings))


def school_fingerprint(deployment: Deployment, school: School, shared: str, signers: str) -> str:
    """Everything a school's pages and plan are made from (``shared``: code, assets, settings;
    ``signers``: the staff keys its case pages trust, removed recipients' among them)."""
    return _hash(
        repr(
            (
                shared,
                signers,
                school,
                deployment.district(school.district),
                deployment.recipients_for(school.slug),
                deployment.placements_for(school.slug),
            )
        )
    )


def sign_fingerprint(school: School, placement: Placement, lang: str, shared: str) -> str:
    """Everything one printed PDF is made from; its recipients are not on it."""
    return _hash(repr((shared, school, placement, lang)))


def load_record(print_dir: Path, code: str) -> BuildRecord:
    """The earlier build's record, or an empty one when there is none or the code changed."""
    path = print_dir / RECORD_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return BuildRecord()
    except (OSError, ValueError) as exc:
        raise BuildError(
            f"{path}: cannot read the earlier build's record ({exc}); "
            "delete it, or build with --full"
        ) from None
    if not isinstance(raw, dict) or raw.get("version") != RECORD_VERSION:
        return BuildRecord()
    record = BuildRecord(
        code=raw["code"],
        training=raw["training"],
        training_files=raw["training_files"],
        schools={slug: SchoolRecord(**s) for slug, s in raw["schools"].items()},
        retired=raw["retired"],
        signers=raw.get("signers", {}),  # absent in records written before version 2
    )
    if record.code != code:  # new code: every output may differ; keep what must be remembered
        return BuildRecord(retired=record.retired, signers=record.signers)
    return record


def save_record(print_dir: Path, record: BuildRecord) -> None:
    data = {
        "version": RECORD_VERSION,
        "code": record.code,
        "training": record.training,
        "training_files": record.training_files,
        # Not dataclasses.asdict: it deep-copies every file list, seconds for a whole state.
        "schools": {slug: vars(s) for slug, s in record.schools.items()},
        "retired": record.retired,
        "signers": record.signers,
    }
    write_if_changed(print_dir / RECORD_FILE, json.dumps(data, separators=(",", ":")).encode())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"
