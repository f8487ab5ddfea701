"""FeatureEngineerOperator: propose features for a target from an upstream profile, keep those that measurably help."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._profiles import upstream_profile
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

MAX_ROWS_CAP = 1_000_000


@dataclass(frozen=True)
class FeatureSources(Warehouse):
    """The warehouse, and the upstream profile the proposals are derived from."""

    profile: dict[str, Any] | None = None


class FeatureEngineerOperator(WarehouseAgentOperator):
    """Propose features for ``target`` from the profile an upstream ``DataProfilerOperator`` pushed
    (``profile_task_id``), and report only those that help.

    Each proposal is one SQL expression over the profiled table (ratios, logs of skewed columns, date parts,
    encodings, null indicators, ...). The SQL guard checks each one (read-only, that table only, never the
    target); the vetted ones are read once through the read-only executor on ``conn_id`` (at most
    ``max_rows`` rows: above it the outcome says the lifts come from a sample) and each is measured by a
    repeated cross-validation with and without it on the same folds. A feature is reported, with its lift,
    only when the mean lift reaches ``min_lift`` and exceeds ``noise_k`` standard deviations of the fold
    lifts. Nothing is written: no table, no view (``sql.write`` is denied by the envelope).

    :param profile_task_id: the upstream data profiler task whose ``result["profile"]`` is used (templated).
    :param conn_id: the connection of the profiled table (templated).
    :param target: the column to predict (templated); ``task``: ``auto``, ``classification`` or ``regression``.
    :param estimator: the quick model that measures lifts: ``linear`` (default), ``gradient_boosting`` or
        ``random_forest``.
    :param min_lift: smallest mean lift that counts (ROC AUC, macro F1 or R² points); ``noise_k``: how many
        fold standard deviations the mean lift must exceed; ``cv_folds`` × ``cv_repeats`` folds.
    :param max_rows: most rows read; ``max_proposals``: most proposals measured; ``max_seconds``: time budget
        of the measurements (the rest is reported as not measured).
    """

    agent_name = "feature_engineer"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "profile_task_id", "conn_id", "target")

    def __init__(self, *, profile_task_id: str, conn_id: str, target: str, task: str = "auto",
                 estimator: str = "linear", min_lift: float = 0.01, noise_k: float = 1.0, cv_folds: int = 5,
                 cv_repeats: int = 2, max_rows: int = 20_000, max_proposals: int = 24, max_seconds: float = 300.0,
                 **kwargs: Any) -> None:
        from airflow_aimod.core.ml.feature_lift import LiftRule
        from airflow_aimod.core.ml.training import TASKS

        super().__init__(**kwargs)
        if not profile_task_id or not conn_id or not target:
            raise ConfigurationError("give profile_task_id (an upstream DataProfilerOperator), conn_id and target")
        if task not in TASKS:
            raise ConfigurationError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if isinstance(max_rows, bool) or not 50 <= max_rows <= MAX_ROWS_CAP:
            raise ConfigurationError(f"max_rows must be between 50 and {MAX_ROWS_CAP}, got {max_rows!r}")
        if not 1 <= max_proposals <= 100:
            raise ConfigurationError(f"max_proposals must be between 1 and 100, got {max_proposals!r}")
        self.rule = LiftRule(min_lift=min_lift, noise_k=noise_k, folds=cv_folds, repeats=cv_repeats,
                             estimator=estimator, max_seconds=max_seconds)
        self.profile_task_id, self.conn_id, self.target, self.task = profile_task_id, conn_id, target, task
        self.max_rows, self.max_proposals = max_rows, max_proposals

    def request_text(self) -> str:
        return f"Propose features that help predict {self.target}"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[FeatureSources]:
        """The warehouse, plus the upstream profile (read once per try)."""
        profile = upstream_profile(context, self.profile_task_id)
        with super().open_resources(context) as warehouse:
            yield FeatureSources(warehouse.executor, warehouse.dialect, profile)

    def build_graph(self, runtime: AgentRuntime, resources: FeatureSources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.feature_engineer import FeatureTools, build_graph

        tools = FeatureTools(resources.executor, profile=resources.profile, target=self.target, rule=self.rule,
                             task=self.task, max_rows=self.max_rows, max_proposals=self.max_proposals)
        return build_graph(runtime, tools)
