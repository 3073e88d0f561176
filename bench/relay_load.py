"""How fast the relay stores reports, against the ceiling of its own stack.

    python bench/relay_load.py [--seconds 15] [--connections 64] [--skip-postgres]
                               [--stacks httptools+uvloop,h11+asyncio]

wrk (Debian's package) posts distinct, valid envelopes in the 1 KiB bucket,
prebuilt into a file and read by a Lua script (each request its own envelope,
never one twice), on loopback, to three servers run alike (one worker, the same
event loop and HTTP parser, the same slow-client guard and collector settings):

- a bare Starlette endpoint that reads the body and answers 201 without storing
  it: the ceiling of this stack on this machine;
- the relay on SQLite (WAL, synchronous=FULL, group commit);
- the relay on PostgreSQL (a fresh schema in the test database, analysed after
  the warm-up, as autovacuum keeps a database in use).

It prints requests per second, p50 and p99 latency, the ratio to the bare
endpoint, and checks that every acknowledged post was stored (wrk stops with
some requests in flight, which may be stored without their answer being
counted: at most one per connection). Proof of work and the per-address limits
are off for these runs (wrk is one address); the cost of checking a proof is
measured on its own, as is GET /api/v1/schools with 3 and with 20,000 schools.

All three run on each stack in turn, a table each: httptools and uvloop, what the
relay runs by default (the fastest here), then h11 and asyncio. The bare endpoint
is about two to three times as fast on the first, so the same relay shows a lower
ratio to it there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
import psycopg  # noqa: E402
from nacl.public import PrivateKey  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from bench.processes import free_port, wait_ready  # noqa: E402
from quietdoor import payloads, protocol  # noqa: E402
from quietdoor.config import (  # noqa: E402
    Deployment,
    District,
    ReadHours,
    Recipient,
    RelayLimits,
    School,
    dump_config,
    load_config,
)
from quietdoor.signing import sign_request  # noqa: E402

EXAMPLE = ROOT / "examples" / "demo.toml"
POSTGRES = os.environ.get("QUIETDOOR_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
SCHOOLS = ("lincoln-high", "riverside-middle", "cedar-valley-high")
WARM_UP = 3000  # envelopes posted for two seconds before each measured run
BENCH_LIMITS = RelayLimits(
    daily_quota_per_school=10**9,
    normal_daily_per_school=10**9 - 1,
    proof_of_work=False,
    address_per_minute=0,
)

LUA = r"""
-- Each wrk thread posts its own share of the prebuilt envelopes, each once.
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(args[2])
  bodies, next_body, created, other, reused = {}, 1, 0, 0, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
end
function request()
  local body = bodies[next_body]
  if body == nil then reused = reused + 1; body = bodies[1] else next_body = next_body + 1 end
  return wrk.format("POST", "/api/v1/cases", {
    ["Content-Type"] = "application/json", ["Origin"] = "http://127.0.0.1"
  }, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o, r = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); o = o + t:get("other"); r = r + t:get("reused")
  end
  io.write(string.format(
    "RESULT requests=%d created=%d other=%d reused=%d p50=%.3f p99=%.3f rps=%.1f\n",
    summary.requests, c, o, r, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
"""

BARE_APP = '''
"""The ceiling: read the body, answer 201, store nothing."""
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def post(request: Request) -> Response:
    await request.body()
    return Response(b'{"id":"000000000000000000000000","received":"2026-11-30"}',
                    status_code=201, media_type="application/json")

app = Starlette(routes=[Route("/api/v1/cases", post, methods=["POST"])])
'''


@dataclasses.dataclass
class Run:
    name: str
    rps: float
    p50: float
    p99: float
    acknowledged: int
    other: int
    cpu_us: float = 0.0  # the server's CPU time (all its threads) per request
    stored: int | None = None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--envelopes", type=int, default=160_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only", choices=["bare", "sqlite", "postgresql"], action="append")
    parser.add_argument(
        "--workdir", type=Path, help="keep the envelopes here and use them again next time"
    )
    parser.add_argument(
        "--stacks",
        default="httptools+uvloop,h11+asyncio",
        help="HTTP parser+event loop pairs to run all servers on, each in its own table "
        "(default: the relay's own, httptools+uvloop, then h11+asyncio)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    tmp = args.workdir or Path(tempfile.mkdtemp(prefix="quietdoor-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    bodies = tmp / "bodies.txt"
    config = tmp / "deployment.toml"
    if args.workdir and bodies.exists() and config.exists():
        print(f"Using the envelopes in {tmp}", flush=True)
    else:
        config, deployment = bench_deployment(tmp)
        print(f"Building {args.envelopes:,} envelopes (1 KiB bucket) in {tmp} ...", flush=True)
        started = time.monotonic()
        write_envelopes(deployment, bodies, args.envelopes)
        write_envelopes(deployment, tmp / "warm.txt", WARM_UP)
        print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    (tmp / "post.lua").write_text(LUA, encoding="utf-8")
    (tmp / "bare_app.py").write_text(BARE_APP, encoding="utf-8")

    wanted = args.only or ["bare", "sqlite", *([] if args.skip_postgres else ["postgresql"])]
    tables = []
    for stack in args.stacks.split(","):
        http, loop = stack.split("+")
        print(f"{http} and {loop}:", flush=True)
        runs = [measure(name, tmp, config, bodies, args, http, loop) for name in wanted]
        tables.append((runs, f"{http} and {loop}"))
    for runs, stack in tables:
        report(runs, args, stack)
    proof_cost()
    schools_lookup(tmp)
    if not args.workdir:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def bench_deployment(tmp: Path) -> tuple[Path, Deployment]:
    example = load_config(EXAMPLE)
    recipients = tuple(
        dataclasses.replace(
            r,
            x25519=bytes(PrivateKey.generate().public_key),
            ed25519=bytes(SigningKey.generate().verify_key),
        )
        for r in example.recipients
    )
    deployment = dataclasses.replace(
        example,
        base_url="http://127.0.0.1",
        relay_url="http://127.0.0.1",
        recipients=recipients,
        relay=BENCH_LIMITS,
    )
    config = tmp / "deployment.toml"
    config.write_text(dump_config(deployment), encoding="utf-8")
    return config, load_config(config)


def write_envelopes(deployment: Deployment, path: Path, count: int) -> None:
    workers = max(os.cpu_count() or 1, 1)
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    keys = {s: [r.x25519 for r in deployment.recipients_for(s)] for s in SCHOOLS}
    with multiprocessing.Pool(workers) as pool:
        parts = pool.starmap(_envelopes, [(keys, n) for n in shares])
    with path.open("w", encoding="utf-8") as out:
        for part in parts:
            out.write(part)


def _envelopes(keys: dict[str, list[bytes]], count: int) -> str:
    """count new cases, as a student's page posts them: a report of a few hundred characters."""
    lines = []
    for i in range(count):
        school = SCHOOLS[i % len(SCHOOLS)]
        case = protocol.CaseKeys.derive(protocol.new_case_code())
        report = payloads.Report(
            header=payloads.Header.new("report", school, case.case_id),
            lang="en",
            reply_pk=bytes(case.reply_key.public_key),
            answers=payloads.Answers(what="x" * 400, safe_now="unsure", more=""),
            update_pk=bytes(case.update_key.verify_key),
        )
        sealed = payloads.seal_payload(report, [*keys[school], bytes(case.reply_key.public_key)])
        assert len(sealed.ct) == 1024 + 16  # noqa: S101 - the 1 KiB bucket
        body = protocol.NewCase(case.case_id, case.auth_hash, sealed).to_json()
        lines.append(json.dumps(body, separators=(",", ":")) + "\n")
    return "".join(lines)


def measure(
    name: str,
    tmp: Path,
    config: Path,
    bodies: Path,
    args: argparse.Namespace,
    http: str,
    loop: str,
) -> Run:
    port = free_port()
    log = tmp / f"{name}.log"
    store = ""
    schema = ""
    if name == "bare":
        server = _BARE_SERVER.format(tmp=str(tmp), port=port, http=http, loop=loop)
        command = [sys.executable, "-c", server]
    else:
        if name == "sqlite":
            _remove_database(tmp)  # a run stopped half-way, with --workdir, left one
            store = f"sqlite:///{tmp / 'relay.db'}"
        else:
            schema = "qd_bench_" + secrets.token_hex(4)
            with psycopg.connect(POSTGRES, autocommit=True) as db:
                db.execute(f"CREATE SCHEMA {schema}")
            joiner = "&" if "?" in POSTGRES else "?"
            store = f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
        command = [
            sys.executable, "-m", "relay", "--config", str(config), "--store", store,
            "--port", str(port), "--http", http, "--loop", loop,
        ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(port, server)
        url = f"http://127.0.0.1:{port}"
        # A short warm-up on envelopes of its own, then the measured run.
        _wrk(url, tmp / "warm.txt", 2, args, bare=True)  # it may run out: repeats are fine
        time.sleep(1)  # what the warm-up left in flight lands
        if schema:
            # Statistics, as autovacuum keeps them on a database in use: without them, the
            # planner of a table that was empty a second ago scans it rather than its index.
            with psycopg.connect(store, autocommit=True) as db:
                db.execute("ANALYZE")
        before = _stored(name, tmp, store)
        cpu = _cpu_seconds(server.pid)
        result = _wrk(url, bodies, args.seconds, args, bare=name == "bare")
        cpu = _cpu_seconds(server.pid) - cpu
        time.sleep(1)
        run = Run(name=name, **{k: v for k, v in result.items() if k != "requests"})
        run.cpu_us = cpu / max(result["requests"], 1) * 1e6
        if name != "bare":
            run.stored = _stored(name, tmp, store) - (before or 0)
        print(f"  {name}: {run.rps:,.0f} requests/s", flush=True)
        return run
    finally:
        server.terminate()
        server.wait(timeout=30)
        if name == "sqlite":
            _remove_database(tmp)
        if schema:
            with psycopg.connect(POSTGRES, autocommit=True) as db:
                db.execute(f"DROP SCHEMA {schema} CASCADE")


def _remove_database(tmp: Path) -> None:
    for f in tmp.glob("relay.db*"):
        f.unlink()


_BARE_SERVER = """
import sys
sys.path.insert(0, {tmp!r})
from bare_app import app
from relay.logs import LOG_CONFIG
from relay.server import Deadlines, serve
serve(app, host="127.0.0.1", port={port}, deadlines=Deadlines(10, 2048, 98304),
      log_config=LOG_CONFIG, parser={http!r}, loop={loop!r})
"""


def _wrk(
    url: str, bodies: Path, seconds: int, args: argparse.Namespace, bare: bool = False
) -> dict[str, Any]:
    """One wrk run; the bare endpoint stores nothing, so it may be sent an envelope again."""
    script = bodies.parent / "post.lua"
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(bodies),
            str(args.threads),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(
        r"RESULT requests=(\d+) created=(\d+) other=(\d+) reused=(\d+) "
        r"p50=([\d.]+) p99=([\d.]+) rps=([\d.]+)",
        out,
    )
    if match is None:
        raise SystemExit(f"wrk said:\n{out}")
    if int(match[4]) and not bare:
        raise SystemExit("wrk ran out of envelopes: run with a larger --envelopes")
    return {
        "requests": int(match[1]),
        "rps": float(match[7]),
        "p50": float(match[5]),
        "p99": float(match[6]),
        "acknowledged": int(match[2]),
        "other": int(match[3]),
    }


def report(runs: list[Run], args: argparse.Namespace, stack: str) -> None:
    bare = next((r for r in runs if r.name == "bare"), None)
    print()
    print(
        f"POST /api/v1/cases, 1 KiB envelopes, wrk {args.threads} threads, "
        f"{args.connections} connections, {args.seconds} s, one worker, "
        f"{stack}"
    )
    print(
        f"{'server':<12}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}"
        f"{'CPU µs/req':>12}  stored"
    )
    for r in runs:
        ratio = f"{r.rps / bare.rps:.2f}" if bare else "-"
        if r.stored is None:
            stored = "-"
        else:
            in_flight = r.stored - r.acknowledged
            ok = 0 <= in_flight <= args.connections
            stored = (
                f"{r.stored:,} of {r.acknowledged:,} acknowledged (+{in_flight} in flight at "
                f"the end){'' if ok else '  MISMATCH'}"
            )
        refused = f"  ({r.other} not 201)" if r.other else ""
        print(
            f"{r.name:<12}{r.rps:>12,.0f}{r.p50:>9.1f}{r.p99:>9.1f}{ratio:>8}{r.cpu_us:>12.0f}"
            f"  {stored}{refused}"
        )
    print()


def proof_cost() -> None:
    """The relay's cost of a proof of work: making a challenge, and checking a solved one."""
    import base64

    from altcha import v2 as altcha

    from relay.proof import Proofs

    proofs = Proofs(secrets.token_bytes(32))
    n = 200
    started = time.process_time()
    challenges = [proofs.challenge("lincoln-high", 10, False) for _ in range(n)]
    made = (time.process_time() - started) / n
    headers = []
    for c in challenges:
        challenge = altcha.Challenge.from_dict(c)
        solution = altcha.solve_challenge(challenge)
        assert solution is not None  # noqa: S101 - ten tries at most
        payload = {"challenge": c, "solution": {"counter": solution.counter,
                                                 "derivedKey": solution.derived_key}}  # fmt: skip
        headers.append(base64.b64encode(json.dumps(payload).encode()).decode())
    started = time.process_time()
    for h in headers:
        proofs.check(h, "lincoln-high", 5)
    checked = (time.process_time() - started) / n
    print("Proof of work, on the relay (CPU time):")
    print(f"  make a challenge (one PBKDF2 of {json.dumps(challenges[0]['parameters']['cost'])} "
          f"iterations): {made * 1e6:,.0f} µs")  # fmt: skip
    print(f"  check a solved one (signatures only):        {checked * 1e6:,.0f} µs")
    print()


def schools_lookup(tmp: Path) -> None:
    """GET /api/v1/schools, signed, at 3 and at 20,000 schools: it must not grow with them."""
    print("GET /api/v1/schools (a district lead's key), sequential, median of 200:")
    for count in (3, 20_000):
        key = SigningKey.generate()
        config = _many_schools(tmp, count, key)
        port = free_port()
        log = tmp / f"schools-{count}.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "relay", "--config", str(config), "--store",
                 f"sqlite:///{tmp / f'schools-{count}.db'}", "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip
        try:
            wait_ready(port, server, timeout=120)
            times = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(200):
                    headers = sign_request(key, "GET", "/api/v1/schools", b"")
                    started = time.perf_counter()
                    answer = client.get("/api/v1/schools", headers=headers)
                    times.append(time.perf_counter() - started)
                    assert answer.status_code == 200  # noqa: S101
            print(f"  {count:>6,} schools: {statistics.median(times) * 1000:.2f} ms "
                  f"({len(answer.json()['schools']):,} listed)")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    print()


def _many_schools(tmp: Path, count: int, key: SigningKey) -> Path:
    districts = tuple(District(f"d{i}", f"District {i}") for i in range(max(count // 50, 1)))
    schools = tuple(
        School(f"s{i}", f"School {i}", districts[i % len(districts)].slug, ReadHours(True))
        for i in range(count)
    )
    lead = Recipient(
        id="state-lead",
        name="State lead",
        x25519=bytes(PrivateKey.generate().public_key),
        ed25519=bytes(key.verify_key),
        districts=tuple(d.slug for d in districts),
    )
    example = load_config(EXAMPLE)
    deployment = dataclasses.replace(
        example,
        base_url="http://127.0.0.1",
        relay_url="http://127.0.0.1",
        districts=districts,
        schools=schools,
        recipients=(lead,),
        placements=(),
        relay=BENCH_LIMITS,
    )
    path = tmp / f"schools-{count}.toml"
    path.write_text(dump_config(deployment), encoding="utf-8")
    return path


def _stored(name: str, tmp: Path, store: str) -> int | None:
    """Messages in the relay's database now (None for the bare endpoint, which keeps none)."""
    if name == "sqlite":
        import sqlite3

        with sqlite3.connect(tmp / "relay.db") as db:
            row = db.execute("SELECT COUNT(*) FROM messages").fetchone()
        db.close()
        return int(row[0])
    if name == "postgresql":
        with psycopg.connect(store) as pg:
            found = pg.execute("SELECT COUNT(*) FROM messages").fetchone()
        return int(found[0]) if found else 0
    return None


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
