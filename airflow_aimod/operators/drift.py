"""DriftDetectorOperator: has the data, or the model's predictions, drifted from a reference sample?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

MAX_ROWS_CAP = 1_000_000


class DriftDetectorOperator(WarehouseAgentOperator):
    """Compare ``current_sql``'s rows with ``reference_sql``'s (both on ``conn_id``, read-only through the
    SQL guard) column by column. The result in XCom holds the verdict (``drift``, ``no_drift``, or
    ``unknown`` when a sample is too small), the drifted columns, every column's test, effect and PSI, and
    an ``assessment`` other agents' verdicts can be compared with (drift reads as ``anomalous``).

    :param subject: what the samples are, e.g. "scoring inputs" (templated).
    :param reference_sql: read-only query for the reference sample, e.g. the training window (templated).
    :param current_sql: read-only query for the current sample, e.g. yesterday's scoring rows (templated).
    :param conn_id: the connection both queries run on (sqlite or postgres).
    :param categorical: columns to compare as categories even when they hold numbers.
    :param prediction_column: the model's output column, reported as prediction drift.
    :param exclude: columns left out (identifiers, timestamps).
    :param alpha: significance after Benjamini–Hochberg across columns; ``min_effect``: the smallest normed
        Wasserstein / Jensen–Shannon distance that counts; ``min_samples``: fewer values on a side → unknown.
    :param numeric_method: ``ks`` or ``wasserstein``; ``categorical_method``: ``chi2`` or ``jensenshannon``.
    :param max_rows: most rows read per sample (above it the first ``max_rows`` are used, and the outcome says so).
    """

    agent_name = "drift_detector"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "subject", "reference_sql",
                                      "current_sql", "conn_id")

    def __init__(self, *, subject: str, reference_sql: str, current_sql: str, conn_id: str,
                 categorical: Sequence[str] = (), prediction_column: str | None = None, exclude: Sequence[str] = (),
                 alpha: float = 0.05, min_effect: float = 0.1, min_samples: int = 30, numeric_method: str = "ks",
                 categorical_method: str = "chi2", max_rows: int = 50_000, **kwargs: Any) -> None:
        from airflow_aimod.core.ml.policy import DriftPolicy

        super().__init__(**kwargs)
        if not reference_sql or not current_sql or not conn_id:
            raise ConfigurationError("give reference_sql, current_sql and conn_id (the connection both run on)")
        if not 1 <= max_rows <= MAX_ROWS_CAP:
            raise ConfigurationError(f"max_rows must be between 1 and {MAX_ROWS_CAP}, got {max_rows}")
        if isinstance(categorical, str) or isinstance(exclude, str):
            raise ConfigurationError("categorical and exclude are lists of column names, e.g. ['country']")
        self.policy = DriftPolicy(alpha=alpha, min_effect=min_effect, min_samples=min_samples,
                                  numeric_method=numeric_method, categorical_method=categorical_method)
        self.subject, self.reference_sql, self.current_sql, self.conn_id = subject, reference_sql, current_sql, conn_id
        self.categorical, self.prediction_column, self.exclude = list(categorical), prediction_column, list(exclude)
        self.max_rows = max_rows

    def request_text(self) -> str:
        return f"Detect drift in {self.subject}"

    def build_graph(self, runtime: AgentRuntime, resources: Warehouse, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.drift_detector import DriftTools, build_graph
        from airflow_aimod.core.ml.drift import DriftDetector

        tools = DriftTools(DriftDetector(self.policy), subject=self.subject, executor=resources.executor,
                           reference_sql=self.reference_sql, current_sql=self.current_sql,
                           categorical=self.categorical, prediction=self.prediction_column, exclude=self.exclude,
                           max_rows=self.max_rows)
        return build_graph(runtime, tools)
