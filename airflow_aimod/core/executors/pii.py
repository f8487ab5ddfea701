"""Defence in depth for PII: the agent's own connection for everything, a second one only for approved queries.

The SQL guard marks queries that read declared PII as needing a person's approval. The database
should enforce that too, as the read-only transaction does for writes: the agent's default role
has no column privileges on PII columns (docs/postgres_readonly_role.md), and a separate role —
``pii_conn_id`` — runs a query only after a person approved it. ``PiiAwareExecutor`` wraps the
default executor:

* ``run`` and everything else (catalog, samples) use the default connection; the approved one is
  opened lazily, by ``run_approved`` alone, so it is never touched by a run nobody approved;
* ``catalog`` still lists the declared PII columns and tables the default role cannot read (names
  and types only), so an agent can draft the query a person will be asked to approve;
* values of declared PII columns are never sampled into a prompt, whichever role could read them;
* ``readable_pii_columns`` names the declared PII columns the default role CAN read (Postgres:
  ``has_column_privilege``), for the warning that the database is not enforcing the split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from airflow_aimod.core.executors.base import QueryResult
from airflow_aimod.core.schema import Catalog, Column, Table

__all__ = ["PiiAwareExecutor"]


class PiiAwareExecutor:
    """A read-only executor whose approved queries may run on a second, PII-privileged connection."""

    def __init__(self, default: Any, *, pii_tables: Iterable[str] = (), pii_columns: Iterable[str] = (),
                 open_approved: Callable[[], Any] | None = None) -> None:
        self.default = default
        self.dialect = default.dialect
        self.pii_tables = frozenset(t.lower().rsplit(".", 1)[-1] for t in pii_tables)
        self.pii_columns = frozenset(tuple(c.lower().split(".")[-2:]) for c in pii_columns)
        self._open_approved = open_approved
        self._approved: Any = None
        self.approved_runs = 0

    def run(self, sql: str, *, max_rows: int = 1000, timeout_s: float = 30.0) -> QueryResult:
        """Run on the agent's default connection."""
        return self.default.run(sql, max_rows=max_rows, timeout_s=timeout_s)

    def run_approved(self, sql: str, *, max_rows: int = 1000, timeout_s: float = 30.0) -> QueryResult:
        """Run a query a person approved: on the approved connection when there is one, else the default."""
        if self._open_approved is None:
            return self.run(sql, max_rows=max_rows, timeout_s=timeout_s)
        if self._approved is None:
            self._approved = self._open_approved()
            if self._approved.dialect != self.dialect:
                raise_mismatch(self.dialect, self._approved.dialect)
        self.approved_runs += 1
        return self._approved.run(sql, max_rows=max_rows, timeout_s=timeout_s)

    def catalog(self) -> Catalog:
        """The default role's catalog plus the declared PII columns and tables it may not read (names and types,
        no values)."""
        catalog = self.default.catalog()
        hidden: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
        for schema, name, column, readable, type_ in self._column_access():
            if not readable:
                hidden.setdefault((schema, name), []).append((column, type_))
        tables = [_with_hidden(t, [(c, ty) for (schema, name), cols in hidden.items() for c, ty in cols
                                   if name.lower() == t.name.lower() and schema in (None, t.schema)])
                  for t in catalog.tables]
        listed = {(t.schema, t.name.lower()) for t in tables}
        tables += [Table(name=name, schema=schema, columns=tuple(Column(c, ty) for c, ty in cols))
                   for (schema, name), cols in hidden.items() if (schema, name.lower()) not in listed]
        return replace(catalog, tables=tuple(tables))

    def with_samples(self, catalog: Catalog, *, max_distinct: int = 30, timeout_s: float = 30.0) -> Catalog:
        """Samples from the default connection, never of a declared PII column or a column of a PII table."""
        shown = replace(catalog, tables=tuple(replace(t, columns=tuple(c for c in t.columns if not self._is_pii(t, c)))
                                              for t in catalog.tables))
        sampled = {t.qualified_name: t for t in self.default.with_samples(shown, max_distinct=max_distinct,
                                                                          timeout_s=timeout_s).tables}
        tables = []
        for table in catalog.tables:
            done = sampled.get(table.qualified_name, table)
            columns = tuple(done.column(c.name) or c for c in table.columns)
            tables.append(replace(table, columns=tuple(replace(c, samples=()) if self._is_pii(table, c) else c
                                                       for c in columns)))
        return replace(catalog, tables=tuple(tables))

    def readable_pii_columns(self) -> list[str]:
        """``table.column`` of every declared PII column (or column of a PII table) the default role can read
        (empty when unknowable, e.g. SQLite)."""
        return sorted({f"{name}.{column}".lower() for _, name, column, readable, _ in self._column_access() if readable})

    def close(self) -> None:
        """Close the approved connection if it was opened (the default one belongs to the caller)."""
        approved, self._approved = self._approved, None
        if approved is not None:
            approved.close()

    def __enter__(self) -> PiiAwareExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _column_access(self) -> list[tuple[str | None, str, str, bool, str]]:
        """(schema, table, column, readable, type) of the declared PII columns, from the default role's view."""
        lookup = getattr(self.default, "column_access", None)
        if lookup is None or not (self.pii_columns or self.pii_tables):
            return []
        return lookup(sorted(self.pii_columns), sorted(self.pii_tables))

    def _is_pii(self, table: Table, column: Column) -> bool:
        name = table.name.lower()
        return name in self.pii_tables or (name, column.name.lower()) in self.pii_columns


def _with_hidden(table: Table, hidden: Iterable[tuple[str, str]]) -> Table:
    """``table`` with the hidden (column, type) pairs it does not list yet."""
    extra = tuple(Column(column, type_) for column, type_ in hidden if table.column(column) is None)
    return replace(table, columns=(*table.columns, *extra)) if extra else table


def raise_mismatch(dialect: str, approved: str) -> None:
    """Refuse an approved connection of another database kind than the agent's."""
    from airflow_aimod.exceptions import ConfigurationError

    raise ConfigurationError(f"the approved-query connection is {approved} but the agent's is {dialect}: "
                             "pii_conn_id must reach the same database as conn_id, with another role")
