"""docs/DEPLOYMENT.md: its nginx and systemd files are valid as they are written.

nginx checks its configuration with `nginx -t` (Debian's package, installed by
scripts/test), around a self-signed certificate in place of the real one;
systemd with `systemd-analyze verify`, with the interpreter's path pointed at one
that exists. A file broken on purpose fails each check, so the checks can fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support.paths import ROOT

GUIDE = ROOT / "docs" / "DEPLOYMENT.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(GUIDE.read_text()) if lang == language]


def nginx_check(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: scripts/test installs Debian's package"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=relay.example.org", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    site = re.sub(r"ssl_certificate /\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key /\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "relay.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {tmp_path}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n{temp}\n    include {tmp_path}/relay.conf;\n}}\n"
    )
    return subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_nginx_configuration_is_valid(tmp_path: Path) -> None:
    (site,) = blocks("nginx")
    assert "access_log off;" in site and "X-Forwarded-For $remote_addr" in site
    result = nginx_check(tmp_path, site)
    assert result.returncode == 0, result.stderr
    broken = nginx_check(tmp_path, site.replace("access_log off;", "acess_log off;", 1))
    assert broken.returncode != 0 and "acess_log" in broken.stderr


def units() -> dict[str, str]:
    found = {}
    for body in blocks("ini"):
        first, _, rest = body.partition("\n")
        assert first.startswith("# /etc/systemd/system/"), first
        found[first.rsplit("/", 1)[1]] = body
    return found


def verify(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    if "@." in name:  # a template: verify an instance of it
        name = name.replace("@.", "@8000.")
    path = tmp_path / name
    path.write_text(text.replace("/opt/quietdoor/.venv/bin/", f"{Path(sys.executable).parent}/"))
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing (Debian's systemd package)"
    return subprocess.run(
        [analyze, "verify", "--man=no", str(path)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("name", ["quietdoor-relay.service", "quietdoor-relay@.service"])
def test_the_systemd_units_are_valid(tmp_path: Path, name: str) -> None:
    text = units()[name]
    result = verify(tmp_path, name, text)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    broken = verify(tmp_path, name, text.replace("Restart=", "Restrat=", 1))
    assert "Restrat" in broken.stderr
