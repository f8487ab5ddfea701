"""Throwaway PostgreSQL databases for tests that need a real server.

The server on 127.0.0.1:5432 (trust auth, user ``postgres``) is a requirement, not an
option: when it is unreachable these helpers raise with instructions, they never skip.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
UNAVAILABLE = (
    "PostgreSQL on 127.0.0.1:5432 is required for these tests: start it with "
    "`sudo service postgresql start` (Debian/Ubuntu; trust auth for user postgres on 127.0.0.1) or "
    "`docker run -d --name aimod-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`"
)


class PostgresUnavailable(RuntimeError):
    """Raised when the test server cannot be reached (the tests fail, they do not skip)."""


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def airflow_connection(url: str, **extra: Any) -> str:
    """The ``AIRFLOW_CONN_<ID>`` JSON of a postgres connection to the database at ``url``."""
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = {"conn_type": "postgres", "host": parts.hostname, "port": parts.port, "login": parts.username,
            "schema": parts.path.lstrip("/")}
    return json.dumps({**conn, "extra": extra} if extra else conn)


@contextmanager
def warehouse_copy(sqlite_path: Any, prefix: str) -> Iterator[str]:
    """A throwaway Postgres database loaded from the SQLite warehouse at ``sqlite_path``: its connection JSON."""
    from tests.support.pg_warehouse import load_into_postgres

    with throwaway_database(prefix) as url:
        load_into_postgres(url, sqlite_path)
        yield airflow_connection(url)


def admin_connection() -> Any:
    """An autocommit connection to the server's ``postgres`` database, or PostgresUnavailable."""
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(f"{UNAVAILABLE}\n(connecting to {ADMIN_URL} failed: {exc})") from exc


@contextmanager
def throwaway_database(prefix: str = "aimod_test") -> Iterator[str]:
    """Create ``<prefix>_<pid>_<random>``, yield its URL, drop it (WITH FORCE) afterwards."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
        raise ValueError(f"database prefix must be a short lower-case identifier, got {prefix!r}")
    from psycopg import sql

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with admin_connection() as admin:
        _drop_stale(admin, prefix)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(name)
    finally:
        with admin_connection() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def drop_roles(database_url: str, *roles: str) -> None:
    """Drop test roles (and what they own or were granted in ``database_url``); missing ones are skipped."""
    import psycopg

    for role in roles:
        with admin_connection() as admin:
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                continue
        with psycopg.connect(database_url, autocommit=True) as owner:
            owner.execute(f'DROP OWNED BY "{role}"')
        with admin_connection() as admin:
            admin.execute(f'DROP ROLE "{role}"')


def _drop_stale(admin: Any, prefix: str) -> None:
    """Drop databases left behind by test processes that no longer exist (and nobody is connected to)."""
    import psycopg
    from psycopg import sql

    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)_[0-9a-f]{{8}}")
    idle = ("SELECT d.datname FROM pg_database d WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)")
    for (name,) in admin.execute(idle).fetchall():
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            try:  # no FORCE: somebody connecting meanwhile keeps it
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            except psycopg.Error:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
