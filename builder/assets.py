"""The student page's static assets: vendored crypto checked against its pins, our JS, CSS and icon.

Every file a student page loads is written to ``<out>/assets/`` and returned with
its Subresource Integrity hash, so that the page refuses a file that changed on
the way (or on the server) after the build. Our own scripts and stylesheet are
published without their comments (builder.trim); the vendored files as they are.
The stylesheet, reveal.js, page.js and app.js are also carried inline by the pages
(see builder.landing); their copies here are what the relay hashes for its header
policy.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import BuildError
from builder.files import write_if_changed
from builder.trim import trimmed

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
ASSETS_DIR = "assets"

NACL_FILE = "nacl-fast.min.js"  # of the package "tweetnacl", served as it is
BLAKE_FILE = "blake2b.js"  # of the package "blakejs", bundled with its util.js


class AssetError(BuildError):
    """A vendored file that does not match its pin, or a site source that cannot be used."""


@dataclass(frozen=True)
class Asset:
    """One file under ``assets/``: its path relative to the site root and its SRI hash."""

    path: str
    integrity: str

    @property
    def version(self) -> str:
        """A short fingerprint for the URL's query, so a cached older copy is never reused.

        A stale file under a fixed name would fail the page's integrity check and
        leave the student with a form that cannot send.
        """
        digest = base64.b64decode(self.integrity.partition("-")[2])
        return digest[:6].hex()


@dataclass(frozen=True)
class _Package:
    name: str
    version: str
    license: str
    directory: Path
    files: Mapping[str, str]  # file name -> pinned SHA-256, hex

    def read(self, file_name: str) -> bytes:
        """The bytes of a pinned file, after checking them against the pin."""
        if file_name not in self.files:
            raise AssetError(
                f"VENDOR.toml: package {self.name!r} does not pin {file_name!r}; "
                "add its SHA-256 under files"
            )
        path = self.directory / file_name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AssetError(f"{path}: cannot read the vendored file ({exc.strerror})") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != self.files[file_name]:
            raise AssetError(
                f"{path}: SHA-256 is {actual}, but VENDOR.toml pins {self.files[file_name]}; "
                "restore the file from the npm package or update the pin after review"
            )
        return data


def build_assets(out_dir: Path, *, site_dir: Path = SITE_DIR) -> dict[str, Asset]:
    """Check the vendored files, write every asset to ``out_dir/assets/``; name -> Asset.

    The output depends only on the files under ``site_dir``: same input, same bytes.
    """
    packages = _read_manifest(site_dir / "vendor")
    for package in packages.values():
        for file_name in package.files:
            package.read(file_name)

    contents: dict[str, bytes] = {
        NACL_FILE: _package(packages, "tweetnacl").read(NACL_FILE),
        BLAKE_FILE: _blakejs_bundle(_package(packages, "blakejs")),
    }
    sources = [
        *sorted((site_dir / "js").glob("*.js")),
        *sorted((site_dir / "css").glob("*.css")),
        *sorted((site_dir / "img").glob("*.svg")),
    ]
    for source in sources:
        if source.name in contents:
            raise AssetError(f"{source}: the name {source.name!r} is taken by a vendored asset")
        contents[source.name] = trimmed(source, source.read_bytes())

    target = out_dir / ASSETS_DIR
    target.mkdir(parents=True, exist_ok=True)
    assets: dict[str, Asset] = {}
    for name, data in contents.items():
        write_if_changed(target / name, data)
        assets[name] = Asset(path=f"{ASSETS_DIR}/{name}", integrity=sri(data))
    return assets


def sri(data: bytes) -> str:
    """The Subresource Integrity value of some bytes (SHA-384)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def _read_manifest(vendor_dir: Path) -> dict[str, _Package]:
    manifest = vendor_dir / "VENDOR.toml"
    try:
        raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssetError(f"{manifest}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise AssetError(f"{manifest}: not valid TOML ({exc})") from None
    packages: dict[str, _Package] = {}
    for i, entry in enumerate(raw.get("package", [])):
        package = _parse_package(entry, vendor_dir, f"{manifest}: package[{i}]")
        packages[package.name] = package
    return packages


def _parse_package(entry: Any, vendor_dir: Path, where: str) -> _Package:
    if not isinstance(entry, dict):
        raise AssetError(f"{where}: expected a [[package]] table")
    fields = {}
    for key in ("name", "version", "license"):
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise AssetError(f"{where}.{key}: expected text, got {value!r}")
        fields[key] = value
    files = entry.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(v, str) and len(v) == 64 for v in files.values()
    ):
        raise AssetError(f"{where}.files: expected a table of file name = SHA-256 (hex)")
    return _Package(
        name=fields["name"],
        version=fields["version"],
        license=fields["license"],
        directory=vendor_dir / f"{fields['name']}-{fields['version']}",
        files={name: digest.lower() for name, digest in files.items()},
    )


def _package(packages: Mapping[str, _Package], name: str) -> _Package:
    if name not in packages:
        raise AssetError(f"VENDOR.toml: no [[package]] named {name!r}; the page needs it")
    return packages[name]


def _blakejs_bundle(package: _Package) -> bytes:
    """blakejs's two CommonJS files, unmodified, inside a small loader that sets ``blakejs``.

    The page has no module loader, and the strict CSP forbids building code at run time.
    """
    util, blake2b = (package.read(name).decode("utf-8") for name in ("util.js", BLAKE_FILE))
    license_path = package.directory / "LICENSE"
    try:
        license_text = license_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssetError(f"{license_path}: cannot read ({exc.strerror})") from None
    if "*/" in license_text:
        raise AssetError(f"{license_path}: contains '*/', which would end the header comment")
    header = (
        f"/*! {package.name} {package.version} ({package.license}): blake2b.js and util.js,\n"
        " * unmodified from the npm package, wrapped by Quiet Door's build\n"
        " * (builder/assets.py) so that the page gets a global `blakejs`.\n *\n"
        + "".join(f" * {line}".rstrip() + "\n" for line in license_text.splitlines())
        + " */\n"
    )
    return (
        header
        + "(function (root) {\n"
        + "  var util = { exports: {} };\n"
        + "  (function (module, exports) {\n"
        + util
        + "\n  })(util, util.exports);\n"
        + "  var main = { exports: {} };\n"
        + "  (function (module, exports, require) {\n"
        + blake2b
        + "\n  })(main, main.exports, function (name) {\n"
        + "    if (name === './util') return util.exports;\n"
        + "    throw new Error('blakejs bundle: no module ' + name);\n"
        + "  });\n"
        + "  root.blakejs = main.exports;\n"
        + "})(typeof self !== 'undefined' ? self : globalThis);\n"
    ).encode("utf-8")
