"""Read-only warehouse access from an Airflow connection id.

Agents query through the core's read-only executors, not through the providers'
DbApiHooks, because the hooks open read-write connections (SqliteHook) or use
psycopg2, whose simple query protocol runs stacked statements (PostgresHook). The
connection itself still comes from Airflow, so any secrets backend works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow_aimod.core.executors.base import ReadOnlyExecutor
    from airflow_aimod.core.executors.pii import PiiAwareExecutor

log = logging.getLogger("airflow_aimod.warehouse")
_WARNED: set[tuple[str, str]] = set()  # (conn_id, table.column): warned once per process

DIALECTS = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}


def dialect_for(conn_type: str | None) -> str:
    """The SQL dialect agents use for a connection type."""
    try:
        return DIALECTS[(conn_type or "").lower()]
    except KeyError:
        raise ConfigurationError(
            f"connection type {conn_type!r} is not supported by the SQL agents yet; use one of {sorted(DIALECTS)}"
        ) from None


def get_connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id`` (its secrets registered for masking), or a ConfigurationError that
    says how to create it."""
    from airflow_aimod.hooks._connections import fetch_connection

    return fetch_connection(conn_id, create_hint=f"create it in the UI or set AIRFLOW_CONN_{conn_id.upper()}")


def open_readonly_executor(conn_id: str, *, pool_max: int = 2) -> ReadOnlyExecutor:
    """A read-only executor for the database behind ``conn_id`` (the caller closes it)."""
    conn = get_connection(conn_id)
    dialect = dialect_for(conn.conn_type)
    if dialect == "sqlite":
        from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor

        path = conn.host or conn.schema
        if not path:
            raise ConfigurationError(f"sqlite connection {conn_id!r} has no database path in its host field")
        return SqliteReadOnlyExecutor(path)
    from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor

    extra = {k: v for k, v in (conn.extra_dejson or {}).items() if k in ("sslmode", "sslrootcert", "options")}
    return PostgresReadOnlyExecutor.from_params(
        host=conn.host or "localhost", port=conn.port or 5432, user=conn.login, password=conn.password,
        dbname=conn.schema or "postgres", pool_max=pool_max, **extra,
    )


def pii_aware_executor(executor: ReadOnlyExecutor, *, conn_id: str, pii_conn_id: str | None,
                       pii_tables: Iterable[str], pii_columns: Iterable[str]) -> PiiAwareExecutor:
    """Wrap the agent's executor: approved queries on ``pii_conn_id`` (opened only then), PII never sampled;
    warns once when the role of ``conn_id`` can read a declared PII column."""
    from functools import partial

    from airflow_aimod.core.executors.pii import PiiAwareExecutor

    opener = partial(open_readonly_executor, pii_conn_id, pool_max=1) if pii_conn_id else None
    wrapped = PiiAwareExecutor(executor, pii_tables=pii_tables, pii_columns=pii_columns, open_approved=opener)
    if pii_columns or pii_tables:
        warn_if_default_reads_pii(wrapped, conn_id=conn_id, pii_conn_id=pii_conn_id)
    return wrapped


def warn_if_default_reads_pii(executor: PiiAwareExecutor, *, conn_id: str, pii_conn_id: str | None) -> list[str]:
    """Log (once per process and column) the declared PII columns the role of ``conn_id`` can read; return them."""
    try:
        readable = executor.readable_pii_columns()
    except Exception as exc:  # noqa: BLE001 - a failed check must not fail the task; it is reported
        log.warning("could not check the column privileges of connection %r: %s", conn_id, exc)
        return []
    fresh = [c for c in readable if (conn_id, c) not in _WARNED]
    _WARNED.update((conn_id, c) for c in fresh)
    if fresh:
        fix = ("revoke them from its role so only approved queries (pii_conn_id) can read them"
               if pii_conn_id else "revoke them from its role and set pii_conn_id to a role that may read them")
        log.warning("the role of connection %r can read declared PII column(s) %s: the database does not enforce "
                    "the approval; %s (docs/postgres_readonly_role.md)", conn_id, ", ".join(fresh), fix)
    return readable
