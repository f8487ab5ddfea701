"""TaskRouterOperator: branch the DAG on the classifier's confidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.branch import BaseBranchOperator

from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.routing import DEFAULT_THRESHOLD, DISPATCH
from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context


class TaskRouterOperator(BaseBranchOperator):
    """Classify ``request`` and follow the branch of the chosen agent.

    Confidence at or above ``threshold`` → the task mapped to the agent in
    ``agent_tasks``; below it → ``human_review_task_id``. A confident choice of an
    agent with no task in this DAG → ``fallback_task_id`` (or human review). The
    decision (agent, confidence, scores, rationale, trace id) is the task's XCom
    return value; the trace id is also pushed as ``aimod_trace_id`` for downstream agents.

    :param request: the request, templated.
    :param agent_tasks: agent name → downstream task id.
    :param human_review_task_id: where low-confidence requests go.
    :param fallback_task_id: where confident requests for an unmapped agent go.
    :param threshold: minimum confidence to dispatch without a person (0 < t ≤ 1).
    :param llm_conn_id: an ``aimod_llm`` connection id, or ``"offline"``.
    """

    template_fields: Sequence[str] = ("request", "llm_conn_id")
    ui_color = "#f7e6c4"

    def __init__(self, *, request: str, agent_tasks: Mapping[str, str], human_review_task_id: str = "human_review",
                 fallback_task_id: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                 llm_conn_id: str = "aimod_llm_default", checkpoint_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not agent_tasks:
            raise ConfigurationError("agent_tasks is empty: map at least one agent name to a downstream task id")
        for name in agent_tasks:
            if name == "task_router":
                raise ConfigurationError("the router cannot route to itself; remove 'task_router' from agent_tasks")
            get_agent(name)
        if not 0.0 < threshold <= 1.0:
            raise ConfigurationError(f"threshold must be in (0, 1], got {threshold}")
        self.request = request
        self.agent_tasks = dict(agent_tasks)
        self.human_review_task_id = human_review_task_id
        self.fallback_task_id = fallback_task_id
        self.threshold = threshold
        self.llm_conn_id = llm_conn_id
        self.checkpoint_url = checkpoint_url

    def classify(self, context: Context) -> dict[str, Any]:
        """Run the router agent; return its decision with the trace id."""
        from airflow_aimod.core.agents.task_router import build_graph
        from airflow_aimod.operators._execution import run_agent

        spec = get_agent("task_router")
        result = run_agent(spec=spec, envelope=spec.envelope, llm_conn_id=self.llm_conn_id, request=self.request,
                           context=context, build=lambda rt: build_graph(rt, threshold=self.threshold),
                           trace_id=None, checkpoint_url=self.checkpoint_url)
        state = result.state
        decision = dict(state.get("result") or {})
        decision.update(trace_id=state["trace_id"], status=state["status"], reason=state.get("reason", ""),
                        token_usage=state.get("token_usage"), request=self.request)
        decision.setdefault("decision", "human_review")
        return decision

    def branch_for(self, decision: Mapping[str, Any]) -> str:
        """The task id to follow for ``decision``."""
        if decision.get("decision") != DISPATCH:
            return self.human_review_task_id
        task_id = self.agent_tasks.get(decision.get("agent") or "")
        return task_id or self.fallback_task_id or self.human_review_task_id

    def choose_branch(self, context: Context) -> str:
        return self.branch_for(self.classify(context))

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY

        decision = self.classify(context)
        branch = self.branch_for(decision)
        decision["branch"] = branch
        ti = context["ti"]
        ti.xcom_push(key=TRACE_XCOM_KEY, value=decision["trace_id"])
        # Pushed before branching: skipping the other branches ends execute() with an exception
        # (DownstreamTasksSkipped), so a returned value would never reach XCom.
        ti.xcom_push(key="return_value", value=decision)
        self.log.info("route: agent=%s confidence=%.2f decision=%s → %s (trace %s)", decision.get("agent"),
                      decision.get("confidence") or 0.0, decision["decision"], branch, decision["trace_id"])
        self.do_branch(context, branch)
        return decision
