"""Read-only SQLite executor: the file is opened read-only, so writes fail in SQLite itself.

Three layers, each enough on its own against writes: the file is opened with
``mode=ro``, ``PRAGMA query_only`` is on, and while a caller's query is prepared an
authorizer allows only reads (no ATTACH, no PRAGMA writes, no transaction control).
A progress handler enforces the deadline; each call runs in its own transaction
that is always rolled back.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_aimod.core.executors.base import (
    ExecutorBase, QueryResult, check_limits, execution_error, quote_ident, timeout_error,
)
from airflow_aimod.core.schema import Catalog, Column, ForeignKey, Table
from airflow_aimod.exceptions import AgentTimeout, ConfigurationError, QueryExecutionError

CATALOG_TIMEOUT_S = 30.0
EXACT_COUNT_MAX_BYTES = 16 * 1024 * 1024
"""Files up to this size get exact ``count(*)`` row counts in the catalog (no sqlite_stat1 needed)."""

_PROGRESS_STEPS = 1000
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})
_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                            "foreign_key_list"})
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})

_OBJECTS_SQL = ("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name")
_COLUMNS_SQL = ("SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master AS m "
                "JOIN pragma_table_info(m.name) AS p WHERE m.type IN ('table', 'view') "
                "AND substr(m.name, 1, 7) <> 'sqlite_' ORDER BY m.name, p.cid")
_FKS_SQL = ("SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\" FROM sqlite_master AS m "
            "JOIN pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' "
            "AND substr(m.name, 1, 7) <> 'sqlite_' ORDER BY m.name, f.id, f.seq")


class SqliteReadOnlyExecutor(ExecutorBase):
    """Runs validated SELECTs against a SQLite file it cannot modify."""

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = _existing_file(path)
        self._lock = threading.RLock()
        self._deadline: float | None = None
        self._interrupted = False
        self._strict = False
        self._conn: sqlite3.Connection | None = _open_readonly(self.path)
        self._conn.set_authorizer(self._authorize)
        self._conn.set_progress_handler(self._progress, _PROGRESS_STEPS)

    def run(self, sql: str, *, max_rows: int = 1000, timeout_s: float = 30.0) -> QueryResult:
        """Run one statement read-only; at most ``max_rows`` rows, within ``timeout_s``."""
        check_limits(max_rows, timeout_s)
        started = time.perf_counter()
        with self._session(timeout_s, strict=True) as cur:
            cur.execute(sql)
            rows = cur.fetchmany(max_rows + 1)
            columns = [d[0] for d in cur.description or ()]
        return QueryResult.build(columns, rows, max_rows=max_rows, started=started)

    def catalog(self) -> Catalog:
        """Tables and views with columns, primary and foreign keys, and row counts when cheap."""
        with self._session(CATALOG_TIMEOUT_S, strict=False) as cur:
            objects = cur.execute(_OBJECTS_SQL).fetchall()
            columns = _columns(cur, [name for name, _ in objects])
            fks = cur.execute(_FKS_SQL).fetchall()
            counts = self._row_counts(cur, [name for name, kind in objects if kind == "table"])
        return _build_catalog(objects, columns, fks, counts)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _sample_queries(self, queries: list[str], timeout_s: float) -> list[list[tuple[Any, ...]]]:
        results: list[list[tuple[Any, ...]]] = []
        try:
            with self._session(timeout_s, strict=True) as cur:
                for sql in queries:
                    results.append(cur.execute(sql).fetchall())
        except (AgentTimeout, QueryExecutionError):
            pass
        return results

    @contextmanager
    def _session(self, timeout_s: float, *, strict: bool) -> Iterator[sqlite3.Cursor]:
        """A cursor in a fresh transaction, under a deadline; rolled back and errors translated on exit."""
        with self._lock:
            if self._conn is None:
                raise QueryExecutionError("the SQLite executor is closed")
            conn = self._conn
            cur = conn.cursor()
            self._deadline, self._interrupted = time.monotonic() + timeout_s, False
            try:
                conn.execute("BEGIN")
                self._strict = strict
                yield cur
            except (sqlite3.Error, sqlite3.Warning) as exc:  # Python 3.10 warns on stacked statements
                if self._interrupted:
                    raise timeout_error(timeout_s) from None
                raise execution_error("sqlite", _explain(str(exc))) from None
            finally:
                self._strict, self._deadline = False, None
                cur.close()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def _row_counts(self, cur: sqlite3.Cursor, tables: list[str]) -> dict[str, int]:
        """Row counts from sqlite_stat1 (ANALYZE), else exact counts when the file is small."""
        if cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            stats = cur.execute("SELECT tbl, stat FROM sqlite_stat1").fetchall()
            return {tbl.lower(): int(stat.split()[0]) for tbl, stat in stats if stat and stat.split()[0].isdigit()}
        if self.path.stat().st_size > EXACT_COUNT_MAX_BYTES:
            return {}
        return {t.lower(): cur.execute(f"SELECT count(*) FROM {quote_ident(t)}").fetchone()[0] for t in tables}

    def _progress(self) -> int:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._interrupted = True
            return 1
        return 0

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        """While a caller's SQL is prepared: reads only (no writes, ATTACH, PRAGMA writes, BEGIN/COMMIT)."""
        if not self._strict or action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _DENIED_FUNCTIONS else sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            reading = arg2 is None or (arg1 or "").lower() in _TABLE_PRAGMAS
            return sqlite3.SQLITE_OK if reading else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() in _SCHEMA_TABLES:
            return sqlite3.SQLITE_OK  # SQLite reloading its schema (pragma table functions); the file stays read-only
        return sqlite3.SQLITE_DENY


def _explain(message: str) -> str:
    """SQLite's message, spelling out what the authorizer refused."""
    if message == "not authorized":
        return ("not authorized: this connection is read-only "
                "(SELECT only; no writes, ATTACH, PRAGMA writes or BEGIN/COMMIT)")
    return message


def _existing_file(path: str | os.PathLike[str]) -> Path:
    """The absolute path of an existing database file, or a ConfigurationError (nothing is created)."""
    if not str(path) or str(path) == ":memory:":
        raise ConfigurationError("the SQLite executor needs the path of an existing database file")
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ConfigurationError(f"SQLite database {str(resolved)!r} does not exist (or is not a file); "
                                 "the read-only executor never creates one: check the connection's path")
    return resolved


def _open_readonly(path: Path) -> sqlite3.Connection:
    """Open ``path`` read-only (URI ``mode=ro``) with ``query_only`` on and ATTACH disabled."""
    uri = f"file:{quote(path.as_posix(), safe='/:')}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise ConfigurationError(f"cannot open SQLite database {str(path)!r} read-only: {exc}") from None
    if hasattr(conn, "setlimit"):  # Python 3.11+
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    return conn


def _columns(cur: sqlite3.Cursor, names: list[str]) -> list[tuple[Any, ...]]:
    """(table, column, type, notnull, pk) rows; one broken view does not hide the rest."""
    try:
        return cur.execute(_COLUMNS_SQL).fetchall()
    except sqlite3.OperationalError:
        rows = []
        for name in names:
            try:
                info = cur.execute(f"PRAGMA table_info({quote_ident(name)})").fetchall()
            except sqlite3.OperationalError:
                continue
            rows += [(name, c[1], c[2], c[3], c[5]) for c in info]
        return rows


def _build_catalog(objects: list[tuple[str, str]], columns: list[tuple[Any, ...]], fks: list[tuple[Any, ...]],
                   counts: dict[str, int]) -> Catalog:
    by_table: dict[str, list[Column]] = {}
    pks: dict[str, list[tuple[int, str]]] = {}
    for table, name, type_, notnull, pk in columns:
        by_table.setdefault(table, []).append(Column(name, type_ or "", nullable=not (notnull or pk),
                                                     primary_key=bool(pk)))
        if pk:
            pks.setdefault(table.lower(), []).append((pk, name))
    fks_by_table: dict[str, list[tuple[Any, ...]]] = {}
    for row in fks:
        fks_by_table.setdefault(row[0], []).append(row)
    canonical = {name.lower(): name for name, _ in objects}
    tables = tuple(
        Table(name=name, columns=tuple(by_table.get(name, ())), row_count=counts.get(name.lower()),
              foreign_keys=_foreign_keys(fks_by_table.get(name, []), canonical, pks))
        for name, _ in objects
    )
    return Catalog(dialect="sqlite", tables=tables)


def _foreign_keys(fks: list[tuple[Any, ...]], canonical: dict[str, str],
                  pks: dict[str, list[tuple[int, str]]]) -> tuple[ForeignKey, ...]:
    """One table's foreign keys; a reference without a column points at the parent's primary key."""
    out = []
    for _owner, _id, seq, ref_table, column, ref_column in fks:
        if ref_column is None:
            parent_pk = [name for _, name in sorted(pks.get(ref_table.lower(), []))]
            ref_column = parent_pk[seq] if seq < len(parent_pk) else "rowid"
        out.append(ForeignKey(column, canonical.get(ref_table.lower(), ref_table), ref_column))
    return tuple(out)
