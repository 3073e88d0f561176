"""quietdoor-monitor --manifest dist/manifest.json: is the live site still the build?

Compares what a live site serves with the build's manifest and prints one line
per problem and a summary, then exits 1 (0 when all is well, 2 when it cannot
run: an unreadable manifest, or a host that no request reaches, said in one
line), so that cron mails the lines to someone:

- every file of the build: missing (not 200) or changed (SHA-256 differs); a text
  file is fetched twice, plain and compressed (brotli or gzip, as the host
  chooses), so a stale precompressed copy is caught too;
- every school's QR target (the URL printed under the code) answers 200 with the
  landing page itself, not a redirect;
- the relay answers (its API description);
- extra files: files earlier builds published and this one retired, and files the
  live manifest lists but this build does not, must no longer be served; with
  ``--root DIR`` (run on the host), every file in the served folder that is not
  part of the build is named, and every precompressed copy is checked.

Nothing a server sends is printed: only our own words, paths from the manifest
and status codes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from builder import compress
from builder.errors import BuildError
from quietdoor import console

MAX_BODY = 64 * 1024 * 1024  # no file of a build comes near this
TIMEOUT = 20.0
NO_ANSWER = "(no answer: "


class MonitorError(BuildError):
    """The check cannot run: an unreadable manifest, a bad URL, a host out of reach."""


class Unreachable(MonitorError):
    """No request reached the site: one line, not a line per file."""


@dataclass(frozen=True)
class Probe:
    """One request and what its answer should be."""

    kind: str  # "file", "encoded", "qr", "retired", "relay", "manifest"
    path: str  # what the problem line names
    url: str
    sha256: str = ""
    encoding: str = "identity"  # what the request accepts


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    encoding: str  # the Content-Encoding of the answer


class Client:
    """HTTP(S) GETs with one kept-alive connection per thread and host."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.local = threading.local()

    def get(self, url: str, accept_encoding: str) -> Answer:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        connections: dict[tuple[str, str], http.client.HTTPConnection] = getattr(
            self.local, "connections", {}
        )
        self.local.connections = connections
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept-Encoding": accept_encoding, "User-Agent": "quietdoor-monitor"}
        for attempt in (1, 2):  # a kept-alive connection the server closed is opened again
            connection = connections.get(key)
            if connection is None:
                connection = self._connect(parts.scheme, parts.netloc)
                connections[key] = connection
            try:
                connection.request("GET", target or "/", headers=headers)
                response = connection.getresponse()
                body = response.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    raise OSError("answer too large")
                encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    del connections[key]
                return Answer(response.status, body, encoding)
            except (OSError, http.client.HTTPException):
                connection.close()
                del connections[key]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=self.timeout)
        return http.client.HTTPConnection(netloc, timeout=self.timeout)


def check(
    manifest: dict[str, Any],
    *,
    site: str | None = None,
    relay: str | None = None,
    root: Path | None = None,
    jobs: int = 8,
    client: Client | None = None,
) -> tuple[list[str], int]:
    """The problems found (one line each, sorted, once) and how many requests were made.

    Raises Unreachable when not one request to the site got an answer.
    """
    site = (site or manifest["base_url"]).rstrip("/")
    relay = (relay or manifest["relay_url"]).rstrip("/")
    base = manifest["base_url"].rstrip("/")
    files: dict[str, str] = manifest["files"]
    rule: dict[str, Any] = manifest.get("precompressed", {})
    client = client or Client()

    probes = []
    for path, digest in files.items():
        probes.append(Probe("file", path, _url(site, path), digest))
        encodings = compress.copies(path, rule)
        if encodings:
            accept = ", ".join(encodings)
            probes.append(Probe("encoded", path, _url(site, path), digest, accept))
    for school in manifest["schools"]:
        landing = school["landing_url"]
        url = site + landing[len(base) :] if landing.startswith(base) else landing
        page = next(iter(school["pages"].values()))
        probes.append(Probe("qr", landing, url, files.get(page, "")))
    probes.append(Probe("relay", relay, f"{relay}/api/openapi.json"))
    probes.append(Probe("manifest", "manifest.json", _url(site, "manifest.json")))
    for path in manifest.get("retired", ()):
        if path not in files:
            probes.append(Probe("retired", path, _url(site, path)))

    problems: list[str] = []
    requests = len(probes)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        answers = pool.map(lambda p: _judge(client, p, manifest), probes)
        live_manifest: dict[str, Any] | None = None
        judged = list(zip(probes, answers, strict=True))
        lines = [line for probe, (line, _) in judged if probe.kind not in ("relay", "retired")]
        if all(NO_ANSWER in line for line in lines):  # the manifest's probe at least
            reason = lines[0].split(NO_ANSWER, 1)[1].rstrip(")")
            raise Unreachable(f"{site}: no request reached the host ({reason}); nothing checked")
        for probe, (problem, extra) in judged:
            if problem:
                problems.append(problem)
            if probe.kind == "manifest":
                live_manifest = extra
        if live_manifest is not None:
            stale = [
                Probe("retired", p, _url(site, p))
                for p in sorted(set(live_manifest.get("files", {})) - set(files))
                if p not in manifest.get("retired", ())
            ]
            requests += len(stale)
            problems.extend(
                p for p, _ in pool.map(lambda p: _judge(client, p, manifest), stale) if p
            )
    if root is not None:
        problems.extend(check_root(root, files, rule))
    return sorted(set(problems)), requests


def _judge(client: Client, probe: Probe, manifest: dict[str, Any]) -> tuple[str, Any]:
    """The problem line for one probe ("" if none), and for the manifest its parsed body."""
    try:
        answer = client.get(probe.url, probe.encoding)
    except (OSError, http.client.HTTPException) as exc:
        reason = type(exc).__name__ if not isinstance(exc, TimeoutError) else "timed out"
        if probe.kind == "retired":
            return "", None
        what = "relay" if probe.kind == "relay" else "missing"
        return f"{what}: {probe.path} {NO_ANSWER}{reason})", None
    if probe.kind == "retired":
        if answer.status == 200:
            return f"extra: {probe.path} (still served, but no longer part of the build)", None
        return "", None
    if probe.kind == "relay":
        try:
            ok = answer.status == 200 and "openapi" in json.loads(answer.body)
        except ValueError:
            ok = False
        return ("" if ok else f"relay: {probe.path} (not answering: HTTP {answer.status})"), None
    if answer.status != 200:
        label = "qr" if probe.kind == "qr" else "missing"
        return f"{label}: {probe.path} (HTTP {answer.status})", None
    if probe.kind == "encoded" and answer.encoding == "identity":
        return "", None  # the host sends this file uncompressed: the plain probe covers it
    try:
        body = compress.decode(answer.body, answer.encoding)
    except Exception:  # noqa: BLE001 - any undecodable body is the same problem
        return f"changed: {probe.path} ({answer.encoding} copy does not decode)", None
    if probe.kind == "manifest":
        try:
            live = json.loads(body)
        except ValueError:
            return "changed: manifest.json (not JSON)", None
        same = isinstance(live, dict) and live.get("files") == manifest["files"]
        return ("" if same else "changed: manifest.json (another build is served)"), (
            live if isinstance(live, dict) else None
        )
    if hashlib.sha256(body).hexdigest() != probe.sha256:
        if probe.kind == "qr":
            return f"qr: {probe.path} (answers, but not with the school's landing page)", None
        via = f", {answer.encoding} copy" if probe.kind == "encoded" else ""
        return f"changed: {probe.path} (SHA-256 differs{via})", None
    return "", None


def check_root(root: Path, files: dict[str, str], rule: dict[str, Any]) -> Iterable[str]:
    """Problems in the served folder itself: extra files, and copies that do not match."""
    copies = {f"{p}{s}": (p, e) for p in files for e, s in compress.copies(p, rule).items()}
    manifest_copies = {f"manifest.json{s}" for s in compress.copies("manifest.json", rule).values()}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = (Path(dirpath) / name).relative_to(root).as_posix()
            if path in files or path == "manifest.json" or path in manifest_copies:
                continue
            if path in copies:
                original, encoding = copies[path]
                try:
                    data = compress.decode((root / path).read_bytes(), encoding)
                except Exception:  # noqa: BLE001 - any undecodable copy is the same problem
                    data = b""
                if hashlib.sha256(data).hexdigest() != files[original]:
                    yield f"changed: {path} (does not match {original})"
                continue
            yield f"extra: {path} (in {root}, not part of the build)"


def _url(site: str, path: str) -> str:
    return f"{site}/{quote(path)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quietdoor-monitor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=Path("dist/manifest.json"))
    parser.add_argument("--site", help="the site to check (default: the manifest's base_url)")
    parser.add_argument("--relay", help="the relay to check (default: the manifest's relay_url)")
    parser.add_argument("--root", type=Path, help="the folder the host serves, to find extra files")
    parser.add_argument("--jobs", type=int, default=8, help="requests at once (default 8)")
    parser.add_argument("--quiet", action="store_true", help="print nothing when all is well")
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
        for name, url in (("--site", args.site), ("--relay", args.relay)):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise MonitorError(f"{name} {url!r} is not an http(s) URL")
        if args.root is not None and not args.root.is_dir():
            raise MonitorError(f"--root {args.root}: no such folder")
        problems, requests = check(
            manifest, site=args.site, relay=args.relay, root=args.root, jobs=max(args.jobs, 1)
        )
    except BuildError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    if problems:
        print(summary(problems, requests))
        return 1
    if not args.quiet:
        print(
            f"ok: {len(manifest['files'])} files and {len(manifest['schools'])} QR targets "
            f"match the build; the relay answers ({requests} requests)"
        )
    return 0


def summary(problems: list[str], requests: int) -> str:
    """The last line: how many problems of each kind, e.g. `3 problems: 2 missing, 1 extra`."""
    kinds: dict[str, int] = {}
    for line in problems:
        kind = line.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    noun = "problem" if len(problems) == 1 else "problems"
    return f"{len(problems)} {noun}: {counts} ({requests} requests)"


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    except ValueError as exc:
        raise MonitorError(f"{path}: not a manifest ({exc})") from None
    needed = ("base_url", "relay_url", "files", "schools")
    if not isinstance(manifest, dict) or not all(k in manifest for k in needed):
        raise MonitorError(f"{path}: not a manifest (it needs {', '.join(needed)})")
    return manifest


if __name__ == "__main__":  # python -m builder.monitor, in a checkout
    sys.exit(console.run("monitor", main))
