"""AgentOperator: the base every agent operator extends.

Constructor: keyword-only, no I/O; the envelope (the registry default plus the task's
overrides) is validated here, so a policy typo fails the DAG parse. ``execute`` runs
the agent's graph and pushes its outcome to XCom; statuses listed in
``fail_on_status`` then fail the task, after the outcome is safely in XCom.
With ``hitl=True`` a graph that pauses for a person becomes an Airflow HITL request and
the task waits; ``execute_complete`` re-enters ``execute()`` to resume it (see ``approval``).
With ``fallback_task_id``/``human_task_id`` the task branches on the outcome: a timeout goes to
the fallback task, other escalations to the human task, anything else down the normal path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.standard.operators.branch import BranchMixIn
from airflow.sdk import BaseOperator

from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.state import TERMINAL_STATUSES, Status
from airflow_aimod.exceptions import AgentRunFailed, ConfigurationError
from airflow_aimod.operators._budget import check_run_budget
from airflow_aimod.operators._envelopes import configured_overrides, layered
from airflow_aimod.operators._escalation import branches, check_routes, escalation_target
from airflow_aimod.operators.approval import HumanApprovalMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_FAIL_ON = (Status.FAILED.value, Status.BUDGET_EXCEEDED.value)


class AgentOperator(HumanApprovalMixin, BaseOperator, BranchMixIn):
    """Runs one registry agent as an Airflow task. Subclasses set ``agent_name`` and ``build_graph``.

    Subclasses that open resources for the graph wrap ``execute()``; a resumed task re-enters it.
    HITL arguments (``hitl``, ``assigned_users``, ...) are documented on ``HumanApprovalMixin``.

    :param token_budget: the agent's token limit: an int, or task type → int (``{"nl2sql": 6000,
        "total": 9000}``); overrides the envelope's.
    :param dag_run_token_budget: tokens every agent task of one DAG run may spend together
        (also from ``default_args`` or ``[aimod] dag_run_token_budget``); counted in the AiMod store.
    :param call_timeout_s: deadline of each LLM and database call (default: the agent's tier timeout).
    :param fallback_task_id: direct downstream task that takes over when the agent hands off to its
        fallback agent (on a timeout); ``human_task_id``: the one for a person (other errors, budget,
        envelope). With either set the task branches and an escalated outcome does not fail it.
    """

    agent_name: ClassVar[str]
    template_fields: Sequence[str] = ("llm_conn_id", "trace_id")
    ui_color = "#e8e1f7"

    def __init__(self, *, llm_conn_id: str = "aimod_llm_default", envelope: Mapping[str, Any] | None = None,
                 token_budget: int | Mapping[str, int] | None = None, trace_id: str | None = None,
                 fail_on_status: Collection[str] = DEFAULT_FAIL_ON, checkpoint_url: str | None = None,
                 dag_run_token_budget: int | None = None, call_timeout_s: float | None = None,
                 fallback_task_id: str | None = None, human_task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = get_agent(self.agent_name)
        if call_timeout_s is not None:
            if isinstance(call_timeout_s, bool) or not isinstance(call_timeout_s, (int, float)) or call_timeout_s <= 0:
                raise ConfigurationError(f"call_timeout_s must be a positive number of seconds, got {call_timeout_s!r}")
            self.spec = replace(self.spec, timeout_s=float(call_timeout_s))
        self.dag_run_token_budget = check_run_budget(dag_run_token_budget)
        check_routes(fallback_task_id, human_task_id)
        self.fallback_task_id, self.human_task_id = fallback_task_id, human_task_id
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
            checkpoint_url=self.checkpoint_url, resume=self._resume, dag_run_token_budget=self.dag_run_token_budget,
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
        if self.fallback_task_id or self.human_task_id:
            return self._branch(out, context)
        if out["status"] in self.fail_on_status:
            self._fail(out, context)
        return out

    def _fail(self, out: dict[str, Any], context: Context, why: str | None = None) -> NoReturn:
        """Keep the outcome in XCom key ``aimod_outcome``, then fail the task saying ``why``."""
        context["ti"].xcom_push(key="aimod_outcome", value=out)
        why = why or f"agent {self.spec.name} ended with status {out['status']}: {out['reason']}"
        raise AgentRunFailed(f"{why} (trace {out['trace_id']}; the full outcome is in XCom key 'aimod_outcome')")

    def _branch(self, out: dict[str, Any], context: Context) -> dict[str, Any]:
        """Follow the fallback or human task, or the normal path; only an unrouted status can fail the task."""
        routed = escalation_target(out, fallback_task_id=self.fallback_task_id, human_task_id=self.human_task_id)
        follow = branches(out, fallback_task_id=self.fallback_task_id, human_task_id=self.human_task_id,
                          downstream=self.downstream_task_ids, task_id=self.task_id)
        if routed is None and out["status"] in self.fail_on_status:
            self._fail(out, context)
        out["branch"] = follow
        # Pushed before branching: skipping the other branches ends execute() with an exception.
        context["ti"].xcom_push(key="return_value", value=out)
        self.log.info("agent %s: %s → %s", self.spec.name, out.get("escalate_to") or "normal path", follow)
        self.do_branch(context, follow)
        return out
