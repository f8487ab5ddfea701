"""Read-only warehouse access from an Airflow connection id.

Agents query through the core's read-only executors, not through the providers'
DbApiHooks, because the hooks open read-write connections (SqliteHook) or use
psycopg2, whose simple query protocol runs stacked statements (PostgresHook). The
connection itself still comes from Airflow, so any secrets backend works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow_aimod.core.executors.base import ReadOnlyExecutor

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
    from airflow.sdk.bases.hook import BaseHook

    from airflow_aimod.hooks._secrets import protect_connection

    try:
        return protect_connection(BaseHook.get_connection(conn_id))
    except Exception as exc:
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        raise ConfigurationError(
            f"no Airflow connection {conn_id!r}: create it in the UI or set AIRFLOW_CONN_{conn_id.upper()}"
        ) from None


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
