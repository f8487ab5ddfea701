"""The one HITL path of every agent operator: any agent's ``ApprovalRequest`` becomes an Airflow HITL request.

When an agent graph pauses (``AgentRuntime.ask_person``) and the operator has ``hitl=True``, the
task writes a native Airflow HITL request (a ``hitl_detail`` row, shown on Required Actions) with
the request's subject, Markdown body, options and editable fields, then parks: Airflow 3.3+ raises
``TaskAwaitingInput`` (state ``awaiting_input``: no worker slot, no triggerer; the scheduler enforces
``response_timeout``), Airflow 3.1–3.2 defer to the standard provider's ``HITLTrigger``. This module
knows no agent's fields: what is shown and how a decision maps back belong to the agent.

The answer arrives in ``execute_complete`` on a fresh operator instance, which turns the response
into an ``ApprovalDecision`` with ``ApprovalRequest.decide`` and resumes the graph from its checkpoint
on the thread id the pause stored in the task's ``next_kwargs``.

Effects are not repeated. LangGraph is at-least-once per node: a node re-runs when its result was
not checkpointed. Nodes that finished before the pause were checkpointed before the task parked, so
the resume does not run them again (no second LLM call, no second schema read). The interrupting node
re-runs from its start, so everything before its ``ask_person`` must be free of side effects. The
question is asked once: Airflow accepts one answer per request (a second PATCH gets 409), the resume
writes no new request, and a second pause in the same task instance fails the task loudly (Airflow
keeps one request per task-instance try). A retry is a new attempt — a new thread, a new question —
because the failed try may have failed after the answer (e.g. the approved query timed out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_aimod.core.decisions import APPROVE, REJECT
from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_aimod.core.approval import ApprovalDecision, ApprovalRequest

TIMEOUT_OUTCOMES = (REJECT, APPROVE)
APPROVAL_XCOM_KEY = "aimod_approval"  # the open request, read by sensors.approval.AgentApprovalSensor


@dataclass(frozen=True)
class HitlSettings:
    """How an agent task asks a person: on or off, who may answer, who is told, how long to wait.

    :param enabled: ``True``: a pause becomes an Airflow HITL request and the task waits for it.
        ``False``: a pause fails the task (nobody would be asked) with the request in XCom.
    :param assigned_users: who may answer (``{"id", "name"}`` dicts); with assignees set, nobody
        else can answer — not even an admin.
    :param notifiers: Airflow notifiers called once the request is written; the context they get
        holds the request under ``aimod_approval`` (subject, body, options, trace id).
    :param response_timeout: how long to wait; then ``timeout_outcome`` (``reject`` or ``approve``) applies.
    """

    enabled: bool = False
    assigned_users: tuple[Mapping[str, str], ...] | None = None
    notifiers: tuple[Any, ...] = ()
    response_timeout: timedelta | None = None
    timeout_outcome: str = REJECT

    @classmethod
    def of(cls, *, hitl: bool, assigned_users: Any, notifiers: Any, response_timeout: Any,
           timeout_outcome: str) -> HitlSettings:
        """Validated settings from operator arguments (errors say what to change)."""
        if not hitl and (assigned_users or notifiers or response_timeout):
            raise ConfigurationError("assigned_users, notifiers and response_timeout need hitl=True")
        if timeout_outcome not in TIMEOUT_OUTCOMES:
            raise ConfigurationError(f"timeout_outcome must be one of {list(TIMEOUT_OUTCOMES)}, got {timeout_outcome!r}")
        if response_timeout is not None and (not isinstance(response_timeout, timedelta)
                                             or response_timeout <= timedelta(0)):
            raise ConfigurationError(f"response_timeout must be a positive timedelta, got {response_timeout!r}")
        return cls(bool(hitl), _users(assigned_users), _notifiers(notifiers), response_timeout, timeout_outcome)


def hitl_params(request: ApprovalRequest) -> dict[str, dict[str, Any]]:
    """Serialized HITL form fields, one per editable field of the request, pre-filled with its value."""
    from airflow.sdk import Param

    approve = request.option_for(APPROVE)
    return {f.name: Param(f.value, type="string", minLength=1, format="multiline",
                          description=f"{f.description}; edit it and choose {approve} to use your version"
                          if f.description else f"edit it and choose {approve} to use your version").serialize()
            for f in request.editable}


def decision_from_event(event: Mapping[str, Any], request: ApprovalRequest) -> ApprovalDecision:
    """The decision a HITL ``event`` carries; anything unexpected (an error event) is a rejection."""
    from airflow_aimod.core.approval import ApprovalDecision

    if "error" in event:
        return ApprovalDecision(REJECT, f"airflow ({event.get('error_type', 'error')})")
    user = event.get("responded_by_user") or {}
    reviewer = user.get("name") or user.get("id") or ("timeout" if event.get("timedout") else "unknown")
    return request.decide(list(event.get("chosen_options") or []), edited=event.get("params_input") or {},
                          reviewer=str(reviewer))


def required_actions_url(context: Any) -> str | None:
    """The Airflow UI page where the request is answered, when ``[api] base_url`` is set."""
    from airflow.sdk.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if not base:
        return None
    ti = context["ti"]
    return f"{base}/dags/{ti.dag_id}/runs/{ti.run_id}/tasks/{ti.task_id}/required_actions?map_index={ti.map_index}"


def ask_human(settings: HitlSettings, request: ApprovalRequest, *, thread_id: str, context: Context,
              log: Any) -> NoReturn:
    """Write the HITL request and park the task until it is answered (resumes in ``execute_complete``)."""
    from airflow.providers.standard.version_compat import AIRFLOW_V_3_3_PLUS
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    params, defaults = hitl_params(request), [request.option_for(settings.timeout_outcome)]
    options = [o.label for o in request.options]
    ti_id = context["task_instance"].id
    upsert_hitl_detail(ti_id=ti_id, options=options, subject=request.subject, body=request.body, defaults=defaults,
                       multiple=False, params=params, assigned_users=list(settings.assigned_users or []) or None)
    announced = {"ti_id": str(ti_id), "action_id": request.action_id, "trace_id": request.trace_id,
                 "subject": request.subject, "request": request.to_payload()}
    context["ti"].xcom_push(key=APPROVAL_XCOM_KEY, value=announced)  # what an AgentApprovalSensor waits on
    for notifier in settings.notifiers:
        notifier({**context, APPROVAL_XCOM_KEY: announced})
    log.info("waiting for a person on %s (thread %s, trace %s); answer at %s", request.action_id, thread_id,
             request.trace_id, required_actions_url(context) or "Required Actions")
    resume = {"thread_id": thread_id, "trace_id": request.trace_id, "request": request.to_payload()}
    if AIRFLOW_V_3_3_PLUS:
        from airflow.sdk.exceptions import TaskAwaitingInput

        raise TaskAwaitingInput(method_name="execute_complete", kwargs=resume, timeout=settings.response_timeout)
    _defer_to_trigger(settings, context, options, params, defaults, resume)


def _defer_to_trigger(settings: HitlSettings, context: Context, options: list[str], params: dict,
                      defaults: list[str], resume: dict) -> NoReturn:
    """Airflow 3.1–3.2: the standard provider's HITLTrigger polls for the answer on the triggerer."""
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.sdk.timezone import utcnow

    deadline = utcnow() + settings.response_timeout if settings.response_timeout else None
    trigger = HITLTrigger(ti_id=context["task_instance"].id, options=options, params=params, defaults=defaults,
                          multiple=False, timeout_datetime=deadline)
    context["task"].defer(trigger=trigger, method_name="execute_complete", kwargs=resume)


def _users(value: Any) -> tuple[Mapping[str, str], ...] | None:
    users = [value] if isinstance(value, Mapping) else list(value or [])
    for user in users:
        if not isinstance(user, Mapping) or not {"id", "name"} <= set(user):
            raise ConfigurationError(f"assigned_users entries are {{'id': ..., 'name': ...}} dicts (the auth "
                                     f"manager's user id, e.g. the simple auth manager's username), got {user!r}")
    return tuple({"id": str(u["id"]), "name": str(u["name"])} for u in users) or None


def _notifiers(value: Any) -> tuple[Any, ...]:
    notifiers = [value] if callable(value) else list(value or [])
    if bad := [n for n in notifiers if not callable(n)]:
        raise ConfigurationError(f"notifiers must be Airflow notifiers (callables taking the context), got {bad!r}")
    return tuple(notifiers)


__all__: Sequence[str] = ("APPROVAL_XCOM_KEY", "HitlSettings", "ask_human", "decision_from_event",
                          "required_actions_url")
