"""TrainingOrchestratorOperator: train, log and register a model; move an alias only with a person's approval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._ml import MlAgentOperator, MlResources

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime


class TrainingOrchestratorOperator(MlAgentOperator):
    """Train a model for ``target`` on ``data_sql``'s rows (read-only through the SQL guard, on ``conn_id``, at
    most ``max_rows``): the declared ``estimators`` cross-validated within ``max_seconds`` and ``n_jobs``, the best
    refit as one scikit-learn pipeline (imputation, one-hot encoding, identifier-like columns dropped) over the
    raw columns, logged to MLflow experiment ``experiment`` with params, metrics, a trivial baseline's metrics
    and the model's signature. With ``model_name`` the model becomes a new registered version; with
    ``promote_alias`` (and a model that beats its baseline) a person approves moving that alias to it on the
    Required Actions page (``hitl=True``); a rejection leaves the alias where it was.

    :param data_sql: read-only query returning the feature columns and ``target`` (templated).
    :param conn_id: the connection ``data_sql`` runs on.
    :param target: the column to predict; ``task``: ``auto``, ``classification`` or ``regression``.
    :param estimators: any of ``linear``, ``gradient_boosting``, ``random_forest``.
    :param experiment: the MLflow experiment (templated); ``model_name``: the registered model (templated).
    :param promote_alias: the alias a person may move to the new version, e.g. ``production``.
    :param mlflow_conn_id: an ``aimod_mlflow`` or ``postgres`` connection (``None`` or empty: the embedded
        store; templated).
    """

    agent_name = "training_orchestrator"
    template_fields: Sequence[str] = (*MlAgentOperator.template_fields, "data_sql", "conn_id", "experiment",
                                      "model_name", "mlflow_conn_id")

    def __init__(self, *, data_sql: str, conn_id: str, target: str, task: str = "auto",
                 estimators: Sequence[str] = ("linear", "gradient_boosting", "random_forest"), cv_folds: int = 3,
                 max_rows: int = 100_000, max_seconds: float = 600.0, n_jobs: int = 1, experiment: str = "aimod",
                 model_name: str | None = None, promote_alias: str | None = None, mlflow_conn_id: str | None = None,
                 **kwargs: Any) -> None:
        from airflow_aimod.core.ml.training import TrainingPlan

        super().__init__(**kwargs)
        if not data_sql or not conn_id:
            raise ConfigurationError("give data_sql and conn_id (the connection the query runs on)")
        if promote_alias and not model_name:
            raise ConfigurationError("promote_alias needs model_name: only a registered version can carry an alias")
        if promote_alias and not self.hitl:
            raise ConfigurationError("promote_alias asks a person to approve the move: set hitl=True")
        self.plan = TrainingPlan(target=target, task=task, estimators=tuple(estimators), cv_folds=cv_folds,
                                 max_rows=max_rows, max_seconds=max_seconds, n_jobs=n_jobs)
        self.data_sql, self.conn_id, self.experiment = data_sql, conn_id, experiment
        self.model_name, self.promote_alias, self.mlflow_conn_id = model_name, promote_alias, mlflow_conn_id

    def request_text(self) -> str:
        what = f" and propose {self.model_name}@{self.promote_alias}" if self.promote_alias else ""
        return f"Train a {self.plan.task} model for {self.plan.target}{what}"

    def build_graph(self, runtime: AgentRuntime, resources: MlResources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.training_orchestrator import TrainingTools, build_graph

        tools = TrainingTools(resources.tracker, self.plan, executor=resources.executor, data_sql=self.data_sql,
                              experiment=self.experiment, model_name=self.model_name, promote_alias=self.promote_alias)
        return build_graph(runtime, tools)
