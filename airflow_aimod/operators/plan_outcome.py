"""PlanOutcomeOperator: the end of a plan — each step's status, trace and output; the unused tokens released."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context

OUTPUT_KEYS = ("status", "reason", "trace_id", "result", "token_usage", "escalate_to")


class PlanOutcomeOperator(BaseOperator):
    """After every step slot (``trigger_rule="all_done"``): record the plan's outcome and release its tokens.

    The return value is ``{"decision", "trace_id", "steps": [{id, agent, task_id, state, status, reason,
    trace_id, result, token_usage}], "released_tokens"}``. The plan's reservation in the DAG run's ledger
    (what its steps did not draw) is released whatever the steps did; the task then fails when a step
    failed, naming it, so the DAG run says so too.

    :param plan_task_id: the ``WorkflowCoordinatorOperator`` task. :param step_task_ids: the step slots.
    """

    ui_color = "#e8e1f7"

    def __init__(self, *, plan_task_id: str, step_task_ids: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.plan_task_id, self.step_task_ids = plan_task_id, list(step_task_ids)

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids=self.plan_task_id) or {}
        result = plan.get("result") or {}
        states = step_states(ti, self.step_task_ids)
        steps = [self._step(ti, step, task_id, states.get(task_id))
                 for step, task_id in zip(result.get("steps") or [], self.step_task_ids)]
        released = self._release(context) if result.get("reserved_tokens") else 0
        out = {"decision": result.get("decision"), "trace_id": plan.get("trace_id"), "steps": steps,
               "reserved_tokens": result.get("reserved_tokens") or 0, "released_tokens": released}
        ti.xcom_push(key="return_value", value=out)
        self.log.info("plan %s: %s; %d tokens released", plan.get("trace_id"),
                      ", ".join(f"{s['id']} {s['state']}" for s in steps) or "no step ran", released)
        if failed := [s["id"] for s in steps if s["state"] in ("failed", "upstream_failed")]:
            raise AirflowFailException(f"plan step(s) {', '.join(failed)} failed; the other steps kept their "
                                       "results (see this task's XCom)")
        return out

    def _step(self, ti: Any, step: Mapping[str, Any], task_id: str, state: str | None) -> dict[str, Any]:
        out = ti.xcom_pull(task_ids=task_id) or ti.xcom_pull(task_ids=task_id, key="aimod_outcome") or {}
        return {"id": step.get("id"), "agent": step.get("agent"), "task_id": task_id, "state": state,
                **{k: out.get(k) for k in OUTPUT_KEYS}}

    def _release(self, context: Context) -> int:
        from airflow_aimod.core.store.plan_ledger import PlanReservation
        from airflow_aimod.observability.sinks import shared_store, store_url

        url, ti = store_url(), context["ti"]
        if url is None:
            return 0
        return PlanReservation(shared_store(url), dag_id=ti.dag_id, run_id=ti.run_id,
                               plan_task_id=self.plan_task_id).release()


def step_states(ti: Any, task_ids: Sequence[str]) -> dict[str, str | None]:
    """task id → state of the step slots in this DAG run."""
    found = ti.get_task_states(dag_id=ti.dag_id, task_ids=list(task_ids), run_ids=[ti.run_id])
    per_run = found.get(ti.run_id) or {}
    return {task_id: getattr(state, "value", state) for task_id, state in per_run.items()}
