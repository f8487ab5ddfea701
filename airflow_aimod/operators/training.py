"""TrainingOrchestratorOperator: train, log and register a model; move an alias only with a person's approval."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
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

    With ``fit_task_id`` instead of ``data_sql`` the fit is not done here: an upstream ``ModelFitOperator`` ran
    it as its own task (its own worker, pool, queue, retries and timeout) and handed its MLflow run over
    through XCom; this task reads that run back from MLflow and registers, explains and promotes it.

    :param data_sql: read-only query returning the feature columns and ``target`` (templated).
    :param conn_id: the connection ``data_sql`` runs on.
    :param target: the column to predict; ``task``: ``auto``, ``classification`` or ``regression``.
    :param estimators: any of ``linear``, ``gradient_boosting``, ``random_forest``.
    :param experiment: the MLflow experiment (templated); ``model_name``: the registered model (templated).
    :param promote_alias: the alias a person may move to the new version, e.g. ``production``.
    :param mlflow_conn_id: an ``aimod_mlflow`` or ``postgres`` connection (``None`` or empty: the embedded
        store; templated).
    :param fit_task_id: an upstream ``ModelFitOperator`` whose run this task registers and promotes (templated).
    """

    agent_name = "training_orchestrator"
    template_fields: Sequence[str] = (*MlAgentOperator.template_fields, "data_sql", "conn_id", "experiment",
                                      "model_name", "mlflow_conn_id", "fit_task_id")

    def __init__(self, *, data_sql: str | None = None, conn_id: str | None = None, target: str | None = None,
                 task: str = "auto", estimators: Sequence[str] = ("linear", "gradient_boosting", "random_forest"),
                 cv_folds: int = 3, max_rows: int = 100_000, max_seconds: float = 600.0, n_jobs: int = 1,
                 experiment: str = "aimod", model_name: str | None = None, promote_alias: str | None = None,
                 mlflow_conn_id: str | None = None, fit_task_id: str | None = None, **kwargs: Any) -> None:
        from airflow_aimod.core.ml.training import TrainingPlan

        super().__init__(**kwargs)
        if fit_task_id:
            if data_sql or conn_id:
                raise ConfigurationError("give either fit_task_id (an upstream ModelFitOperator did the fit) or "
                                         "data_sql and conn_id (fit here), not both")
        elif not data_sql or not conn_id or not target:
            raise ConfigurationError("give data_sql, conn_id (the connection the query runs on) and target — or "
                                     "fit_task_id, an upstream ModelFitOperator that did the fit")
        if promote_alias and not model_name:
            raise ConfigurationError("promote_alias needs model_name: only a registered version can carry an alias")
        if promote_alias and not self.hitl:
            raise ConfigurationError("promote_alias asks a person to approve the move: set hitl=True")
        self.plan = None if fit_task_id else TrainingPlan(
            target=target, task=task, estimators=tuple(estimators), cv_folds=cv_folds, max_rows=max_rows,
            max_seconds=max_seconds, n_jobs=n_jobs)
        self.data_sql, self.conn_id, self.experiment, self.fit_task_id = data_sql, conn_id, experiment, fit_task_id
        self.model_name, self.promote_alias, self.mlflow_conn_id = model_name, promote_alias, mlflow_conn_id

    def request_text(self) -> str:
        what = f" and propose {self.model_name}@{self.promote_alias}" if self.promote_alias else ""
        if self.plan is None:
            return f"Register the model task {self.fit_task_id} trained{what}"
        return f"Train a {self.plan.task} model for {self.plan.target}{what}"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[MlResources]:
        """As ``MlAgentOperator``'s, plus the upstream fit's result when ``fit_task_id`` is set."""
        fitted = upstream_fit(context, self.fit_task_id) if self.fit_task_id else None
        with super().open_resources(context) as resources:
            yield replace(resources, fitted=fitted)

    def build_graph(self, runtime: AgentRuntime, resources: MlResources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.training_orchestrator import TrainingTools, build_graph

        tools = TrainingTools(resources.tracker, self.plan, executor=resources.executor, data_sql=self.data_sql,
                              experiment=self.experiment, model_name=self.model_name, promote_alias=self.promote_alias,
                              fitted=resources.fitted)
        return build_graph(runtime, tools)


def upstream_fit(context: Context, task_id: str) -> dict[str, Any]:
    """The result a ``ModelFitOperator`` pushed: its MLflow run id and model URI; one clear error without one."""
    outcome = context["ti"].xcom_pull(task_ids=task_id)
    result = (outcome or {}).get("result") if isinstance(outcome, Mapping) else None
    if not isinstance(result, Mapping) or not result.get("run_id"):
        status = outcome.get("status") if isinstance(outcome, Mapping) else None
        raise ConfigurationError(f"task {task_id!r} pushed no trained run (status {status!r}); fit_task_id must "
                                 "name an upstream ModelFitOperator that answered")
    return {"run_id": result["run_id"], "model_uri": result.get("model_uri")}
