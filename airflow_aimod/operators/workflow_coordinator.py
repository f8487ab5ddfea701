"""WorkflowCoordinatorOperator: turn a multi-step request into a bounded plan (XCom) that plan steps run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_aimod.core.planning import STEP_ACTIONS
from airflow_aimod.core.routing import DEFAULT_THRESHOLD
from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime


class WorkflowCoordinatorOperator(AgentOperator):
    """Plan ``request`` as ordered steps, each handed to one agent; nothing runs here.

    The plan (``decision``: ``run``, ``unsupported`` or ``refused``; ``steps`` with ``id``, ``agent``,
    ``request``, ``depends_on``, ``confidence``, ``status``, ``token_budget``) goes to XCom, where
    ``PlanStepOperator`` tasks (see ``plan_step_tasks``) pick their step. A step chosen with less than
    ``threshold`` confidence, a step whose agent needs approval, or a plan that breaks a bound (more than
    ``max_steps`` steps, deeper than ``max_depth``, a cycle, an agent twice on one path) is shown whole on
    Required Actions with ``hitl=True`` (approve, reject or edit the steps; an edited plan is checked again).

    :param request: the multi-step request (templated).
    :param conn_id: the warehouse the steps work on: its table and column words inform the routing.
    :param agents: the agents steps may use (default: every agent a step can run, ``core.planning.STEP_ACTIONS``:
        sql_agent, data_profiler, anomaly_detector, schema_validator, summarizer, report_generator, alert_manager).
    :param max_steps: most steps in a plan (at most the number of step tasks in the DAG).
    :param max_depth: longest chain of dependent steps.
    :param threshold: lowest routing confidence that needs no person.
    :param plan_token_budget: tokens all steps together may spend, split evenly across them up front and
        reserved in the DAG run's token ledger (``dag_run_token_budget``) when the plan is accepted; a run with
        less left sends the plan to a person (who may lower the steps' ``token_budget``) or refuses it.
    """

    agent_name = "workflow_coordinator"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "request", "conn_id")
    ui_color = "#f7e6c4"

    def __init__(self, *, request: str, conn_id: str | None = None, agents: Iterable[str] | None = None,
                 max_steps: int = 5, max_depth: int = 4, threshold: float = DEFAULT_THRESHOLD,
                 plan_token_budget: int = 24_000, **kwargs: Any) -> None:
        from airflow_aimod.core.planning import PlanPolicy

        super().__init__(**kwargs)
        names = list(agents) if agents is not None else list(STEP_ACTIONS)
        if unknown := [n for n in names if n not in STEP_ACTIONS]:
            raise ConfigurationError(f"agents {unknown} cannot run as plan steps; choose from {sorted(STEP_ACTIONS)}")
        if not names:
            raise ConfigurationError(f"agents is empty: name at least one of {sorted(STEP_ACTIONS)}")
        self.policy = PlanPolicy(runnable={n: STEP_ACTIONS[n] for n in names}, max_steps=max_steps,
                                 max_depth=max_depth, threshold=threshold, token_budget=plan_token_budget)
        self.request, self.conn_id = request, conn_id

    def request_text(self) -> str:
        return self.request

    def build_graph(self, runtime: AgentRuntime, resources: Any, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.workflow_coordinator import CoordinatorTools, build_graph
        from airflow_aimod.core.registry import routing_catalog

        agents, words = routing_catalog(), []
        if self.conn_id:
            from airflow_aimod.operators._knowledge import router_knowledge

            agents, words = router_knowledge(self.conn_id)
        return build_graph(runtime, CoordinatorTools(self.policy, agents=agents, schema=words,
                                                     reserve=self._reservation(context)))

    def _reservation(self, context: Context) -> Any:
        """``reserve(tokens)`` in this DAG run's ledger (None when the AiMod store is off)."""
        from airflow_aimod.core.store.plan_ledger import PlanReservation
        from airflow_aimod.observability.sinks import shared_store, store_url
        from airflow_aimod.operators._budget import configured_run_budget

        url, ti = store_url(), context["ti"]
        if url is None:
            return None
        limit = self.dag_run_token_budget if self.dag_run_token_budget is not None else configured_run_budget()
        return PlanReservation(shared_store(url), dag_id=ti.dag_id, run_id=ti.run_id, plan_task_id=self.task_id,
                               run_limit=limit).hold
