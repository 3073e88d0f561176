"""Open the store a URL names: the one place that knows every back end.

It sits apart from relay/store.py, which the back ends import for the shared
SQL, so that no module imports a module that imports it back.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from relay.store import SQLStore, StoreError
from relay.store_sqlite import SQLiteStore


def open_store(url: str) -> SQLStore:
    """sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://..."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise StoreError(f"{url!r}: write sqlite:///path/to/relay.db")
        return SQLiteStore(path)
    if scheme in ("postgresql", "postgres"):
        # psycopg loads only when a relay runs on PostgreSQL.
        from relay.store_postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(f"{url!r}: the store URL must start with sqlite:/// or postgresql://")
