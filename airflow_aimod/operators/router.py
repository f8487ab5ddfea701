"""TaskRouterOperator: branch the DAG on the classifier's confidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.routing import DEFAULT_THRESHOLD, DISPATCH
from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._escalation import check_routes
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.runner import RunResult


class TaskRouterOperator(AgentOperator):
    """Classify ``request`` and follow the branch of the chosen agent.

    Confidence at or above ``threshold`` → the task mapped to the agent in ``agent_tasks``; below
    it, or when the router itself escalates (its budget, a timeout, an envelope block) →
    ``human_review_task_id`` (add statuses to ``fail_on_status`` to fail instead). A confident choice of an agent with no task in this DAG →
    ``fallback_task_id`` (or human review). Every branch target must be a direct downstream task:
    the task fails before the model is called when one is not, naming it. The return value is the
    decision (``agent``, ``confidence``, ``decision``, ``scores``, ``rationale``, ``threshold``) with the
    outcome's ``status``, ``reason``, ``trace_id``, ``token_usage``, the ``request`` and the ``branch``
    taken; the trace id is also pushed as ``aimod_trace_id`` for downstream agents. Everything else
    (``llm_conn_id``, ``envelope``, ``token_budget``, ``call_timeout_s``, ...) is ``AgentOperator``'s.

    :param request: the request, templated.
    :param agent_tasks: agent name → downstream task id.
    :param human_review_task_id: where low-confidence and escalated requests go.
    :param fallback_task_id: where confident requests for an agent with no task here go.
    :param threshold: minimum confidence to dispatch without a person (0 < t ≤ 1).
    :param warehouse_conn_id: the warehouse the DAG's agents use: its table and column words and the
        verified examples for it inform the classification (the threshold does not move).
    """

    agent_name = "task_router"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "request", "warehouse_conn_id")
    ui_color = "#f7e6c4"

    def __init__(self, *, request: str, agent_tasks: Mapping[str, str], human_review_task_id: str = "human_review",
                 fallback_task_id: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                 warehouse_conn_id: str | None = None, **kwargs: Any) -> None:
        if not agent_tasks:
            raise ConfigurationError("agent_tasks is empty: map at least one agent name to a downstream task id")
        for name in agent_tasks:
            if name == "task_router":
                raise ConfigurationError("the router cannot route to itself; remove 'task_router' from agent_tasks")
            get_agent(name)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0:
            raise ConfigurationError(f"threshold must be a number in (0, 1], got {threshold!r}")
        if "human_task_id" in kwargs:
            raise ConfigurationError("the router's human branch is human_review_task_id; drop human_task_id")
        kwargs.setdefault("fail_on_status", ())  # every outcome has a branch: a person, by default
        super().__init__(human_task_id=human_review_task_id, **kwargs)
        check_routes(fallback_task_id, human_review_task_id)
        self.request = request
        self.agent_tasks = dict(agent_tasks)
        self.human_review_task_id = human_review_task_id
        self.fallback_task_id = fallback_task_id  # here: a confident choice with no task (not a timeout hand-off)
        self.threshold = float(threshold)
        if warehouse_conn_id is not None and (not isinstance(warehouse_conn_id, str) or not warehouse_conn_id.strip()):
            raise ConfigurationError(f"warehouse_conn_id must be an Airflow connection id, got {warehouse_conn_id!r}")
        self.warehouse_conn_id = warehouse_conn_id

    def request_text(self) -> str:
        return self.request

    def build_graph(self, runtime: AgentRuntime, resources: Any, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.task_router import build_graph

        if not self.warehouse_conn_id:
            return build_graph(runtime, threshold=self.threshold)
        from airflow_aimod.operators._knowledge import router_knowledge

        agents, words = router_knowledge(self.warehouse_conn_id)
        return build_graph(runtime, threshold=self.threshold, agents=agents, schema=words)

    def branch_targets(self) -> list[str]:
        targets = [*self.agent_tasks.values(), self.human_review_task_id, self.fallback_task_id]
        return [t for t in targets if t]

    def branch_for(self, decision: Mapping[str, Any]) -> str:
        """The task id to follow for ``decision``."""
        if decision.get("decision") != DISPATCH:
            return self.human_review_task_id
        task_id = self.agent_tasks.get(decision.get("agent") or "")
        return task_id or self.fallback_task_id or self.human_review_task_id

    def finish(self, result: RunResult, context: Context) -> dict[str, Any]:
        """Push the decision and follow exactly one branch (the router never fails on an escalation)."""
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY, outcome_of

        out = outcome_of(result, self.spec)
        decision = {**out["result"], "status": out["status"], "reason": out["reason"], "trace_id": out["trace_id"],
                    "token_usage": out["token_usage"], "request": self.request, "error": out["error"]}
        if not decision.get("decision"):
            decision["decision"] = "human_review"
        if out["status"] in self.fail_on_status:
            self._fail(out, context)
        decision["branch"] = branch = self.branch_for(decision)
        ti = context["ti"]
        ti.xcom_push(key=TRACE_XCOM_KEY, value=decision["trace_id"])
        # Pushed before branching: skipping the other branches ends execute() with an exception
        # (DownstreamTasksSkipped), so a returned value would never reach XCom.
        ti.xcom_push(key="return_value", value=decision)
        self.log.info("route: agent=%s confidence=%.2f decision=%s → %s (trace %s)", decision.get("agent"),
                      decision.get("confidence") or 0.0, decision["decision"], branch, decision["trace_id"])
        self.do_branch(context, branch)
        return decision
