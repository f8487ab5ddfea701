"""Read-only PostgreSQL executor: every query runs in a READ ONLY transaction that is rolled back.

Each ``run`` borrows a pooled connection and, in one transaction, issues
``BEGIN READ ONLY`` (psycopg does it for a connection with ``read_only = True``),
``SET LOCAL statement_timeout`` and the caller's query as a server-side cursor
(``DECLARE ... CURSOR FOR <query>``), which psycopg always sends with the *extended*
protocol: the server parses exactly one statement, so ``SELECT 1; COMMIT; DELETE ...``
is refused outright. Only ``max_rows + 1`` rows are fetched, so a huge result never
reaches client memory. The transaction is always rolled back and session-level
advisory locks are released before the connection returns to the pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from airflow_aimod.core.executors.base import (
    ExecutorBase, QueryResult, check_limits, execution_error, timeout_error,
)
from airflow_aimod.core.redaction import scrub
from airflow_aimod.core.schema import Catalog, Column, ForeignKey, Table
from airflow_aimod.exceptions import AgentTimeout, ConfigurationError, QueryExecutionError

ENUM_SAMPLES_MAX = 30
"""Enum columns with at most this many labels get them as ``samples`` straight from the catalog."""

_CURSOR = "aimod_readonly"
_CTOR_OPTIONS = ("pool_min", "pool_max", "statement_timeout_s", "schemas", "connect_timeout_s")
_LOCAL_SETTINGS = ("SELECT set_config('statement_timeout', %s, true), "
                   "set_config('cursor_tuple_fraction', '1', true)")  # plan cursors for the whole result

_RELATIONS_SQL = """
SELECT c.oid, n.nspname, c.relname,
       CASE WHEN c.relkind = 'p' THEN (
                SELECT CASE WHEN bool_and(ch.reltuples >= 0) THEN sum(ch.reltuples) END
                FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ch ON ch.oid = i.inhrelid
                WHERE i.inhparent = c.oid)
            WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0 THEN c.reltuples END
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND (n.nspname = ANY(%(schemas)s::text[])
       OR (%(all)s AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'))
  AND has_any_column_privilege(c.oid, 'SELECT')
ORDER BY coalesce(array_position(%(schemas)s::text[], n.nspname::text), 0), n.nspname, c.relname
"""
_COLUMNS_SQL = """
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       EXISTS (SELECT 1 FROM pg_catalog.pg_index i
               WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey)),
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
        FROM pg_catalog.pg_enum e WHERE e.enumtypid = a.atttypid)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY(%(oids)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  AND has_column_privilege(a.attrelid, a.attnum, 'SELECT')
ORDER BY a.attrelid, a.attnum
"""
_FOREIGN_KEYS_SQL = """
SELECT con.conrelid, a.attname, fn.nspname, fc.relname, fa.attname
FROM pg_catalog.pg_constraint con
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, refcol, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.refcol
WHERE con.contype = 'f' AND con.conparentid = 0 AND con.conrelid = ANY(%(oids)s::oid[])
ORDER BY con.conrelid, con.conname, k.ord
"""

# Declared PII columns as the agent's role sees them: do they exist, and may the role read them?
_COLUMN_ACCESS_SQL = """
SELECT n.nspname, c.relname, a.attname, has_column_privilege(c.oid, a.attnum, 'SELECT'),
       pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND (lower(c.relname) = ANY(%(whole)s::text[])
       OR (lower(c.relname) = ANY(%(tables)s::text[]) AND lower(a.attname) = ANY(%(columns)s::text[])))
  AND (n.nspname = ANY(%(schemas)s::text[])
       OR (%(all)s AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'))
ORDER BY n.nspname, c.relname, a.attnum
"""


class PostgresReadOnlyExecutor(ExecutorBase):
    """Runs validated SELECTs in read-only, rolled-back transactions over a small connection pool."""

    dialect = "postgres"

    def __init__(self, conninfo: str, *, pool_min: int = 1, pool_max: int = 4, statement_timeout_s: float = 30.0,
                 schemas: Sequence[str] | None = ("public",), connect_timeout_s: float = 10.0) -> None:
        """``conninfo``: libpq string or URI. ``statement_timeout_s`` caps every query and bounds ``catalog()``.

        ``schemas``: the schemas ``catalog()`` lists (``None``: every non-system schema).
        """
        if not 0 <= pool_min <= pool_max or pool_max < 1:
            raise ConfigurationError(f"need 0 <= pool_min <= pool_max and pool_max >= 1, got {pool_min}, {pool_max}")
        check_limits(0, statement_timeout_s)
        check_limits(0, connect_timeout_s)
        self._conninfo = _with_defaults(conninfo, connect_timeout_s)
        self.pool_min, self.pool_max = pool_min, pool_max
        self.statement_timeout_s = float(statement_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.schemas = None if schemas is None else tuple(schemas)
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_params(cls, host: str | None = "localhost", port: int | str | None = 5432, user: str | None = None,
                    password: str | None = None, dbname: str | None = "postgres",
                    **options: Any) -> PostgresReadOnlyExecutor:
        """Build from connection fields; executor options (``pool_max``, ``schemas``, ...) pass through,
        anything else (``sslmode``, ``options``, ...) goes to libpq."""
        ctor = {k: options.pop(k) for k in _CTOR_OPTIONS if k in options}
        fields = {"host": host, "port": port, "user": user, "password": password, "dbname": dbname, **options}
        return cls(pg_conninfo.make_conninfo("", **{k: v for k, v in fields.items() if v not in (None, "")}), **ctor)

    @property
    def target(self) -> str:
        """``user@host:port/dbname`` (never the password), for messages."""
        p = pg_conninfo.conninfo_to_dict(self._conninfo)
        return f"{p.get('user', '')}@{p.get('host', 'localhost')}:{p.get('port', 5432)}/{p.get('dbname', '')}"

    def run(self, sql: str, *, max_rows: int = 1000, timeout_s: float = 30.0) -> QueryResult:
        """Run one statement read-only; at most ``max_rows`` rows within ``min(timeout_s, statement_timeout_s)``."""
        check_limits(max_rows, timeout_s)
        started = time.perf_counter()
        with self._session(min(timeout_s, self.statement_timeout_s)) as conn:
            cur = conn.cursor(name=_CURSOR)
            try:
                cur.execute(sql)
                rows = cur.fetchmany(max_rows + 1)
                columns = [c.name for c in cur.description or ()]
            finally:
                try:
                    conn.rollback()  # ends the transaction first: closing the cursor then costs no round trip
                finally:
                    cur.close()
        return QueryResult.build(columns, rows, max_rows=max_rows, started=started)

    def catalog(self) -> Catalog:
        """Tables, views and materialized views the user may read, with keys and reltuples estimates."""
        schemas = list(self.schemas or ())
        with self._session(self.statement_timeout_s) as conn, conn.cursor() as cur:
            relations = cur.execute(_RELATIONS_SQL, {"schemas": schemas, "all": self.schemas is None}).fetchall()
            oids = [r[0] for r in relations]
            columns = cur.execute(_COLUMNS_SQL, {"oids": oids}).fetchall()
            fks = cur.execute(_FOREIGN_KEYS_SQL, {"oids": oids}).fetchall()
        return _build_catalog(relations, columns, fks)

    def column_access(self, columns: list[tuple[str, str]],
                      tables: list[str] = ()) -> list[tuple[str, str, str, bool, str]]:
        """(schema, table, column, readable by this role, type) for each existing ``(table, column)`` pair and
        every column of ``tables``; names and types come from ``pg_attribute``, which every role may read."""
        wanted = {(t.lower(), c.lower()) for t, c in columns}
        whole = sorted({t.lower() for t in tables})
        params = {"tables": sorted({t for t, _ in wanted}), "columns": sorted({c for _, c in wanted}),
                  "whole": whole, "schemas": list(self.schemas or ()), "all": self.schemas is None}
        with self._session(self.statement_timeout_s) as conn, conn.cursor() as cur:
            rows = cur.execute(_COLUMN_ACCESS_SQL, params).fetchall()
        return [(schema, table, column, bool(readable), type_) for schema, table, column, readable, type_ in rows
                if table.lower() in whole or (table.lower(), column.lower()) in wanted]

    def stats(self) -> dict[str, int]:
        """The pool's ``get_stats()`` (empty before the first query)."""
        return self._pool.get_stats() if self._pool is not None else {}

    def close(self) -> None:
        """Close the pool and its connections (idempotent)."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.close(timeout=5.0)

    def _sample_queries(self, queries: list[str], timeout_s: float) -> list[list[tuple[Any, ...]]]:
        results: list[list[tuple[Any, ...]]] = []
        deadline = time.monotonic() + timeout_s  # statement_timeout bounds each statement, this the session
        try:
            with self._session(min(timeout_s, self.statement_timeout_s)) as conn, conn.cursor() as cur:
                for sql in queries:
                    if time.monotonic() > deadline:
                        break
                    results.append(cur.execute(sql).fetchall())
        except (AgentTimeout, QueryExecutionError):
            pass
        return results

    @contextmanager
    def _session(self, timeout_s: float) -> Iterator[psycopg.Connection]:
        """A pooled connection inside a READ ONLY transaction with a local statement_timeout."""
        pool = self._get_pool()
        deadline = time.monotonic() + timeout_s
        try:
            with pool.connection(timeout=timeout_s) as conn:
                try:
                    if conn.autocommit or not conn.read_only:  # never run anything outside READ ONLY
                        raise QueryExecutionError("refusing a pooled connection that is not read-only")
                    remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
                    conn.execute(_LOCAL_SETTINGS, (str(remaining_ms),))
                    yield conn
                finally:
                    conn.rollback()
        except pg_errors.QueryCanceled:
            raise timeout_error(timeout_s) from None
        except PoolTimeout:
            raise AgentTimeout(f"no database connection became free within {timeout_s:g} s "
                               f"(pool_max={self.pool_max}); retry later or raise pool_max") from None
        except PoolClosed:
            raise QueryExecutionError("the PostgreSQL executor is closed") from None
        except psycopg.Error as exc:
            raise execution_error("postgres", _message(exc), transient=isinstance(exc, psycopg.OperationalError)) from None

    def _get_pool(self) -> ConnectionPool:
        """The pool, opened on first use; a connection failure says why."""
        with self._lock:
            if self._closed:
                raise QueryExecutionError("the PostgreSQL executor is closed")
            if self._pool is None:
                self._pool = self._open_pool()
            return self._pool

    def _open_pool(self) -> ConnectionPool:
        pool: ConnectionPool = ConnectionPool(
            self._conninfo, min_size=self.pool_min, max_size=self.pool_max, open=False, name="aimod-readonly",
            configure=_configure, check=ConnectionPool.check_connection, reset=_reset,
            timeout=self.statement_timeout_s,
        )
        try:
            pool.open(wait=True, timeout=self.connect_timeout_s)
        except PoolTimeout:
            pool.close(timeout=1.0)
            raise QueryExecutionError(f"cannot connect to PostgreSQL as {self.target}: {self._probe()}",
                                      transient=True) from None
        return pool

    def _probe(self) -> str:
        """Why a direct connection fails (the pool only reports a timeout)."""
        try:
            psycopg.connect(self._conninfo).close()
        except psycopg.Error as exc:
            return scrub(str(exc).strip())
        return f"the pool opened no connection within {self.connect_timeout_s:g} s"


def _configure(conn: psycopg.Connection) -> None:
    """Every pooled connection: transactions are READ ONLY, and nothing is server-side prepared."""
    conn.read_only = True
    conn.autocommit = False
    conn.prepare_threshold = None


def _reset(conn: psycopg.Connection) -> None:
    """On return to the pool: release session-level advisory locks (a rollback keeps them)."""
    conn.autocommit = True
    try:
        conn.execute("SELECT pg_catalog.pg_advisory_unlock_all()")
    finally:
        conn.autocommit = False


def _with_defaults(conninfo: str, connect_timeout_s: float) -> str:
    """``conninfo`` (string or URI) validated, with a connect timeout and application name by default."""
    try:
        params = pg_conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(f"invalid PostgreSQL connection string: {scrub(str(exc))}") from None
    params.setdefault("connect_timeout", str(max(1, round(connect_timeout_s))))
    params.setdefault("application_name", "airflow-aimod-readonly")
    return pg_conninfo.make_conninfo("", **params)


def _message(exc: psycopg.Error) -> str:
    """The server's message (and hint), without positions in the DECLARE wrapper the caller never wrote."""
    diag = getattr(exc, "diag", None)
    text = (diag.message_primary if diag and diag.message_primary else str(exc)).replace("DECLARE CURSOR", "a query")
    hint = diag.message_hint if diag else None
    return f"{text} (hint: {hint})" if hint else text


def _build_catalog(relations: list[tuple[Any, ...]], columns: list[tuple[Any, ...]],
                   fks: list[tuple[Any, ...]]) -> Catalog:
    cols: dict[int, list[Column]] = {}
    for oid, name, type_, notnull, pk, labels in columns:
        enum = tuple(labels) if labels and len(labels) <= ENUM_SAMPLES_MAX else ()
        cols.setdefault(oid, []).append(Column(name, type_, nullable=not notnull, primary_key=pk, samples=enum,
                                               distinct_count=len(labels) if labels else None))
    schema_of = {oid: schema for oid, schema, _, _ in relations}
    refs: dict[int, list[ForeignKey]] = {}
    for oid, column, ref_schema, ref_table, ref_column in fks:
        ref = ref_table if ref_schema == schema_of.get(oid) else f"{ref_schema}.{ref_table}"
        refs.setdefault(oid, []).append(ForeignKey(column, ref, ref_column))
    tables = tuple(
        Table(name=name, schema=schema, columns=tuple(cols.get(oid, ())), foreign_keys=tuple(refs.get(oid, ())),
              row_count=None if rows is None else int(rows))
        for oid, schema, name, rows in relations
    )
    return Catalog(dialect="postgres", tables=tables)
