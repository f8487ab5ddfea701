"""HumanReviewOperator: a person picks the agent for a request the router would not dispatch alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLBranchOperator, HITLOperator

from airflow_aimod.core.registry import get_agent
from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

REJECT = "Reject"
FIXED_ARGS = ("options", "options_mapping", "defaults", "multiple", "subject")


class HumanReviewOperator(HITLBranchOperator):
    """The router's human-review branch as an Airflow HITL request: a person picks the agent.

    Options are the agent names of ``agent_tasks`` plus ``Reject``; the DAG continues with the
    chosen agent's task, ``Reject`` (also the answer on ``response_timeout``) skips every
    downstream task. The body shows the router's decision (request, scores, rationale, trace id)
    read from ``router_task_id``'s XCom. The choice ``{"agent", "task_id", "reviewer", "trace_id"}``
    is the return value. ``assigned_users``, ``notifiers``, ``response_timeout`` and ``body``
    work as on Airflow's HITLOperator.

    :param agent_tasks: agent name → the downstream task id that runs it.
    :param router_task_id: the ``TaskRouterOperator`` whose decision is reviewed.
    :param learn_from_approvals: keep a person's pick (request → agent) as a verified router example, so
        the router dispatches similar requests itself next time (``aimod examples list --agent task_router``).
        ``Reject`` and the timeout's default teach nothing. ``[aimod] learn_from_approvals = false`` turns it
        off everywhere.
    """

    ui_color = "#f7d4c4"

    def __init__(self, *, agent_tasks: Mapping[str, str], router_task_id: str = "route",
                 learn_from_approvals: bool = True, **kwargs: Any) -> None:
        if fixed := [arg for arg in FIXED_ARGS if arg in kwargs]:
            raise ConfigurationError(f"HumanReviewOperator sets {fixed} itself; pass agent_tasks instead")
        if not agent_tasks:
            raise ConfigurationError("agent_tasks is empty: map at least one agent name to a downstream task id")
        for name in agent_tasks:
            get_agent(name)
        if REJECT in agent_tasks:
            raise ConfigurationError(f"{REJECT!r} is the reject option, not an agent name")
        super().__init__(subject="Pick the agent for a request", options=[*agent_tasks, REJECT],
                         options_mapping=dict(agent_tasks), defaults=[REJECT], multiple=False, **kwargs)
        self.router_task_id = router_task_id
        self.learn_from_approvals = bool(learn_from_approvals)

    def execute(self, context: Context) -> None:
        decision = context["ti"].xcom_pull(task_ids=self.router_task_id) or {}
        self.subject = f"Pick the agent for: {decision.get('request') or 'a request'}"[:200]
        self.body = self.body or _describe(decision, list(self.options_mapping))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY

        response = HITLOperator.execute_complete(self, context, event)  # validates; raises on an error event
        choice = response["chosen_options"][0]
        task_id = None if choice == REJECT else self.options_mapping[choice]
        decision = context["ti"].xcom_pull(task_ids=self.router_task_id) or {}
        trace_id = decision.get("trace_id")
        user = response.get("responded_by_user") or {}
        chosen = {"agent": None if task_id is None else choice, "task_id": task_id, "trace_id": trace_id,
                  "reviewer": user.get("name") or ("timeout" if event.get("timedout") else None)}
        ti = context["ti"]
        ti.xcom_push(key=TRACE_XCOM_KEY, value=trace_id)
        ti.xcom_push(key="return_value", value=chosen)  # skipping ends with an exception: push first
        self.log.info("human review: %s chose %s (trace %s)", chosen["reviewer"], choice, trace_id)
        self._learn(decision.get("request") or "", chosen["agent"], event)
        self.do_branch(context, task_id)
        return chosen

    def _learn(self, request: str, agent: str | None, event: Mapping[str, Any]) -> None:
        """A person's pick becomes a router example (never a rejection or the timeout's default)."""
        from airflow_aimod.core.examples.learning import reviewer_of
        from airflow_aimod.operators._learning import learn_route, learning_on

        if agent and learning_on(self.learn_from_approvals):
            learn_route(request, agent, reviewer=reviewer_of(event), log=self.log)


def _describe(decision: Mapping[str, Any], agents: list[str]) -> str:
    scores = decision.get("scores") or {}
    ranked = sorted(scores.items(), key=lambda item: -float(item[1] or 0))[:5]
    lines = [
        f"**Request:** {decision.get('request') or '—'}",
        f"**Router's best guess:** {decision.get('agent') or '—'} (confidence "
        f"{float(decision.get('confidence') or 0):.2f})",
        f"**Why a person decides:** {decision.get('reason') or 'confidence below the threshold'}",
        f"**Rationale:** {decision.get('rationale') or '—'}",
        "**Scores:** " + (", ".join(f"{name} {float(score or 0):.2f}" for name, score in ranked) or "—"),
        f"**Trace id:** `{decision.get('trace_id')}`", "",
        f"Choose the agent that should handle it ({', '.join(agents)}), or **{REJECT}** to stop here.",
    ]
    return "\n".join(lines)
