"""PlanStepOperator: run one step of a workflow coordinator's plan as its own Airflow task instance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")


class PlanStepOperator(BaseOperator):
    """Run step number ``index`` of the plan in ``plan_task_id``'s XCom with the step's agent.

    Steps come in dependency order, so slot ``i`` runs after every step it depends on. The slot skips
    when the plan is not ``run`` (refused, unsupported, rejected), when the plan has fewer steps, or
    when a step it depends on did not end ``answered``; a step that fails is retried with this task's
    own ``retries`` while the other steps keep their results. The step runs under the plan's trace id
    with its share of the plan's token budget, drawn from the plan's reservation in the run's ledger;
    summarizer, report, alert and validator steps read their upstream steps' outcomes
    (``operators._plan_agents``).

    :param plan_task_id: the ``WorkflowCoordinatorOperator`` task.
    :param index: which step (0-based) this task runs.
    :param step_task_ids: the task ids of every step slot, in order (to find upstream steps' outcomes).
    :param conn_id: the warehouse connection SQL and profiling steps use.
    :param llm_conn_id: the model every step uses (``"offline"`` or an ``aimod_llm`` connection).
    :param alert_channels: an alert step's route kind → connection ids (default: the task log).
    :param report_args: extra ``ReportGeneratorOperator`` arguments of a report step (``output_url``, ``formats``).
    :param wait_s: with slots that are not chained (``plan_step_tasks(parallel=True)``), how long a slot whose
        steps it depends on have not finished waits before it looks again (rescheduled: no worker slot held).
    """

    template_fields: Sequence[str] = ("conn_id", "llm_conn_id")
    ui_color = "#e8e1f7"

    def __init__(self, *, plan_task_id: str, index: int, step_task_ids: Sequence[str], conn_id: str | None = None,
                 llm_conn_id: str = "aimod_llm_default", alert_channels: Mapping[str, Sequence[str]] | None = None,
                 report_args: Mapping[str, Any] | None = None, wait_s: float | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")  # a failed or skipped step does not stop independent ones
        super().__init__(**kwargs)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(step_task_ids):
            raise ConfigurationError(f"index must be a slot number in 0..{len(step_task_ids) - 1}, got {index!r}")
        self.plan_task_id, self.index, self.step_task_ids = plan_task_id, index, list(step_task_ids)
        self.conn_id, self.llm_conn_id = conn_id, llm_conn_id
        self.alert_channels, self.report_args, self.wait_s = alert_channels, dict(report_args or {}), wait_s

    def execute(self, context: Context) -> dict[str, Any]:
        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id) or {}
        result = plan.get("result") or {}
        if plan.get("status") != "answered" or result.get("decision") != "run":
            raise AirflowSkipException(f"the plan does not run (status {plan.get('status')!r}, decision "
                                       f"{result.get('decision')!r}): {plan.get('reason', '')}")
        steps = result.get("steps") or []
        if self.index >= len(steps):
            raise AirflowSkipException(f"the plan has {len(steps)} step(s): slot {self.index + 1} has none")
        if len(steps) > len(self.step_task_ids):
            raise ConfigurationError(f"the plan has {len(steps)} steps but the DAG has {len(self.step_task_ids)} "
                                     "step tasks: raise the number of slots or lower max_steps")
        step = steps[self.index]
        self._wait_for_dependencies(context, steps, step)
        upstream = self._upstream(context, steps, step)
        self.log.info("plan step %s: %s ← %r (after %s)", step["id"], step["agent"], step["request"],
                      list(upstream) or "nothing")
        inner = self._agent_task(step, upstream, result, plan.get("trace_id"))
        out = inner.run_inside(self, plan_task_id=self.plan_task_id if result.get("reserved_tokens") else None
                               ).execute(context)
        return {**out, "step": step}

    def _wait_for_dependencies(self, context: Context, steps: Sequence[Mapping[str, Any]],
                               step: Mapping[str, Any]) -> None:
        """Parallel slots: reschedule this slot until the slots of the steps it depends on have finished."""
        if self.wait_s is None or not step.get("depends_on"):
            return
        from datetime import datetime, timedelta, timezone

        from airflow.sdk.exceptions import AirflowRescheduleException

        from airflow_aimod.operators.plan_outcome import step_states

        slots = {s["id"]: self.step_task_ids[i] for i, s in enumerate(steps)}
        states = step_states(context["ti"], [slots[d] for d in step["depends_on"]])
        if waiting := [d for d in step["depends_on"] if states.get(slots[d]) not in FINISHED]:
            self.log.info("step %s waits for step(s) %s", step["id"], ", ".join(waiting))
            raise AirflowRescheduleException(datetime.now(timezone.utc) + timedelta(seconds=self.wait_s))

    def _upstream(self, context: Context, steps: Sequence[Mapping[str, Any]],
                  step: Mapping[str, Any]) -> dict[str, tuple[str, str, Mapping[str, Any]]]:
        """step id → (slot task id, agent, outcome) of every step this one depends on; skips unless all answered."""
        slots = {s["id"]: (self.step_task_ids[i], s["agent"]) for i, s in enumerate(steps)}
        found = {}
        for dep in step.get("depends_on") or ():
            task_id, agent = slots[dep]
            outcome = context["ti"].xcom_pull(task_ids=task_id) or {}
            if outcome.get("status") != "answered":
                raise AirflowSkipException(f"step {step['id']} depends on step {dep}, which ended "
                                           f"{outcome.get('status') or 'without an outcome'}")
            found[dep] = (task_id, agent, outcome)
        return found

    def _agent_task(self, step: Mapping[str, Any], upstream: Mapping[str, tuple[str, str, Mapping[str, Any]]],
                    plan: Mapping[str, Any], trace_id: str | None) -> Any:
        """The agent operator for ``step``, under this task's id, the plan's trace and the step's budget."""
        from airflow_aimod.operators._plan_agents import StepInputs, step_operator

        common = {"task_id": self.task_id, "llm_conn_id": self.llm_conn_id, "trace_id": trace_id,
                  "token_budget": step.get("token_budget")}
        approved = bool(plan.get("reviewed_by")) and step.get("status") == "needs_approval"
        return step_operator(StepInputs(step, upstream, common, conn_id=self.conn_id, approved=approved,
                                        alert_channels=self.alert_channels, extra={"report": self.report_args}))


def plan_step_tasks(plan_task: BaseOperator, *, slots: int = 5, prefix: str = "step",
                    outcome_task_id: str = "plan_outcome", parallel: bool = False, wait_s: float = 10.0, **kwargs: Any) -> list[PlanStepOperator]:
    """``slots`` step tasks after ``plan_task``, then ``outcome_task_id`` (``PlanOutcomeOperator``: each step's
    outcome; the plan's unused tokens released).

    Chained (``step_1 >> step_2 >> ...``) by default; ``parallel=True``: every slot starts after the plan, and a
    step waits (rescheduled every ``wait_s`` seconds, holding no worker slot) only for the steps it depends on.
    """
    from airflow_aimod.operators.plan_outcome import PlanOutcomeOperator

    ids = [f"{prefix}_{i + 1}" for i in range(slots)]
    extra = {"wait_s": wait_s} if parallel else {}
    tasks = [PlanStepOperator(task_id=task_id, plan_task_id=plan_task.task_id, index=i, step_task_ids=ids,
                              **extra, **kwargs) for i, task_id in enumerate(ids)]
    if parallel:
        plan_task >> tasks
    else:
        plan_task >> tasks[0]
        for before, after in zip(tasks, tasks[1:]):
            before >> after
    tasks >> PlanOutcomeOperator(task_id=outcome_task_id, plan_task_id=plan_task.task_id, step_task_ids=ids)
    return tasks
