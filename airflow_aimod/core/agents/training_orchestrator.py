"""Tier 3 training orchestrator: train a model for a target column, log it, register it, and — with a
person's approval — move an alias (e.g. ``production``) to the new version.

Graph: ``load`` (a guarded, read-only, row-capped query) → ``train`` (``model.train``: the declared
estimators cross-validated within the plan's bounds, the best refit as one scikit-learn pipeline over
the raw columns and logged to MLflow with its signature, params, metrics and a trivial baseline) →
``register`` (``model.register``: a new version, when a model name is given) → ``explain`` (one LLM
call) → ``promote`` (only with ``promote_alias`` and a model that beats its baseline: ``ask_person``,
then ``model.deploy`` moves the alias; a rejection leaves it where it was) → end.

The fit can be its own Airflow task, so the worker that fits is not the one that registers, explains and
waits for a person: with ``fit_only`` the graph is ``load`` → ``train`` → ``hand_off`` (the run id and
model URI to XCom, no LLM call); given ``fitted`` (that result) it is ``adopt`` (``model.read``: the run,
its ``training.json`` and model read back from MLflow, not from XCom) → ``register`` → ``explain`` →
``promote``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.approval import ApprovalRequest, request_body
from airflow_aimod.core.ml.drift import columns_from_rows
from airflow_aimod.core.ml.evaluation import auc_standard_error
from airflow_aimod.core.ml.policy import PromotionRule
from airflow_aimod.core.ml.training import TrainingPlan
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import training_messages
from airflow_aimod.core.state import AgentState, Status

PRIMARY = {"classification": "roc_auc", "regression": "rmse"}
MIN_RELATIVE_LIFT = 0.05
"""A model is proposed for promotion only when its primary metric beats the trivial baseline's by 5 %."""


class TrainingTools:
    """The executor and query the data comes from (or ``fitted``: the result of a fit that ran as its own task),
    the plan, the tracker, the experiment, the model name to register under and the alias a person may move
    to the new version. ``fit_only``: load, train, log and hand the run off; nothing else."""

    def __init__(self, tracker: Any, plan: TrainingPlan | None, *, executor: Any = None, data_sql: str | None = None,
                 experiment: str = "aimod", model_name: str | None = None, promote_alias: str | None = None,
                 fitted: Mapping[str, Any] | None = None, fit_only: bool = False) -> None:
        if promote_alias and not model_name:
            raise ValueError("promote_alias needs model_name: only a registered version can carry an alias")
        if (data_sql is None) == (fitted is None):
            raise ValueError("give exactly one of data_sql (fit here) or fitted (the result of a fit task)")
        if fitted is not None and not (isinstance(fitted, Mapping) and fitted.get("run_id")):
            raise ValueError("fitted must be a fit task's result, with its run_id")
        if fit_only and (fitted is not None or model_name):
            raise ValueError("a fit-only run trains and logs: registering and promoting are the next task's")
        if data_sql is not None and plan is None:
            raise ValueError("fitting needs a TrainingPlan")
        self.tracker, self.plan, self.executor, self.data_sql = tracker, plan, executor, data_sql
        self.experiment, self.model_name, self.promote_alias = experiment, model_name, promote_alias
        self.fitted, self.fit_only = dict(fitted) if fitted is not None else None, fit_only


def build_graph(runtime: AgentRuntime, tools: TrainingTools) -> StateGraph:
    """The training orchestrator graph, uncompiled: the whole run, the fit alone, or what follows a fit task."""
    nodes = _TrainingNodes(runtime, tools)
    if tools.fit_only:
        return chain(nodes, ("load", "train", "hand_off"))
    if tools.fitted is not None:
        return chain(nodes, ("adopt", "register", "explain", "promote"))
    return chain(nodes, ("load", "train", "register", "explain", "promote"))


def approval_request(state: AgentState, agent: str, *, model: str, alias: str, version: str) -> ApprovalRequest:
    """What a person sees before an alias moves: the model, the version, its holdout metrics against the
    baseline, and the version the alias points at now."""
    work = state["work"]
    metrics, baseline = work["training"]["metrics"], work["training"]["baseline"]
    rows = [f"| {k} | {metrics[k]} | {baseline.get(k)} |" for k in ("roc_auc", "pr_auc", "f1", "accuracy", "rmse",
                                                                    "mae", "r2") if k in metrics]
    sections = [f"**Model:** `{model}` version **{version}** (run `{work['logged']['run_id']}`)",
                f"**Alias:** `{alias}` now points at version **{work.get('alias_before') or 'none'}**",
                f"**Estimator:** {work['training']['estimator']} on {work['training']['rows']} rows", "",
                "| metric | this version | trivial baseline |", "|---|---|---|", *rows]
    reasons = (f"moving the {alias!r} alias is a high-impact action (model.deploy)",)
    body = request_body(reasons=reasons, question=state.get("request"), sections=sections,
                        confidence=state.get("confidence"), rationale=state.get("rationale"),
                        trace_id=state.get("trace_id"))
    return ApprovalRequest(agent=agent, action="model.deploy", action_id=f"{model}@{alias}:{version}",
                           subject=f"{agent}: move {model}@{alias} to version {version}?", body=body, reasons=reasons,
                           trace_id=state.get("trace_id"))


class _TrainingNodes:
    def __init__(self, runtime: AgentRuntime, tools: TrainingTools) -> None:
        self.rt, self.tools = runtime, tools

    def _guarded(self, node: str, action: Action, fn: Any, *, approved: bool = False) -> Any:
        try:
            return self.rt.tool(action, fn, approved=approved), None
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return None, self.rt.fail_safe(node, exc)

    def load(self, state: AgentState) -> dict[str, Any]:
        t = self.tools
        out, ended = self._guarded("load", Action("sql.read", target=self.rt.dialect, params={"sql": t.data_sql}),
                                   lambda: t.executor.run(t.data_sql, max_rows=t.plan.max_rows,
                                                          timeout_s=self.rt.spec.call_timeout_s))
        if ended:
            return ended
        return self.rt.update("load", events=out.events, work={
            "data": columns_from_rows(out.value.columns, out.value.rows), "truncated": bool(out.value.truncated)})

    def train(self, state: AgentState) -> dict[str, Any]:
        t = self.tools
        action = Action("model.train", target=t.experiment, params=t.plan.params())
        out, ended = self._guarded("train", action, lambda: self._fit_and_log(state["work"]))
        if ended:
            return ended
        return self.rt.update("train", events=out.events, work={"data": None, **out.value})

    def _fit_and_log(self, work: dict[str, Any]) -> dict[str, Any]:
        from airflow_aimod.core.ml.training import Trainer, frame_from_columns

        t = self.tools
        result = Trainer(t.plan).fit(frame_from_columns(work["data"]))
        tags = {"aimod.agent": self.rt.spec.name, "aimod.trace_id": self.rt.tracer.trace_id,
                "aimod.truncated": str(bool(work.get("truncated")))}
        logged = t.tracker.log_training(result, experiment=t.experiment, params=t.plan.params(), tags=tags)
        return {"training": result.to_dict(), "logged": logged}

    def hand_off(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        reason = (f"{work['training']['estimator']} trained and logged as run {work['logged']['run_id']}; "
                  "registration, explanation and promotion belong to the task that takes this run")
        return self.rt.finish("hand_off", Status.ANSWERED, reason, result=self._result(work, None))

    def adopt(self, state: AgentState) -> dict[str, Any]:
        t = self.tools
        run_id = str(t.fitted["run_id"])
        out, ended = self._guarded("adopt", Action("model.read", target=t.experiment, params={"run_id": run_id}),
                                   lambda: t.tracker.training_run(run_id, agent=self.rt.spec.name))
        if ended:
            return ended
        return self.rt.update("adopt", events=out.events, work=out.value)

    def register(self, state: AgentState) -> dict[str, Any]:
        t, work = self.tools, state["work"]
        if not t.model_name:
            return self.rt.update("register", work={"version": None})
        action = Action("model.register", target=t.model_name, params={"model_uri": work["logged"]["logged_model_uri"]})
        out, ended = self._guarded("register", action, lambda: {
            "version": t.tracker.register(work["logged"]["logged_model_uri"], t.model_name),
            "alias_before": t.tracker.alias_version(t.model_name, t.promote_alias) if t.promote_alias else None})
        if ended:
            return ended
        return self.rt.update("register", events=out.events, work=out.value)

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        try:
            reply = self.rt.ask_json(state, training_messages(state["request"], self._summary(work)))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        text = str(reply.data.get("summary") or "")[:2000]
        return self.rt.update("explain", events=reply.events, token_usage=reply.usage, rationale=text,
                              confidence=0.8, work={"explanation": text})

    def promote(self, state: AgentState) -> dict[str, Any]:
        t, work = self.tools, state["work"]
        useful, why = self._beats_baseline(work["training"])
        if not t.promote_alias or not useful:
            reason = why if t.promote_alias else "trained and logged; no alias to move"
            return self.rt.finish("promote", Status.ANSWERED, reason, result=self._result(work, "not_proposed"))
        request = approval_request(state, self.rt.spec.name, model=t.model_name, alias=t.promote_alias,
                                   version=work["version"])
        decision = self.rt.ask_person(request)
        decided = self.rt.decided(decision, request.action_id)
        if not decision.approved:
            return self.rt.finish("promote", Status.REJECTED, f"rejected by {decision.who()}: {t.promote_alias} left "
                                  f"at version {work.get('alias_before') or 'none'}", **decided,
                                  result=self._result(work, "rejected"))
        action = Action("model.deploy", target=t.model_name, params={"alias": t.promote_alias, "version": work["version"]})
        out, ended = self._guarded("promote", action, lambda: t.tracker.set_alias(t.model_name, t.promote_alias,
                                                                                   work["version"]), approved=True)
        if ended:
            return ended
        return self.rt.finish("promote", Status.ANSWERED, f"{t.model_name}@{t.promote_alias} → version {work['version']}",
                              events=[*decided["events"], *out.events], approvals=decided["approvals"],
                              result=self._result(work, "promoted"))

    def _beats_baseline(self, training: dict[str, Any]) -> tuple[bool, str]:
        metric = PRIMARY[training["task"]] if training["metrics"].get(PRIMARY[training["task"]]) is not None \
            else "accuracy"
        new, base = training["metrics"].get(metric), training["baseline"].get(metric)
        if new is None or base is None:
            return False, f"no {metric} to compare with the baseline: promotion not proposed"
        lift, needed = PromotionRule.better(metric, new, base), MIN_RELATIVE_LIFT * max(abs(base), 1e-9)
        if metric == "roc_auc":  # and more than twice its standard error: a small holdout shows chance lifts
            m = training["metrics"]
            needed = max(needed, 2 * auc_standard_error(new, m["positives"], m["n"] - m["positives"]))
        if lift < needed:
            return False, (f"{metric} {new} does not beat the trivial baseline's {base} by {needed:.3g} "
                           f"(5 %, and for ROC AUC twice its standard error): promotion not proposed")
        return True, f"{metric} {new} beats the baseline's {base} by {lift:.3g} (needed {needed:.3g})"

    def _summary(self, work: dict[str, Any]) -> dict[str, Any]:
        return {**work["training"], "run_id": work["logged"]["run_id"], "model_name": self.tools.model_name,
                "version": work.get("version"), "truncated": bool(work.get("truncated"))}

    def _result(self, work: dict[str, Any], promotion: str | None) -> dict[str, Any]:
        training = work["training"]
        return {"run_id": work["logged"]["run_id"], "model_uri": work["logged"]["model_uri"],
                "estimator": training["estimator"], "task": training["task"], "metrics": training["metrics"],
                "baseline": training["baseline"], "cv": training["cv"], "dropped": training["dropped"],
                "model_name": self.tools.model_name, "version": work.get("version"),
                "alias": self.tools.promote_alias, "alias_before": work.get("alias_before"), "promotion": promotion,
                "explanation": work.get("explanation"), "truncated": bool(work.get("truncated"))}
