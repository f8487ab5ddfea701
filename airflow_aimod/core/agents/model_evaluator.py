"""Tier 3 model evaluator: is a registered model version (the challenger) fit to replace the champion?

Graph: ``load_holdout`` (a guarded, read-only, row-capped query) → ``score`` (``model.read``: the
challenger and the champion — the version the champion alias points at — loaded from the MLflow
registry and scored on the holdout) → ``judge`` (``core.ml.evaluation``: the declared
``PromotionRule``) → ``record`` (``model.log``: metrics, verdict and evidence to MLflow) → ``explain``
(one LLM call) → end. The numbers and the verdict come from the code; the model only explains.
The evaluator never moves an alias: promotion is the training orchestrator's, with approval.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.ml.drift import columns_from_rows
from airflow_aimod.core.ml.evaluation import VERDICT_ASSESSMENT, verdict
from airflow_aimod.core.ml.policy import PromotionRule
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import evaluation_messages
from airflow_aimod.core.state import AgentState, Status


class EvaluatorTools:
    """The registry (an ``MlflowTracker``), the model and versions to compare, the holdout query and the rule."""

    def __init__(self, tracker: Any, rule: PromotionRule, *, model_name: str, challenger: str, target: str,
                 executor: Any = None, holdout_sql: str, champion_alias: str | None = "champion",
                 threshold: float = 0.5, experiment: str | None = None, max_rows: int = 100_000) -> None:
        self.tracker, self.rule, self.model_name, self.target = tracker, rule, model_name, target
        self.challenger, self.champion_alias, self.threshold = str(challenger), champion_alias, threshold
        self.executor, self.holdout_sql, self.max_rows = executor, holdout_sql, max_rows
        self.experiment = experiment or f"{model_name}-evaluations"

    def uri(self, version: str) -> str:
        """``models:/name/3`` for a version number, ``models:/name@alias`` for ``@alias``."""
        return f"models:/{self.model_name}{version}" if version.startswith("@") else f"models:/{self.model_name}/{version}"


def build_graph(runtime: AgentRuntime, tools: EvaluatorTools) -> StateGraph:
    """The model evaluator graph, uncompiled."""
    nodes = _EvaluatorNodes(runtime, tools)
    return chain(nodes, ("load_holdout", "score", "judge", "record", "explain"))


class _EvaluatorNodes:
    def __init__(self, runtime: AgentRuntime, tools: EvaluatorTools) -> None:
        self.rt, self.tools = runtime, tools

    def _guarded(self, node: str, action: Action, fn: Any) -> Any:
        """``(outcome, None)`` or ``(None, the state update that ends the run)``."""
        try:
            return self.rt.tool(action, fn), None
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return None, self.rt.fail_safe(node, exc)

    def load_holdout(self, state: AgentState) -> dict[str, Any]:
        sql = self.tools.holdout_sql
        action = Action("sql.read", target=self.rt.dialect, params={"sql": sql})
        out, ended = self._guarded("load_holdout", action, lambda: self.tools.executor.run(
            sql, max_rows=self.tools.max_rows, timeout_s=self.rt.spec.call_timeout_s))
        if ended:
            return ended
        holdout = columns_from_rows(out.value.columns, out.value.rows)
        return self.rt.update("load_holdout", events=out.events,
                              work={"holdout": holdout, "truncated": bool(out.value.truncated)})

    def score(self, state: AgentState) -> dict[str, Any]:
        t = self.tools
        action = Action("model.read", target=t.model_name, params={"challenger": t.challenger,
                                                                    "champion_alias": t.champion_alias})
        out, ended = self._guarded("score", action, lambda: self._score(state["work"]["holdout"]))
        if ended:
            return ended
        return self.rt.update("score", events=out.events, work={"holdout": None, **out.value})

    def _score(self, holdout: dict[str, list[Any]]) -> dict[str, Any]:
        from airflow_aimod.core.ml.evaluation import model_metrics
        from airflow_aimod.core.ml.training import frame_from_columns

        t, frame = self.tools, frame_from_columns(holdout)
        champion = t.tracker.alias_version(t.model_name, t.champion_alias) if t.champion_alias else None
        challenger_metrics = model_metrics(t.tracker.load_model(t.uri(t.challenger)), frame, t.target,
                                           threshold=t.threshold)
        champion_metrics = None if champion is None else model_metrics(
            t.tracker.load_model(t.uri(champion)), frame, t.target, threshold=t.threshold)
        return {"challenger": challenger_metrics, "champion": champion_metrics, "champion_version": champion}

    def judge(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        judged = verdict(self.tools.rule, work["challenger"], work["champion"])
        return self.rt.update("judge", work={"verdict": judged})

    def record(self, state: AgentState) -> dict[str, Any]:
        t, work = self.tools, state["work"]
        evaluation = self._evaluation(work)
        action = Action("model.log", target=t.experiment, params={"model": t.model_name, "challenger": t.challenger})
        tags = {"aimod.model": t.model_name, "aimod.challenger": t.challenger,
                "aimod.champion": str(work["champion_version"]), "aimod.trace_id": state.get("trace_id") or ""}
        out, ended = self._guarded("record", action,
                                   lambda: t.tracker.log_evaluation(experiment=t.experiment, evaluation=evaluation,
                                                                    tags=tags))
        if ended:
            return ended
        return self.rt.update("record", events=out.events, work={"evaluation_run_id": out.value})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work, t = state["work"], self.tools
        evaluation = self._evaluation(work)
        try:
            reply = self.rt.ask_json(state, evaluation_messages(state["request"], t.model_name, evaluation))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        judged = work["verdict"]
        reason = f"{judged['verdict']}: {judged['reason']}"
        explanation = str(reply.data.get("summary") or reason)[:2000]
        confidence = 0.0 if judged["verdict"] == "unknown" else 0.8
        assessment = {"subject": f"model {t.model_name} version {t.challenger}",
                      "verdict": VERDICT_ASSESSMENT[judged["verdict"]], "confidence": confidence, "summary": reason,
                      "findings": [c for c in judged["checks"] if c.get("passed") is False]}
        result = {**evaluation, "evaluation_run_id": work["evaluation_run_id"], "assessment": assessment,
                  "explanation": explanation, "truncated": bool(work.get("truncated"))}
        return self.rt.finish("explain", Status.ANSWERED, reason, events=reply.events, token_usage=reply.usage,
                              confidence=confidence, rationale=explanation, result=result)

    def _evaluation(self, work: dict[str, Any]) -> dict[str, Any]:
        t = self.tools
        return {"model": t.model_name, "challenger_version": t.challenger, "champion_version": work["champion_version"],
                "challenger": work["challenger"], "champion": work["champion"], "verdict": work["verdict"]}
