"""AgentOperator: the one base every agent operator extends (the router included).

Constructor: keyword-only, no I/O; the envelope (the registry default, ``[aimod] envelopes``, then
the task's overrides) is validated here, so a policy typo fails the DAG parse. ``execute`` opens the
task's resources (``open_resources()``: a warehouse, an API client), runs the agent's graph and pushes its
outcome to XCom. A pause becomes an Airflow HITL request (``hitl=True``) that ``execute_complete``
answers; without ``hitl`` nobody would be asked, so the task fails saying so (or branches to
``human_task_id``). With ``fallback_task_id``/``human_task_id`` the task branches on the outcome: a
timeout goes to the fallback task, other escalations to the human task, anything else down the normal
path. A task that fails raises ``AirflowFailException`` when another try would fail the same way (a
spent budget, a denied action, a rejection) and a plain error when it may not (a timeout, a 5xx, a
dropped connection), so Airflow's ``retries`` are spent only where they can help.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.providers.standard.operators.branch import BranchMixIn
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.state import TERMINAL_STATUSES, Status
from airflow_aimod.exceptions import AgentRunFailed, ConfigurationError
from airflow_aimod.links import AimodTraceLink, RequiredActionsLink
from airflow_aimod.operators._envelopes import configured_overrides, layered
from airflow_aimod.operators._escalation import branches, check_routes, escalation_target
from airflow_aimod.operators.approval import HitlSettings

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.runner import RunResult
    from airflow_aimod.operators._execution import Resume

DEFAULT_FAIL_ON = (Status.FAILED.value, Status.BUDGET_EXCEEDED.value)
GATE_FAIL_ON = (*DEFAULT_FAIL_ON, Status.REFUSED.value, Status.ESCALATED.value)
"""Data checks (profiler, validator, anomaly detector) fail when they cannot run: a gate that could not look
must not let the pipeline through. The escape hatch is explicit: ``fail_on_status=DEFAULT_FAIL_ON``."""


class PermanentAgentFailure(AirflowFailException, AgentRunFailed):
    """Raised when an agent task fails in a way another try would repeat: Airflow does not retry it."""


class AgentOperator(BaseOperator, BranchMixIn):
    """Runs one registry agent as an Airflow task. Subclasses set ``agent_name`` and implement
    ``request_text`` and ``build_graph``; those that need a warehouse or a client open it in ``open_resources``.

    :param llm_conn_id: an ``aimod_llm`` connection id, or ``"offline"`` (the built-in engine, no key).
    :param envelope: overrides of the agent's permission envelope (``Envelope.to_dict()`` fields).
    :param token_budget: the agent's token limit: an int, or task type → int (``{"nl2sql": 6000,
        "total": 9000}``; the task types are the agent's, see ``aimod agents``); overrides the envelope's.
    :param dag_run_token_budget: tokens every agent task of one DAG run may spend together
        (also from ``default_args`` or ``[aimod] dag_run_token_budget``); counted in the AiMod store.
    :param call_timeout_s: deadline of each LLM and database call (default: the agent's tier timeout).
    :param trace_id: the request's trace id (default: an upstream router's, else a new one).
    :param fail_on_status: outcome statuses that fail the task (default ``failed`` and ``budget_exceeded``;
        add ``refused`` to fail when the agent says it cannot do it, ``escalated`` for any hand-off).
    :param fallback_task_id: direct downstream task that takes over when the agent hands off to its
        fallback agent (on a timeout); ``human_task_id``: the one for a person (other errors, budget,
        envelope, an approval nobody can give). With either set the task branches.
    :param hitl: ``True``: a pause becomes a request on Airflow's Required Actions page and the task
        waits for it; ``assigned_users``, ``notifiers``, ``response_timeout`` and ``timeout_outcome``
        (``"reject"`` or ``"approve"``) shape it (see ``HitlSettings``). Unless ``retries`` is set, such a
        task gets one retry after 15 s; a retry carries on the earlier try's paused or decided thread (never
        re-drafts, never asks twice after a decision, never runs the approved action twice) — see
        ``_outcomes.with_answer_retry`` and ``core.runner.AgentRunner.carry_on``.
    :param checkpoint_url: where paused runs are kept (default ``[aimod] checkpoint_url``).
    """

    agent_name: ClassVar[str]
    template_fields: Sequence[str] = ("llm_conn_id", "trace_id")
    ui_color = "#e8e1f7"
    inherits_from_skipmixin = True  # it can branch: clearing a skipped downstream task honours the decision
    operator_extra_links = (AimodTraceLink(), RequiredActionsLink())

    def __init__(self, *, llm_conn_id: str = "aimod_llm_default", envelope: Mapping[str, Any] | None = None,
                 token_budget: int | Mapping[str, int] | None = None, trace_id: str | None = None,
                 fail_on_status: Collection[str] = DEFAULT_FAIL_ON, checkpoint_url: str | None = None,
                 dag_run_token_budget: int | None = None, call_timeout_s: float | None = None,
                 fallback_task_id: str | None = None, human_task_id: str | None = None, hitl: bool = False,
                 assigned_users: Any = None, notifiers: Any = None, response_timeout: timedelta | None = None,
                 timeout_outcome: str = "reject", **kwargs: Any) -> None:
        from airflow_aimod.operators._outcomes import with_answer_retry, with_failure_net

        super().__init__(**with_answer_retry(with_failure_net(kwargs), hitl=hitl))
        self.spec = _with_timeout(get_agent(self.agent_name), call_timeout_s)
        if dag_run_token_budget is not None:  # the budget module (its run-time classes) loads only when one is set
            from airflow_aimod.operators._budget import check_run_budget

            dag_run_token_budget = check_run_budget(dag_run_token_budget)
        self.dag_run_token_budget = dag_run_token_budget
        check_routes(fallback_task_id, human_task_id)
        self.fallback_task_id, self.human_task_id = fallback_task_id, human_task_id
        overrides = layered(configured_overrides(self.agent_name), envelope or {})
        if token_budget is not None:
            overrides["token_budget"] = token_budget
        self.envelope = self.spec.envelope_with(overrides)
        if unknown := set(fail_on_status) - TERMINAL_STATUSES:
            raise ConfigurationError(f"fail_on_status has unknown statuses {sorted(unknown)}; "
                                     f"use any of {sorted(TERMINAL_STATUSES)}")
        self.hitl_settings = HitlSettings.of(hitl=hitl, assigned_users=assigned_users, notifiers=notifiers,
                                             response_timeout=response_timeout, timeout_outcome=timeout_outcome)
        self.llm_conn_id, self.trace_id, self.checkpoint_url = llm_conn_id, trace_id, checkpoint_url
        self.fail_on_status = tuple(fail_on_status)
        self._host: BaseOperator | None = None
        self._plan_task_id: str | None = None

    @property
    def hitl(self) -> bool:
        return self.hitl_settings.enabled

    def run_inside(self, host: BaseOperator, *, plan_task_id: str | None = None) -> AgentOperator:
        """Run as part of ``host``'s task instance (a plan step), not as a task of its own: ``host``'s DAG answers
        the branch checks, and with ``plan_task_id`` every LLM call draws from that plan's token reservation."""
        self._host, self._plan_task_id = host, plan_task_id
        return self

    # ------------------------------------------------------------------ what a subclass provides

    def request_text(self) -> str:
        """The request this task works on (templated by the subclass)."""
        raise NotImplementedError

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[Any]:
        """What the graph needs opened for this try (a warehouse, a client); closed when the task ends or parks."""
        yield None

    def dialect_of(self, resources: Any) -> str:
        """The SQL dialect of the data the agent touches through ``resources``."""
        return "sqlite"

    def build_graph(self, runtime: AgentRuntime, resources: Any, context: Context) -> StateGraph:
        """Return the agent's uncompiled StateGraph, given what ``open_resources`` opened."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the run

    def execute(self, context: Context) -> dict[str, Any]:
        return self.run_graph(context, resume=None)

    def execute_complete(self, context: Context, event: dict[str, Any], thread_id: str,
                         trace_id: str | None = None, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume the graph with the person's answer (runs on a fresh instance, reads only its arguments)."""
        from airflow_aimod.core.approval import ApprovalRequest
        from airflow_aimod.operators._execution import Resume
        from airflow_aimod.operators.approval import decision_from_event

        decision = decision_from_event(event, ApprovalRequest.from_payload(request or {}))
        self.log.info("HITL answer for thread %s: %s by %s", thread_id, decision.decision, decision.reviewer)
        return self.run_graph(context, resume=Resume(thread_id=thread_id, decision=decision, trace_id=trace_id))

    def run_graph(self, context: Context, *, resume: Resume | None) -> dict[str, Any]:
        """Open the resources, run (or resume) the graph, then ask a person or finish (timing each phase)."""
        from airflow_aimod.core.phases import PhaseTimer
        from airflow_aimod.core.tracing import new_trace_id
        from airflow_aimod.operators._execution import run_agent, upstream_trace_id
        from airflow_aimod.operators._outcomes import tracked_run

        phases = PhaseTimer()
        trace = (resume and resume.trace_id) or self.trace_id or upstream_trace_id(context, self) or new_trace_id()
        request = _safe_request(self)
        with ExitStack() as tracking:
            with phases.phase("started"):
                tracking.enter_context(tracked_run(context, agent=self.spec.name, trace_id=trace, request=request))
            self.check_branch_targets()
            with ExitStack() as opened:
                with phases.phase("resources"):
                    resources = opened.enter_context(self.open_resources(context))
                result = run_agent(
                    spec=self.spec, envelope=self.envelope, llm_conn_id=self.llm_conn_id, request=self.request_text(),
                    context=context, build=lambda runtime: self.build_graph(runtime, resources, context),
                    trace_id=trace, dialect=self.dialect_of(resources), checkpoint_url=self.checkpoint_url,
                    resume=resume, dag_run_token_budget=self.dag_run_token_budget, plan_task_id=self._plan_task_id,
                    phases=phases)
            if result.paused and self.hitl:
                from airflow_aimod.operators._execution import TRACE_XCOM_KEY

                context["ti"].xcom_push(key=TRACE_XCOM_KEY, value=result.state.get("trace_id"))  # the trace link
                decided = result.carried_on and bool(result.state.get("approvals"))
                self._ask(result, context, resumed=resume is not None or decided)
            return self.finish(result, context)

    def _ask(self, result: RunResult, context: Context, *, resumed: bool) -> NoReturn:
        from airflow_aimod.core.approval import ApprovalRequest
        from airflow_aimod.operators.approval import ask_human

        request = ApprovalRequest.from_payload(result.interrupt or {})
        if resumed:
            raise PermanentAgentFailure(f"the agent asked a second question after the answer ({request.action_id}); "
                                        "one Airflow task instance holds one HITL request — split the work in two tasks")
        ask_human(self.hitl_settings, request, thread_id=result.thread_id, context=context, log=self.log)

    def finish(self, result: RunResult, context: Context) -> dict[str, Any]:
        """Push the outcome, log a one-line summary, then branch or fail as the outcome says."""
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY, outcome_of

        out = outcome_of(result, self.spec)
        if out["status"] == Status.NEEDS_APPROVAL.value:
            out["escalate_to"] = "human"  # hitl is off: nobody will be asked here
        context["ti"].xcom_push(key=TRACE_XCOM_KEY, value=out["trace_id"])
        self.log.info("agent %s finished with status %s (trace %s): %s", self.spec.name, out["status"],
                      out["trace_id"], out["reason"])
        if out["status"] == Status.REFUSED.value and Status.REFUSED.value not in self.fail_on_status:
            self.log.warning("agent %s refused: %s — the task succeeds; add 'refused' to fail_on_status to fail "
                             "it instead", self.spec.name, out["reason"])
        if self.fallback_task_id or self.human_task_id:
            return self._branch(out, context)
        if out["status"] == Status.NEEDS_APPROVAL.value:
            self._fail(out, context, f"agent {self.spec.name} needs a person's approval ({out['reason']}) but "
                                     "hitl is off, so nobody is asked: set hitl=True (the request then waits on "
                                     "Required Actions) or human_task_id (a task for a person)")
        if out["status"] in self.fail_on_status:
            self._fail(out, context)
        return out

    def _fail(self, out: dict[str, Any], context: Context, why: str | None = None) -> NoReturn:
        """Keep the outcome in XCom key ``aimod_outcome``, then fail the task saying ``why``.

        Another try is allowed only when the agent's error says it may help (``error.retryable``).
        """
        context["ti"].xcom_push(key="aimod_outcome", value=out)
        why = why or f"agent {self.spec.name} ended with status {out['status']}: {out['reason']}" + _gate_hint(self, out)
        message = f"{why} (trace {out['trace_id']}; the full outcome is in XCom key 'aimod_outcome')"
        error = AgentRunFailed(message) if (out.get("error") or {}).get("retryable") else PermanentAgentFailure(message)
        error.aimod_outcome = out  # the failure path records it (operators._outcomes)
        raise error

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

    def branch_targets(self) -> list[str]:
        """The task ids this task may branch to; each must be a direct downstream task."""
        return [t for t in (self.fallback_task_id, self.human_task_id) if t]

    def check_branch_targets(self) -> None:
        """Fail before any model call when a branch target is not a direct downstream task, naming it."""
        from airflow_aimod.operators._escalation import missing_targets

        owner = self._host or self
        missing_targets(self.task_id, self.branch_targets(), self.downstream_task_ids,
                        (getattr(owner.dag, "task_dict", None) or {}) if owner.has_dag() else {})


def _gate_hint(task: AgentOperator, out: dict[str, Any]) -> str:
    if out["status"] not in (Status.REFUSED.value, Status.ESCALATED.value) or task.fail_on_status != GATE_FAIL_ON:
        return ""
    return (" — a data check that cannot run fails by default; to let the pipeline through anyway pass "
            "fail_on_status=('failed', 'budget_exceeded')")


def _safe_request(task: AgentOperator) -> str:
    """The request text for the store ('' when it cannot be rendered: the run then fails on it itself)."""
    try:
        return str(task.request_text() or "")
    except Exception:
        return ""


def _with_timeout(spec: Any, call_timeout_s: Any) -> Any:
    if call_timeout_s is None:
        return spec
    if isinstance(call_timeout_s, bool) or not isinstance(call_timeout_s, (int, float)) or call_timeout_s <= 0:
        raise ConfigurationError(f"call_timeout_s must be a positive number of seconds, got {call_timeout_s!r}")
    return replace(spec, timeout_s=float(call_timeout_s))
