"""DataProfilerOperator: profile a table in the database, judge its quality, explain the numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator
from airflow_aimod.operators.base import GATE_FAIL_ON

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime


class DataProfilerOperator(WarehouseAgentOperator):
    """Profile ``table`` (or the table ``request`` is about) on ``conn_id`` (SQLite or Postgres).

    Every statistic is computed in the database with read-only aggregate SQL that passes the
    SQL guard: exact row count; per column null count and rate, distinct count, min, max, mean,
    quantiles (p05..p95), top 10 values and the inferred type. Above ``sample_rows`` rows the
    column statistics read a systematic sample (the profile says so; ``row_count`` stays exact).
    PII columns (``pii_tables``/``pii_columns``, or names that look personal) get counts only.
    The result in XCom holds ``profile`` (see ``docs/agents/data_profiler.md``), the quality
    ``assessment`` other agents' verdicts can be compared with, and the explanation.

    :param conn_id: an Airflow connection of type sqlite or postgres.
    :param table: the table to profile (templated); or
    :param request: a request naming it, e.g. "profile the orders table" (templated).
    :param sample_rows: above this many rows, column statistics are computed on a sample of this size.
    :param thresholds: ``QualityThresholds`` fields, e.g. ``{"max_null_rate": 0.2, "key_columns": ["id"]}``.
    :param columns: profile only these columns (default: all, at most ``max_columns``).
    :param max_columns: wide tables: the columns beyond this are skipped, and listed as skipped.
    :param pii_tables: tables whose every column is PII; ``pii_columns``: ``table.column`` names.
    """

    agent_name = "data_profiler"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "table", "request", "conn_id")

    def __init__(self, *, conn_id: str, table: str | None = None, request: str | None = None,
                 sample_rows: int = 100_000, thresholds: Mapping[str, Any] | None = None,
                 columns: Sequence[str] | None = None, max_columns: int = 50, pii_tables: Iterable[str] = (),
                 pii_columns: Iterable[str] = (), **kwargs: Any) -> None:
        from airflow_aimod.core.profiling.limits import check_limits
        from airflow_aimod.core.profiling.quality import QualityThresholds

        if (table is None) == (request is None):
            raise ConfigurationError("give exactly one of table (e.g. 'orders') or request (e.g. 'profile the "
                                     "orders table')")
        if not conn_id:
            raise ConfigurationError("conn_id is required: the connection of the database to profile")
        if isinstance(columns, str):
            raise ConfigurationError(f"columns must be a list of column names, e.g. [{columns!r}]")
        check_limits(sample_rows=sample_rows, max_columns=max_columns, columns=columns)  # TableProfiler's own check
        self.thresholds = QualityThresholds.of(thresholds).to_dict()
        kwargs.setdefault("fail_on_status", GATE_FAIL_ON)  # a check that cannot run fails the task
        super().__init__(envelope=_with_pii(kwargs.pop("envelope", None), pii_tables, pii_columns), **kwargs)
        self.conn_id, self.table, self.request = conn_id, table, request
        self.sample_rows, self.max_columns = sample_rows, max_columns
        self.columns = list(columns) if columns is not None else None

    def request_text(self) -> str:
        return self.request if self.request is not None else f"Profile the {self.table} table"

    def build_graph(self, runtime: AgentRuntime, resources: Warehouse, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.data_profiler import ProfilerTools, build_graph

        tools = ProfilerTools(resources.executor, table=self.table, thresholds=self.thresholds,
                              sample_rows=self.sample_rows, columns=self.columns, max_columns=self.max_columns)
        return build_graph(runtime, tools)


def _with_pii(envelope: Mapping[str, Any] | None, pii_tables: Iterable[str], pii_columns: Iterable[str]) -> dict:
    """The task's envelope overrides with the PII lists merged into its SQL policy."""
    merged = dict(envelope or {})
    sql = dict(merged.get("sql") or {})
    if pii_tables:
        sql["pii_tables"] = list(pii_tables)
    if pii_columns:
        sql["pii_columns"] = list(pii_columns)
    if sql:
        merged["sql"] = sql
    return merged
