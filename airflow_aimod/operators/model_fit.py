"""ModelFitOperator: the training orchestrator's fit as its own Airflow task, handed to the next task through XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.training import TrainingOrchestratorOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.operators._ml import MlResources


class ModelFitOperator(TrainingOrchestratorOperator):
    """Fit and log a model as its own task: ``data_sql``'s rows (read-only through the SQL guard, on ``conn_id``,
    at most ``max_rows``), the declared ``estimators`` cross-validated within ``max_seconds`` and ``n_jobs``, the
    best refit as one scikit-learn pipeline and logged to MLflow ``experiment`` — the same fit, envelope and
    trace as ``TrainingOrchestratorOperator``'s, and no LLM call.

    The task holds a worker only while it fits: give it the ``pool``, ``queue``, ``executor_config``,
    ``retries`` and ``execution_timeout`` a training job needs. Its XCom ``result`` carries the MLflow
    ``run_id`` and ``model_uri``; a downstream ``TrainingOrchestratorOperator(fit_task_id=...)`` reads the run
    back from MLflow, registers it, explains it and asks a person before an alias moves.

    Arguments: as ``TrainingOrchestratorOperator``'s fit arguments (``data_sql``, ``conn_id``, ``target``,
    ``task``, ``estimators``, ``cv_folds``, ``max_rows``, ``max_seconds``, ``n_jobs``, ``experiment``,
    ``mlflow_conn_id``); registering and promoting are the downstream task's.
    """

    ui_color = "#d9ead3"

    def __init__(self, *, data_sql: str, conn_id: str, target: str, task: str = "auto",
                 estimators: Sequence[str] = ("linear", "gradient_boosting", "random_forest"), cv_folds: int = 3,
                 max_rows: int = 100_000, max_seconds: float = 600.0, n_jobs: int = 1, experiment: str = "aimod",
                 mlflow_conn_id: str | None = None, **kwargs: Any) -> None:
        if given := sorted({"model_name", "promote_alias", "fit_task_id"} & set(kwargs)):
            raise ConfigurationError(f"ModelFitOperator only fits and logs; pass {', '.join(given)} to the downstream "
                                     "TrainingOrchestratorOperator(fit_task_id=...)")
        super().__init__(data_sql=data_sql, conn_id=conn_id, target=target, task=task, estimators=estimators,
                         cv_folds=cv_folds, max_rows=max_rows, max_seconds=max_seconds, n_jobs=n_jobs,
                         experiment=experiment, mlflow_conn_id=mlflow_conn_id, **kwargs)

    def request_text(self) -> str:
        return f"Fit a {self.plan.task} model for {self.plan.target} and hand the run over"

    def build_graph(self, runtime: AgentRuntime, resources: MlResources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.training_orchestrator import TrainingTools, build_graph

        tools = TrainingTools(resources.tracker, self.plan, executor=resources.executor, data_sql=self.data_sql,
                              experiment=self.experiment, fit_only=True)
        return build_graph(runtime, tools)
