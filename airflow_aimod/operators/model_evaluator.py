"""ModelEvaluatorOperator: is a registered model version fit to replace the champion, on holdout data?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._ml import MlAgentOperator, MlResources

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime


class ModelEvaluatorOperator(MlAgentOperator):
    """Score version ``challenger`` of registered model ``model_name`` and the version ``champion_alias`` points
    at on ``holdout_sql``'s rows (read-only through the SQL guard, on ``conn_id``), and judge them by a declared
    champion/challenger rule. The metrics, the verdict (``promote``, ``keep_champion``, ``unknown``) and its
    evidence go to MLflow (experiment ``<model_name>-evaluations``) and to XCom, with an ``assessment``
    other agents' verdicts can be compared with (a challenger fit to promote reads as ``normal``). It never
    moves an alias.

    :param model_name: the registered model (templated).
    :param challenger: a version number or ``@alias`` (templated).
    :param holdout_sql: read-only query returning the raw feature columns and ``target`` (templated).
    :param conn_id: the connection ``holdout_sql`` runs on.
    :param target: the label column.
    :param champion_alias: the alias of the version to beat (``None``: no comparison, the first version).
    :param primary: the metric that must improve by ``min_lift``; ``guards``: metric → the most it may worsen;
        ``min_samples``: fewer holdout rows → ``unknown``.
    :param threshold: the probability cut for F1, precision, recall and the confusion matrix.
    :param mlflow_conn_id: an ``aimod_mlflow`` or ``postgres`` connection (``None``: the embedded store).
    :param max_rows: most holdout rows read.
    """

    agent_name = "model_evaluator"
    template_fields: Sequence[str] = (*MlAgentOperator.template_fields, "model_name", "challenger", "holdout_sql",
                                      "conn_id")

    def __init__(self, *, model_name: str, challenger: str | int, holdout_sql: str, conn_id: str, target: str,
                 champion_alias: str | None = "champion", primary: str = "roc_auc", min_lift: float = 0.0,
                 guards: Mapping[str, float] | None = None, min_samples: int = 100, threshold: float = 0.5,
                 mlflow_conn_id: str | None = None, experiment: str | None = None, max_rows: int = 100_000,
                 **kwargs: Any) -> None:
        from airflow_aimod.core.ml.policy import PromotionRule

        super().__init__(**kwargs)
        if not model_name or not holdout_sql or not conn_id or not target:
            raise ConfigurationError("give model_name, holdout_sql, conn_id and target (the label column)")
        if not 0 < threshold < 1:
            raise ConfigurationError(f"threshold is a probability cut between 0 and 1, got {threshold}")
        if not 1 <= max_rows <= 10_000_000:
            raise ConfigurationError(f"max_rows must be between 1 and 10000000, got {max_rows}")
        self.rule = PromotionRule(primary=primary, min_lift=min_lift, guards=dict(guards or {}), min_samples=min_samples)
        self.model_name, self.challenger, self.holdout_sql, self.conn_id = model_name, str(challenger), holdout_sql, conn_id
        self.target, self.champion_alias, self.threshold = target, champion_alias, threshold
        self.mlflow_conn_id, self.experiment, self.max_rows = mlflow_conn_id, experiment, max_rows

    def request_text(self) -> str:
        return f"Evaluate model {self.model_name} version {self.challenger} against {self.champion_alias or 'nothing'}"

    def build_graph(self, runtime: AgentRuntime, resources: MlResources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.model_evaluator import EvaluatorTools, build_graph

        tools = EvaluatorTools(resources.tracker, self.rule, model_name=self.model_name, challenger=self.challenger,
                               target=self.target, executor=resources.executor, holdout_sql=self.holdout_sql,
                               champion_alias=self.champion_alias, threshold=self.threshold,
                               experiment=self.experiment, max_rows=self.max_rows)
        return build_graph(runtime, tools)
