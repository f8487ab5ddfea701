"""AgentApprovalSensor: the wait for a person's decision on an agent's approval, as a task of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context


def decision_of(event: Mapping[str, Any], task_id: str) -> dict[str, Any]:
    """The sensor's result for a trigger ``event`` (pure; an unexpected event is a rejection)."""
    from airflow_aimod.core.approval import ApprovalRequest
    from airflow_aimod.operators.approval import decision_from_event

    if event.get("status") == "not_asked":
        return {"decision": "not_asked", "task_id": task_id, "task_state": event.get("task_state"),
                "agent_status": event.get("agent_status"), "reviewer": None}
    request = event.get("request") or {}
    decision = decision_from_event(event, ApprovalRequest.from_payload(request.get("request") or {}))
    answer = {"decision": decision.decision, "reviewer": decision.reviewer, **decision.edits}
    return {**answer, "task_id": task_id, "chosen_options": list(event.get("chosen_options") or []),
            "responded_at": event.get("responded_at"), "timed_out": bool(event.get("timedout")),
            "action_id": request.get("action_id"), "trace_id": request.get("trace_id"),
            "subject": request.get("subject")}


class AgentApprovalSensor(BaseSensorOperator):
    """Wait, deferred, for the decision on the approval request of agent task ``approval_task_id``.

    Put it beside the agent task (not downstream of it): the agent (``hitl=True``) asks on
    Required Actions and parks; this sensor waits on the triggerer — holding no worker slot —
    and succeeds once the request is answered (within a poll of the agent's task running again),
    pushing ``{"decision": "approve"|"reject"|"edit", "reviewer", "chosen_options", "responded_at",
    "timed_out", "action_id", "trace_id", "subject", "sql"?}`` as its return value, so the
    tasks downstream of it run on the decision, not on the agent's whole run.

    A rejection (also the request's own timeout with ``timeout_outcome="reject"``) fails the
    task when ``fail_on_reject`` (after pushing the decision); with ``soft_fail=True`` it is
    skipped instead. An agent that ends without asking gives ``{"decision": "not_asked"}`` —
    unless it ended failed (the sensor fails) or skipped (the sensor skips), or with status
    ``needs_approval`` because it does not run with ``hitl=True`` (the sensor fails: nobody can
    answer). ``timeout`` (seconds or a timedelta, default ``[sensors] default_timeout``) bounds
    the wait; then the task fails (skips with ``soft_fail``). Deferrable only: a worker's
    execution-API token can read only its own task's HITL response, the triggerer any.

    :param approval_task_id: the agent task whose request to wait on, in the same DAG run; templated.
    :param map_index: its map index (``-1``: not mapped).
    :param fail_on_reject: fail (or, with ``soft_fail``, skip) on a rejection; ``False`` succeeds with it.
    :param poke_interval: seconds between two reads on the triggerer (default 5).
    """

    template_fields: Sequence[str] = (*BaseSensorOperator.template_fields, "approval_task_id")
    ui_color = "#f3e6c4"

    def __init__(self, *, approval_task_id: str, map_index: int = -1, fail_on_reject: bool = True,
                 poke_interval: float | timedelta = 5, **kwargs: Any) -> None:
        if kwargs.pop("deferrable", True) is not True or kwargs.get("mode", "poke") != "poke":
            raise ConfigurationError("AgentApprovalSensor always defers (only the triggerer can read another "
                                     "task's HITL response): drop deferrable=/mode= and run an Airflow triggerer")
        super().__init__(poke_interval=poke_interval, **kwargs)
        if not isinstance(approval_task_id, str) or not approval_task_id.strip():
            raise ConfigurationError("approval_task_id must name the agent task that asks, e.g. 'sql_agent'")
        if approval_task_id == self.task_id:
            raise ConfigurationError(f"approval_task_id is this sensor's own task id {self.task_id!r}: name the "
                                     "agent task it waits on")
        if not isinstance(map_index, int) or map_index < -1:
            raise ConfigurationError(f"map_index must be -1 (not mapped) or a map index >= 0, got {map_index!r}")
        self.approval_task_id = approval_task_id
        self.map_index = map_index
        self.fail_on_reject = fail_on_reject

    def execute(self, context: Context) -> None:
        from airflow_aimod.triggers.approval import AgentApprovalTrigger

        ti = context["ti"]
        trigger = AgentApprovalTrigger(dag_id=ti.dag_id, run_id=ti.run_id, approval_task_id=self.approval_task_id,
                                       map_index=self.map_index, poke_interval=self.poke_interval)
        self.log.info("waiting, deferred, for the decision on %s's approval", self.approval_task_id)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=self.timeout))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's event into the decision (runs on a fresh instance; reads only ``event``)."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        result = decision_of(event, self.approval_task_id)
        self.log.info("decision on %s: %s by %s", self.approval_task_id, result["decision"], result["reviewer"])
        if result["decision"] == "not_asked":
            if result["task_state"] == "skipped":
                raise AirflowSkipException(f"{self.approval_task_id} was skipped: there is nothing to approve")
            if result["task_state"] != "success" or result["agent_status"] == "needs_approval":
                raise AirflowFailException(_not_asked_message(result))
        if result["decision"] == "reject" and self.fail_on_reject:
            context["ti"].xcom_push(key="return_value", value=result)
            raise AirflowFailException(f"{self.approval_task_id}'s request {result['action_id']} was rejected by "
                                       f"{result['reviewer']} (trace {result['trace_id']})")
        return result


def _not_asked_message(result: Mapping[str, Any]) -> str:
    task = result["task_id"]
    if result["agent_status"] == "needs_approval":
        return (f"{task} ended with status needs_approval without asking anyone: give it hitl=True so the "
                "request goes to Required Actions")
    return f"{task} ended {result['task_state']} without asking for approval"
