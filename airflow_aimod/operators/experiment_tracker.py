"""ExperimentTrackerOperator: answer a question about MLflow experiments and runs, read-only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.ml.tracking import MlflowTracker


class ExperimentTrackerOperator(AgentOperator):
    """Answer ``question`` ("which run has the best roc_auc this week", "what changed between run A and B")
    about the runs of ``experiments``, through the MLflow client and nothing else: the agent reads, it never
    logs. The result in XCom holds the query the question became, the computed answer and its explanation.

    :param question: the question (templated).
    :param experiments: MLflow experiment names (templated).
    :param mlflow_conn_id: an ``aimod_mlflow`` or ``postgres`` connection (``None``: the embedded store).
    :param max_runs: most runs read (newest first).
    """

    agent_name = "experiment_tracker"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "question", "experiments")

    def __init__(self, *, question: str, experiments: Sequence[str], mlflow_conn_id: str | None = None,
                 max_runs: int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not question or not str(question).strip():
            raise ConfigurationError("question is empty: ask e.g. 'which run has the best roc_auc this week'")
        if isinstance(experiments, str) or not experiments:
            raise ConfigurationError("experiments is a list of MLflow experiment names, e.g. ['churn']")
        if not 1 <= max_runs <= 10_000:
            raise ConfigurationError(f"max_runs must be between 1 and 10000, got {max_runs}")
        self.question, self.experiments = question, list(experiments)
        self.mlflow_conn_id, self.max_runs = mlflow_conn_id, max_runs

    def request_text(self) -> str:
        return self.question

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[MlflowTracker]:
        from airflow_aimod.hooks.mlflow import AimodMlflowHook

        yield AimodMlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_tracker()

    def build_graph(self, runtime: AgentRuntime, resources: MlflowTracker, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.experiment_tracker import ExperimentTools, build_graph

        return build_graph(runtime, ExperimentTools(resources, experiments=self.experiments, max_runs=self.max_runs))
