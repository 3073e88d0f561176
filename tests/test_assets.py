"""builder.assets: pinned vendored files, SRI hashes, deterministic output."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from builder.assets import SITE_DIR, AssetError, build_assets
from builder.trim import trimmed

VENDOR = SITE_DIR / "vendor"
EXPECTED = {
    "nacl-fast.min.js",
    "blake2b.js",
    "envelope.js",
    "proof.js",
    "reveal.js",
    "page.js",
    "app.js",
    "case.js",
    "landing.css",
    "icon.svg",
}


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    """A copy of site/ sources that a test may damage."""
    site = tmp_path / "site"
    for part in ("vendor", "js", "css", "img"):
        shutil.copytree(SITE_DIR / part, site / part)
    return site


def test_writes_every_asset_with_its_integrity(tmp_path: Path) -> None:
    assets = build_assets(tmp_path)
    assert set(assets) == EXPECTED
    for name, asset in assets.items():
        assert asset.path == f"assets/{name}"
        data = (tmp_path / asset.path).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert asset.integrity == f"sha384-{digest}"
        assert len(asset.version) == 12 and asset.version == hashlib.sha384(data).digest()[:6].hex()
    assert (tmp_path / "assets/nacl-fast.min.js").read_bytes() == (
        VENDOR / "tweetnacl-1.0.3/nacl-fast.min.js"
    ).read_bytes()
    # Ours without their comments (builder.trim); the vendored files as they are, above.
    app = SITE_DIR / "js/app.js"
    assert (tmp_path / "assets/app.js").read_bytes() == trimmed(app, app.read_bytes())


def test_same_input_same_bytes(tmp_path: Path) -> None:
    first, second = build_assets(tmp_path / "a"), build_assets(tmp_path / "b")
    assert first == second
    for asset in first.values():
        assert (tmp_path / "a" / asset.path).read_bytes() == (
            tmp_path / "b" / asset.path
        ).read_bytes()


def test_blakejs_bundle_names_its_source_and_keeps_it_unmodified(tmp_path: Path) -> None:
    build_assets(tmp_path)
    bundle = (tmp_path / "assets/blake2b.js").read_text(encoding="utf-8")
    header = bundle[: bundle.index("*/")]
    assert "blakejs 1.2.1" in header and "MIT" in header
    assert "Copyright (c) 2022 Blakejs contributors" in header
    for name in ("util.js", "blake2b.js"):
        assert (VENDOR / "blakejs-1.2.1" / name).read_text(encoding="utf-8") in bundle


def test_blakejs_bundle_sets_a_global_that_hashes_like_libsodium(tmp_path: Path) -> None:
    build_assets(tmp_path)
    node = shutil.which("node")
    assert node is not None, "node is needed to run the bundle"
    script = (
        "const vm = require('node:vm');"
        "const ctx = vm.createContext({}); vm.runInContext('var self = this;', ctx);"
        "vm.runInContext(require('node:fs').readFileSync(process.argv[1], 'utf8'), ctx);"
        "process.stdout.write(vm.runInContext("
        '  "var p = new Uint8Array(16); p.set([113,100,49]);'
        '    blakejs.blake2bHex(new Uint8Array([97,98,99]), undefined, 32, undefined, p)", ctx));'
    )
    out = subprocess.run(
        [node, "-e", script, str(tmp_path / "assets/blake2b.js")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out == hashlib.blake2b(b"abc", digest_size=32, person=b"qd1").hexdigest()


@pytest.mark.parametrize(
    "damaged",
    ["tweetnacl-1.0.3/nacl-fast.min.js", "blakejs-1.2.1/util.js", "blakejs-1.2.1/blake2b.js"],
)
def test_a_changed_vendored_file_stops_the_build(
    site_copy: Path, tmp_path: Path, damaged: str
) -> None:
    path = site_copy / "vendor" / damaged
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(
        AssetError, match=f"{path.name}: SHA-256 is [0-9a-f]{{64}}, but VENDOR.toml pins"
    ):
        build_assets(tmp_path / "out", site_dir=site_copy)
    assert not (tmp_path / "out").exists()


def test_a_missing_vendored_file_is_named(site_copy: Path, tmp_path: Path) -> None:
    (site_copy / "vendor/blakejs-1.2.1/util.js").unlink()
    with pytest.raises(AssetError, match="util.js: cannot read the vendored file"):
        build_assets(tmp_path / "out", site_dir=site_copy)


def test_a_file_the_page_needs_must_be_pinned(site_copy: Path, tmp_path: Path) -> None:
    manifest = site_copy / "vendor/VENDOR.toml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(re.sub(r'"util\.js" = "[0-9a-f]+", ', "", text), encoding="utf-8")
    with pytest.raises(AssetError, match="does not pin 'util.js'"):
        build_assets(tmp_path / "out", site_dir=site_copy)


def test_our_file_cannot_shadow_a_vendored_one(site_copy: Path, tmp_path: Path) -> None:
    (site_copy / "js/blake2b.js").write_text("// not the real one\n", encoding="utf-8")
    with pytest.raises(AssetError, match="taken by a vendored asset"):
        build_assets(tmp_path / "out", site_dir=site_copy)
