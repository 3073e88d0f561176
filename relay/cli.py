"""quietdoor-relay --config PATH --store URL [--static DIR] [--host H] [--port N] [--new-epoch]"""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
from pathlib import Path

from quietdoor.config import Deployment, load_config
from quietdoor.errors import QuietDoorError
from relay.app import create_app
from relay.epoch import new_epoch
from relay.errors import RelayError
from relay.logs import LOG_CONFIG
from relay.server import Deadlines, choose, serve
from relay.store import SQLStore, StoreError
from relay.stores import open_store

log = logging.getLogger("relay")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quietdoor-relay", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("examples/demo.toml"))
    parser.add_argument(
        "--store",
        default="sqlite:///var/relay.db",
        help="sqlite:///path/to/relay.db (default) or postgresql://...",
    )
    parser.add_argument("--static", type=Path, help="serve this folder (the built site) at /")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--http",
        choices=["auto", "h11", "httptools"],
        default="auto",
        help="uvicorn's HTTP parser (default: httptools when installed)",
    )
    parser.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="the event loop (default: uvloop when installed)",
    )
    parser.add_argument(
        "--new-epoch",
        action="store_true",
        help="after restoring the database from a backup: move every school's next cursor "
        "past anything read before, then exit",
    )
    args = parser.parse_args(argv)
    try:
        deployment = load_config(args.config)
        if args.static is not None and not args.static.is_dir():
            raise StoreError(
                f"--static {args.static}: no such folder; build the site first (quietdoor-build)"
            )
        store = open_store(args.store)
    except (QuietDoorError, RelayError) as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    if args.new_epoch:
        return _new_epoch(store, deployment)
    logging.config.dictConfig(LOG_CONFIG)
    try:
        app = create_app(deployment, store, args.static)
    except RelayError as exc:
        store.close()
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    http, loop = choose(args.http, args.loop)
    log.info(
        "relay starting: %s store, %s parser, %s loop",
        store.kind,
        http,
        loop,
        extra={"event": "start", "store": store.kind, "http": http, "loop": loop},
    )
    limits = deployment.relay
    deadlines = Deadlines(
        header_timeout=limits.header_timeout_seconds,
        min_rate=limits.min_upload_bytes_per_second,
        max_body=limits.max_body_bytes,
    )
    try:
        serve(
            app,
            host=args.host,
            port=args.port,
            deadlines=deadlines,
            log_config=LOG_CONFIG,
            parser=http,
            loop=loop,
        )
    finally:
        store.close()
        log.info("relay stopped", extra={"event": "stop"})
    return 0


def _new_epoch(store: SQLStore, deployment: Deployment) -> int:
    try:
        moved = store.call("", new_epoch, [s.slug for s in deployment.schools])
    except RelayError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    for m in moved:
        print(f"{m.school}: last cursor {m.last}, the next message gets cursor {m.next}")
    print(f"relay: a new epoch of cursors for {len(moved)} schools; start the relays now")
    return 0
