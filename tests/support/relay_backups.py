"""A relay's database backed up while it runs and restored as an operator would, or a row
deleted as retention deletes it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

from .stores import POSTGRES


def _schema(store_url: str) -> str:
    """The schema a test's PostgreSQL store URL puts first on its search path."""
    options = parse_qs(urlsplit(store_url).query)["options"][0]
    return options.removeprefix("-csearch_path=")


def back_up(store_url: str, target: Path) -> None:
    """SQLite's online backup API, or pg_dump of the store's schema (as DEPLOYMENT.md shows)."""
    if store_url.startswith("sqlite:///"):
        with (
            sqlite3.connect(store_url.removeprefix("sqlite:///")) as live,
            sqlite3.connect(target) as copy,
        ):
            live.backup(copy)
        return
    subprocess.run(
        ["pg_dump", "--schema", _schema(store_url), "--file", str(target), POSTGRES], check=True
    )


def restore(store_url: str, source: Path) -> None:
    """Put a backup back in place of the store (the relay must be stopped)."""
    if store_url.startswith("sqlite:///"):
        db = Path(store_url.removeprefix("sqlite:///"))
        for extra in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            extra.unlink(missing_ok=True)
        shutil.copyfile(source, db)
        return
    with psycopg.connect(POSTGRES, autocommit=True) as db:
        db.execute(f"DROP SCHEMA {_schema(store_url)} CASCADE")
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(source), POSTGRES],
        check=True,
        capture_output=True,
    )


def delete_message(store_url: str, school: str, seq: int) -> None:
    """Delete one message from the running relay's store, as a retention sweep would."""
    sql = "DELETE FROM messages WHERE school = {0} AND seq = {0}"
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.execute(sql.format("?"), (school, seq))
        return
    with psycopg.connect(store_url, autocommit=True) as db:
        db.execute(sql.format("%s"), (school, seq))
