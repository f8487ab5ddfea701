"""Copy the demo warehouse from SQLite into a Postgres database (tables, keys, rows).

The tables are read through the read-only SQLite executor's catalog, the same
introspection the agents use, so keys and types come over as the agents see them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from airflow_aimod.core.schema import Catalog, Table

_TYPES = {"INTEGER": "bigint", "TEXT": "text", "DATE": "date", "REAL": "double precision"}


def _pg_type(sqlite_type: str) -> str:
    upper = sqlite_type.upper()
    return upper.lower() if upper.startswith("NUMERIC") else _TYPES.get(upper, "text")


def _dependency_order(catalog: Catalog) -> list[Table]:
    """Tables ordered so that every foreign key points at a table created before it."""
    ordered: list[Table] = []
    while len(ordered) < len(catalog.tables):
        done = {t.name for t in ordered}
        ready = [t for t in catalog.tables if t.name not in done
                 and {fk.ref_table for fk in t.foreign_keys if fk.ref_table != t.name} <= done]
        if not ready:
            raise ValueError(f"circular foreign keys among {sorted({t.name for t in catalog.tables} - done)}")
        ordered += ready
    return ordered


def _ddl(table: Table) -> str:
    parts = [f'"{c.name}" {_pg_type(c.type)}' + ("" if c.nullable else " NOT NULL")
             + (" PRIMARY KEY" if c.primary_key else "") for c in table.columns]
    parts += [f'FOREIGN KEY ("{fk.column}") REFERENCES "{fk.ref_table}" ("{fk.ref_column}")'
              for fk in table.foreign_keys]
    return f'CREATE TABLE "{table.name}" ({", ".join(parts)})'


def load_into_postgres(conninfo: str, sqlite_file: str | Path) -> dict[str, int]:
    """Create the warehouse's tables in ``conninfo`` and copy every row; returns rows per table."""
    import psycopg

    from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor

    with SqliteReadOnlyExecutor(sqlite_file) as executor:
        catalog = executor.catalog()
    src = sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)
    counts: dict[str, int] = {}
    with psycopg.connect(conninfo) as dst:
        for table in _dependency_order(catalog):
            dst.execute(_ddl(table))
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            with dst.cursor().copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                for row in src.execute(f'SELECT {columns} FROM "{table.name}"'):
                    copy.write_row(row)
            counts[table.name] = dst.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
        dst.execute("ANALYZE")
    src.close()
    return counts
