"""The daily series an anomaly step of a plan checks when its request names a table and no query.

"check orders for outliers" → rows of ``orders`` per day of its date column; "check the daily
total_amount of orders" → that numeric column summed per day. The table is the one the request
names (``profiling.choose_table``); the date column is the table's only date-like column or the one
the request names. Anything ambiguous is refused with what to say instead — never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_aimod.core.executors.base import quote_ident
from airflow_aimod.core.profiling.choice import choose_table
from airflow_aimod.core.schema import Catalog, Table
from airflow_aimod.exceptions import ConfigurationError

_DATE_NAMES = re.compile(r"(^|_)(date|day|at|time|ts|timestamp)$", re.I)


@dataclass(frozen=True)
class DailyMetric:
    """A read-only query returning ``(day, value)`` rows, and what it measures."""

    sql: str
    name: str


def daily_metric(catalog: Catalog, request: str) -> DailyMetric:
    """The per-day series of the table ``request`` names; ``ConfigurationError`` saying what to name."""
    choice = choose_table(catalog, request=request)
    if choice.table is None:
        raise ConfigurationError(f"no series to check: {choice.reason}")
    table, said = choice.table, set(re.findall(r"\w+", request.lower()))
    day = _date_column(table, said)
    value = next((c.name for c in table.columns if c.name.lower() in said and c.kind == "number"
                  and not c.primary_key and not c.name.lower().endswith("_id")), None)
    name = f"{table.name}.{value} per day" if value else f"{table.name} rows per day"
    measure = f"SUM({quote_ident(value)})" if value else "COUNT(*)"
    day_sql = _day(quote_ident(day), catalog.dialect)
    sql = (f"SELECT {day_sql} AS day, {measure} AS value FROM {_qualified(table, catalog.dialect)} "
           f"WHERE {quote_ident(day)} IS NOT NULL GROUP BY 1 ORDER BY 1")
    return DailyMetric(sql, name)


def _date_column(table: Table, said: set[str]) -> str:
    dated = [c.name for c in table.columns if c.kind == "date" or _DATE_NAMES.search(c.name)]
    named = [c for c in dated if c.lower() in said]
    if len(named) == 1 or len(dated) == 1:
        return (named or dated)[0]
    if not dated:
        raise ConfigurationError(f"table {table.name} has no date column to make a daily series of; ask the SQL "
                                 "agent for the series first (e.g. 'count X per day, then check it for anomalies')")
    raise ConfigurationError(f"table {table.name} has several date columns ({', '.join(dated)}): name one")


def _day(column: str, dialect: str) -> str:
    return f"CAST({column} AS DATE)" if dialect == "postgres" else f"date({column})"


def _qualified(table: Table, dialect: str) -> str:
    parts = [table.schema, table.name] if table.schema else [table.name]
    return ".".join(quote_ident(p) for p in parts)
