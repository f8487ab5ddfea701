"""The profiler's limits and their check, in a module of their own so a DAG file validates them at parse time
without loading the query builder (``profiler`` calls the same check)."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_aimod.exceptions import ConfigurationError

DEFAULT_SAMPLE_ROWS = 100_000
DEFAULT_MAX_COLUMNS = 50
DEFAULT_MAX_QUERIES = 120


def check_limits(*, sample_rows: int = DEFAULT_SAMPLE_ROWS, max_columns: int = DEFAULT_MAX_COLUMNS,
                 max_queries: int = DEFAULT_MAX_QUERIES, columns: Sequence[str] | None = None) -> None:
    """Fail with what to fix when a limit is not a positive integer or ``columns`` is not a list of names."""
    for name, value, low in (("sample_rows", sample_rows, 1), ("max_columns", max_columns, 1),
                             ("max_queries", max_queries, 3)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigurationError(f"{name} must be an integer >= {low}, got {value!r}")
    if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
        raise ConfigurationError("columns must be a list of column names, e.g. ['status', 'total_amount']")
