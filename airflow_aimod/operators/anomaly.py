"""AnomalyDetectorOperator: flag the points of a metric that break from their baseline, and explain them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator
from airflow_aimod.operators.base import GATE_FAIL_ON

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime


class AnomalyDetectorOperator(WarehouseAgentOperator):
    """Detect anomalies in ``metric_sql``'s result (on ``conn_id``) or in ``series``.

    The query runs read-only through the SQL guard and returns ``(timestamp, value)`` rows
    (or one value column). The result in XCom holds the flagged points, the verdict
    (``normal``, ``anomalous`` or ``unknown`` when the history is too short) as an
    ``assessment`` other agents' verdicts can be compared with, and the explanation.

    :param metric_name: what the series measures, e.g. "orders per day" (templated).
    :param metric_sql: a read-only query returning the series (templated).
    :param conn_id: the connection ``metric_sql`` runs on (sqlite or postgres).
    :param series: the series itself, instead of a query: values or ``(timestamp, value)`` pairs.
    :param method: ``auto``, ``robust_z``, ``iqr`` or ``seasonal``.
    :param sensitivity: ``low``, ``medium`` or ``high``.
    :param max_points: most rows read from the query.
    """

    agent_name = "anomaly_detector"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "metric_name", "metric_sql", "conn_id")

    def __init__(self, *, metric_name: str, metric_sql: str | None = None, conn_id: str | None = None,
                 series: Sequence[Any] | None = None, method: str = "auto", sensitivity: str = "medium",
                 max_points: int = 10_000, **kwargs: Any) -> None:
        from airflow_aimod.core.anomaly import AnomalyDetector

        kwargs.setdefault("fail_on_status", GATE_FAIL_ON)  # a check that cannot run fails the task
        super().__init__(**kwargs)
        if (metric_sql is None) == (series is None):
            raise ConfigurationError("give exactly one of metric_sql (with conn_id) or series")
        if metric_sql is not None and not conn_id:
            raise ConfigurationError("metric_sql needs conn_id: the connection the query runs on")
        if not 1 <= max_points <= 1_000_000:
            raise ConfigurationError(f"max_points must be between 1 and 1000000, got {max_points}")
        AnomalyDetector(method=method, sensitivity=sensitivity)  # validates both now, at parse time
        self.metric_name, self.metric_sql, self.conn_id = metric_name, metric_sql, conn_id
        self.series = list(series) if series is not None else None
        self.method, self.sensitivity, self.max_points = method, sensitivity, max_points

    def request_text(self) -> str:
        return f"Detect anomalies in {self.metric_name}"

    def needs_warehouse(self) -> bool:
        return self.metric_sql is not None

    def build_graph(self, runtime: AgentRuntime, resources: Warehouse, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.anomaly_detector import AnomalyTools, build_graph
        from airflow_aimod.core.anomaly import AnomalyDetector

        detector = AnomalyDetector(method=self.method, sensitivity=self.sensitivity)
        tools = AnomalyTools(detector, subject=self.metric_name, executor=resources.executor, metric_sql=self.metric_sql,
                             series=self.series, max_points=self.max_points)
        return build_graph(runtime, tools)
