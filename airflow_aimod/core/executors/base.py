"""What every read-only executor returns and promises, plus the sampling both dialects share.

An executor runs one already-validated query at a time, read-only *at the database*
(not only because the SQL guard said so), under a deadline and a row cap, and
returns JSON-safe rows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from airflow_aimod.core.redaction import scrub
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.exceptions import AgentTimeout, ConfigurationError, QueryExecutionError

SAMPLE_SCAN_ROWS = 100_000
"""Sampling reads at most this many rows of a table; ``distinct_count`` is counted over them."""

MAX_SAMPLE_CHARS = 80
"""A column holding a longer value looks like free text: its values are never sampled."""

_PII_WORDS = frozenset({
    "email", "mail", "phone", "mobile", "fax", "ssn", "password", "passwd", "secret", "token", "apikey",
    "address", "street", "iban", "bic", "card", "ccn", "cvv", "birth", "dob", "passport", "license", "licence",
    "surname", "firstname", "lastname", "fullname", "ip", "salt", "hash",
})
_PII_PAIRS = ("first_name", "last_name", "full_name", "given_name", "family_name", "social_security", "national_id",
              "tax_id", "tax_number")
_ID_SUFFIXES = ("_id", "_uuid", "_key", "_hash", "_guid")


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query, JSON-safe, at most ``max_rows`` of them."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    elapsed_ms: float

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """``{"columns", "rows", "truncated", "row_count", "elapsed_ms"}`` with lists only."""
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows], "truncated": self.truncated,
                "row_count": self.row_count, "elapsed_ms": self.elapsed_ms}

    @classmethod
    def build(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_rows: int,
              started: float) -> QueryResult:
        """Cap ``rows`` (fetched up to ``max_rows + 1``) and convert them; ``started`` is a perf_counter()."""
        kept = rows[:max_rows]
        return cls(columns=tuple(columns), rows=tuple(tuple(json_safe(v) for v in row) for row in kept),
                   truncated=len(rows) > max_rows, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


@runtime_checkable
class ReadOnlyExecutor(Protocol):
    """A database connection an agent may only read through; a context manager that closes it."""

    dialect: str

    def run(self, sql: str, *, max_rows: int = 1000, timeout_s: float = 30.0) -> QueryResult: ...

    def catalog(self) -> Catalog: ...

    def with_samples(self, catalog: Catalog, *, max_distinct: int = 30, timeout_s: float = 30.0) -> Catalog: ...

    def close(self) -> None: ...

    def __enter__(self) -> ReadOnlyExecutor: ...

    def __exit__(self, *exc: object) -> None: ...


class ExecutorBase:
    """Context-manager support and ``with_samples`` for executors that implement ``_sample_queries``."""

    dialect: str = ""

    def __enter__(self) -> ExecutorBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def with_samples(self, catalog: Catalog, *, max_distinct: int = 30, timeout_s: float = 30.0) -> Catalog:
        """Fill ``samples``/``distinct_count`` of text columns; sampling stops quietly at the deadline."""
        check_limits(max_distinct, timeout_s, name="max_distinct")
        deadline = time.monotonic() + timeout_s
        tables = []
        for table in catalog.tables:
            targets = sample_targets(table)
            remaining = deadline - time.monotonic()
            if targets and remaining > 0:
                queries = [sample_sql(table, column.name, max_distinct) for column in targets]
                table = apply_samples(table, dict(zip((c.name for c in targets),
                                                      self._sample_queries(queries, remaining))), max_distinct)
            tables.append(table)
        return replace(catalog, tables=tuple(tables))

    def _sample_queries(self, queries: list[str], timeout_s: float) -> list[list[tuple[Any, ...]]]:
        """Results of ``queries`` in one read-only session, stopping (not raising) at the first failure."""
        raise NotImplementedError  # pragma: no cover


def check_limits(limit: int, timeout_s: float, *, name: str = "max_rows") -> None:
    """Refuse a negative row cap or a non-positive deadline."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigurationError(f"{name} must be an integer >= 0, got {limit!r}")
    if not timeout_s or timeout_s <= 0 or not math.isfinite(timeout_s):
        raise ConfigurationError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")


def timeout_error(timeout_s: float, what: str = "query") -> AgentTimeout:
    """The AgentTimeout every executor raises when a deadline passes."""
    return AgentTimeout(f"{what} passed its {timeout_s:g} s deadline and was cancelled by the database; "
                        "narrow it (filters, fewer joins, an aggregate) or raise the agent's timeout")


def execution_error(dialect: str, message: str, *, transient: bool = False) -> QueryExecutionError:
    """The QueryExecutionError carrying the database's own message, scrubbed of secrets (``transient``: the
    connection failed, a retry may succeed)."""
    what = "lost the connection" if transient else "refused the query"
    return QueryExecutionError(f"{dialect} {what}: {scrub(message.strip())}", transient=transient)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable form: Decimal->float, dates->ISO text, bytes->hex, UUID->text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    return str(value)


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def sample_targets(table: Table) -> list[Column]:
    """Text columns worth sampling: not identifiers, not already sampled."""
    return [c for c in table.columns if c.kind == "text" and not c.samples and not _looks_like_id(c)]


def sample_sql(table: Table, column: str, max_distinct: int) -> str:
    """Most frequent values of ``column`` (as text) with the distinct count, over a bounded scan."""
    source = quote_ident(table.name) if not table.schema else f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    return (
        "SELECT v, n, COUNT(*) OVER () AS d FROM ("
        f"SELECT v, COUNT(*) AS n FROM (SELECT CAST({quote_ident(column)} AS TEXT) AS v FROM {source} "
        f"LIMIT {SAMPLE_SCAN_ROWS}) AS s WHERE v IS NOT NULL GROUP BY v) AS g "
        f"ORDER BY n DESC, v LIMIT {int(max_distinct) + 1}"
    )


def apply_samples(table: Table, found: Mapping[str, Sequence[tuple[Any, ...]]], max_distinct: int) -> Table:
    """``table`` with the sampled columns filled in; PII-like and free-text columns keep no values."""
    columns = []
    for column in table.columns:
        rows = found.get(column.name)
        if rows is not None:
            distinct = int(rows[0][2]) if rows else 0
            values = tuple(str(r[0]) for r in rows)
            keep = (distinct <= max_distinct and not looks_like_pii(column.name)
                    and all(len(v) <= MAX_SAMPLE_CHARS for v in values))
            column = replace(column, samples=values if keep else (), distinct_count=distinct)
        columns.append(column)
    return replace(table, columns=tuple(columns))


def looks_like_pii(name: str) -> bool:
    """Whether a column name suggests personal data (its values never go into a prompt)."""
    lowered = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(words & _PII_WORDS) or any(pair in lowered for pair in _PII_PAIRS)


def _looks_like_id(column: Column) -> bool:
    name = column.name.lower()
    return name == "id" or name.endswith(_ID_SUFFIXES) or "uuid" in column.type.lower()
