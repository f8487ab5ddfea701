"""ArbitrationOperator: two agents judged the same thing; agreement branches on, a conflict asks a person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLBranchOperator, HITLOperator

from airflow_aimod.core.disagreement import VERDICTS, DisagreementRule
from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

FIXED_ARGS = ("options", "options_mapping", "defaults", "multiple", "subject")


class ArbitrationOperator(HITLBranchOperator):
    """Compare ``left_task_id``'s and ``right_task_id``'s assessments under ``rule``, then branch.

    When the rule finds agreement, the DAG continues with ``verdict_tasks[verdict]`` at once.
    On a conflict (or a missing/unknown verdict the rule does not settle, or an agreed verdict
    with no task) a person chooses the verdict on the Required Actions page, with both
    assessments in the request's body; on ``response_timeout`` the most cautious verdict stands.
    The return value is the judgement plus ``{"verdict", "decided_by", "task_id"}``.
    ``assigned_users``, ``notifiers`` and ``response_timeout`` work as on Airflow's HITLOperator.

    :param rule: a ``DisagreementRule`` naming the two agents and the verdict pairs that conflict.
    :param verdict_tasks: verdict (``normal``, ``anomalous``, ``unknown``) → downstream task id.
    """

    ui_color = "#f7e3c4"

    def __init__(self, *, rule: DisagreementRule, left_task_id: str, right_task_id: str,
                 verdict_tasks: Mapping[str, str], **kwargs: Any) -> None:
        if fixed := [arg for arg in FIXED_ARGS if arg in kwargs]:
            raise ConfigurationError(f"ArbitrationOperator sets {fixed} itself; pass verdict_tasks instead")
        if not isinstance(rule, DisagreementRule):
            raise ConfigurationError("rule must be a DisagreementRule, e.g. DisagreementRule.of(name, left, right)")
        if unknown := sorted(set(verdict_tasks) - set(VERDICTS)):
            raise ConfigurationError(f"verdict_tasks has unknown verdicts {unknown}; use {', '.join(VERDICTS)}")
        if len(verdict_tasks) < 2:
            raise ConfigurationError("verdict_tasks needs at least two verdicts, so a person has a choice")
        options = sorted(verdict_tasks, key=VERDICTS.index)
        cautious = "anomalous" if "anomalous" in verdict_tasks else options[-1]
        super().__init__(subject=f"Arbitrate: {rule.name}", options=options, options_mapping=dict(verdict_tasks),
                         defaults=[cautious], multiple=False, **kwargs)
        self.rule, self.left_task_id, self.right_task_id = rule, left_task_id, right_task_id

    def _judgement(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        left = ti.xcom_pull(task_ids=self.left_task_id) or {}
        right = ti.xcom_pull(task_ids=self.right_task_id) or {}
        judged = self.rule.evaluate(left, right).to_dict()
        return {**judged, "trace_id": left.get("trace_id") or right.get("trace_id")}

    def execute(self, context: Context) -> Any:
        judged = self._judgement(context)
        if judged["outcome"] == "agree" and judged["verdict"] in self.options_mapping:
            return self._branch(context, {**judged, "decided_by": "rule"}, judged["verdict"])
        self.subject = f"Arbitrate {self.rule.name}: {judged['reason']}"[:200]
        self.body = self.body or _describe(self.rule, judged, self.left_task_id, self.right_task_id)
        self.log.info("agents disagree under %s: %s — asking a person", self.rule.name, judged["reason"])
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        response = HITLOperator.execute_complete(self, context, event)  # validates; raises on an error event
        user = response.get("responded_by_user") or {}
        reviewer = user.get("name") or ("timeout" if event.get("timedout") else None)
        return self._branch(context, {**self._judgement(context), "decided_by": reviewer},
                            response["chosen_options"][0])

    def _branch(self, context: Context, judged: dict[str, Any], verdict: str) -> dict[str, Any]:
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY

        chosen = {**judged, "verdict": verdict, "task_id": self.options_mapping[verdict]}
        ti = context["ti"]
        ti.xcom_push(key=TRACE_XCOM_KEY, value=chosen.get("trace_id"))
        ti.xcom_push(key="return_value", value=chosen)  # branching ends with an exception: push first
        self.log.info("%s: verdict %s decided by %s (trace %s)", self.rule.name, verdict, chosen["decided_by"],
                      chosen.get("trace_id"))
        self.do_branch(context, chosen["task_id"])
        return chosen


def _describe(rule: DisagreementRule, judged: Mapping[str, Any], left_task: str, right_task: str) -> str:
    def side(agent: str, task: str, a: Mapping[str, Any]) -> str:
        return (f"**{agent}** (task `{task}`): **{a.get('verdict') or 'no verdict'}** "
                f"(confidence {float(a.get('confidence') or 0):.2f}) — {a.get('summary') or '—'}")

    return "\n".join([
        f"**Why a person decides:** {judged['reason']}", "",
        side(rule.left, left_task, judged["left"]), side(rule.right, right_task, judged["right"]), "",
        f"**Trace id:** `{judged.get('trace_id')}`", "",
        "Choose the verdict the pipeline should continue with.",
    ])
