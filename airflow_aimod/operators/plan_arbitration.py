"""PlanArbitrationOperator: two steps of a plan judged the same thing; the declared rule settles it or a person does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from airflow_aimod.operators.arbitration import ArbitrationOperator

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_aimod.core.disagreement import DisagreementRule


class PlanArbitrationOperator(ArbitrationOperator):
    """``ArbitrationOperator`` over the plan's own steps: the first step of ``rule.left``'s agent and the first
    of ``rule.right``'s (another step when both are the same agent) are compared once both answered.

    Agreement branches at once (``decided_by: "rule"``); a conflict waits for a person on Required Actions
    with both assessments. A plan without both steps, or with one that did not answer, skips (and with it
    the verdict tasks): there is nothing to arbitrate.

    :param plan_task_id: the ``WorkflowCoordinatorOperator`` task. :param step_task_ids: the step slots.
    """

    def __init__(self, *, rule: DisagreementRule, plan_task_id: str, step_task_ids: Sequence[str],
                 verdict_tasks: Mapping[str, str], **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")  # a failed step does not hide the others' verdicts
        super().__init__(rule=rule, left_task_id="", right_task_id="", verdict_tasks=verdict_tasks, **kwargs)
        self.plan_task_id, self.step_task_ids = plan_task_id, list(step_task_ids)

    def execute(self, context: Context) -> Any:
        self.left_task_id, self.right_task_id = self._pair(context)
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self.left_task_id, self.right_task_id = self._pair(context)
        return super().execute_complete(context, event)

    def _pair(self, context: Context) -> tuple[str, str]:
        """The slot task ids of the two steps the rule compares; skips when the plan has no such pair."""
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids=self.plan_task_id) or {}
        result = plan.get("result") or {}
        steps = (result.get("steps") or []) if result.get("decision") == "run" else []
        slots = [(s.get("agent"), task_id) for s, task_id in zip(steps, self.step_task_ids)]
        left = next((t for a, t in slots if a == self.rule.left), None)
        right = next((t for a, t in slots if a == self.rule.right and t != left), None)
        if left is None or right is None:
            raise AirflowSkipException(f"the plan has no {self.rule.left} and {self.rule.right} steps to compare "
                                       f"under {self.rule.name}")
        for task_id in (left, right):
            status = (ti.xcom_pull(task_ids=task_id) or {}).get("status")
            if status != "answered":
                raise AirflowSkipException(f"{task_id} ended {status or 'without an outcome'}: no verdict to compare")
        return left, right


def plan_arbitration(plan_task: BaseOperator, steps: Sequence[BaseOperator], *, rule: DisagreementRule,
                     verdict_tasks: Mapping[str, str], task_id: str = "arbitrate",
                     **kwargs: Any) -> PlanArbitrationOperator:
    """A ``PlanArbitrationOperator`` after the step slots of ``plan_step_tasks``; wire ``verdict_tasks`` after it."""
    task = PlanArbitrationOperator(task_id=task_id, rule=rule, plan_task_id=plan_task.task_id,
                                   step_task_ids=[s.task_id for s in steps], verdict_tasks=verdict_tasks, **kwargs)
    list(steps) >> task
    return task
