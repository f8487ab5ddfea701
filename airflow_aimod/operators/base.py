"""AgentOperator: the base every agent operator extends.

Constructor: keyword-only, no I/O; the envelope (the registry default plus the task's
overrides) is validated here, so a policy typo fails the DAG parse. ``execute`` runs
the agent's graph and pushes its outcome to XCom; statuses listed in
``fail_on_status`` then fail the task, after the outcome is safely in XCom.
With ``hitl=True`` a graph that pauses for a person becomes an Airflow HITL request and
the task waits; ``execute_complete`` re-enters ``execute()`` to resume it (see ``approval``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.state import TERMINAL_STATUSES, Status
from airflow_aimod.exceptions import AgentRunFailed, ConfigurationError
from airflow_aimod.operators._envelopes import configured_overrides, layered
from airflow_aimod.operators.approval import HumanApprovalMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_FAIL_ON = (Status.FAILED.value, Status.BUDGET_EXCEEDED.value)


class AgentOperator(HumanApprovalMixin, BaseOperator):
    """Runs one registry agent as an Airflow task. Subclasses set ``agent_name`` and ``build_graph``.

    Subclasses that open resources for the graph wrap ``execute()``; a resumed task re-enters it.
    HITL arguments (``hitl``, ``assigned_users``, ...) are documented on ``HumanApprovalMixin``.
    """

    agent_name: ClassVar[str]
    template_fields: Sequence[str] = ("llm_conn_id", "trace_id")
    ui_color = "#e8e1f7"

    def __init__(self, *, llm_conn_id: str = "aimod_llm_default", envelope: Mapping[str, Any] | None = None,
                 token_budget: int | None = None, trace_id: str | None = None,
                 fail_on_status: Collection[str] = DEFAULT_FAIL_ON, checkpoint_url: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = get_agent(self.agent_name)
        overrides = layered(configured_overrides(self.agent_name), envelope or {})
        if token_budget is not None:
            overrides["token_budget"] = token_budget
        self.envelope = self.spec.envelope.override(overrides)
        if unknown := set(fail_on_status) - TERMINAL_STATUSES:
            raise ConfigurationError(f"fail_on_status has unknown statuses {sorted(unknown)}; "
                                     f"use any of {sorted(TERMINAL_STATUSES)}")
        self.llm_conn_id = llm_conn_id
        self.trace_id = trace_id
        self.fail_on_status = tuple(fail_on_status)
        self.checkpoint_url = checkpoint_url

    def request_text(self) -> str:
        """The request this task works on (templated by the subclass)."""
        raise NotImplementedError

    def dialect(self) -> str:
        """The SQL dialect of the data this agent touches."""
        return "sqlite"

    def build_graph(self, runtime: Any, context: Context) -> Any:
        """Return the agent's uncompiled StateGraph."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_aimod.operators._execution import run_agent, upstream_trace_id

        result = run_agent(
            spec=self.spec, envelope=self.envelope, llm_conn_id=self.llm_conn_id, request=self.request_text(),
            context=context, build=lambda runtime: self.build_graph(runtime, context),
            trace_id=self.trace_id or upstream_trace_id(context, self), dialect=self.dialect(),
            checkpoint_url=self.checkpoint_url, resume=self._resume,
        )
        if result.paused and self.hitl:
            self.ask_human(result, context)  # parks the task; the answer arrives in execute_complete
        return self.finish(result, context)

    def finish(self, result: Any, context: Context) -> dict[str, Any]:
        """Push the outcome, log a one-line summary, fail the task for ``fail_on_status``."""
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY, outcome_of

        out = outcome_of(result)
        context["ti"].xcom_push(key=TRACE_XCOM_KEY, value=out["trace_id"])
        self.log.info("agent %s finished with status %s (trace %s): %s", self.spec.name, out["status"],
                      out["trace_id"], out["reason"])
        if out["status"] in self.fail_on_status:
            context["ti"].xcom_push(key="aimod_outcome", value=out)
            raise AgentRunFailed(f"agent {self.spec.name} ended with status {out['status']}: {out['reason']} "
                               f"(trace {out['trace_id']}; the full outcome is in XCom key 'aimod_outcome')")
        return out
