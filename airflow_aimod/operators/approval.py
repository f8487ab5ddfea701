"""Airflow human-in-the-loop for agent operators: a paused graph becomes a native HITL request.

When an agent graph calls LangGraph ``interrupt(payload)`` and the operator has ``hitl=True``,
the task writes an Airflow HITL request (a ``hitl_detail`` row, shown on Required Actions)
whose subject and body show what is proposed, then parks: Airflow 3.3+ raises
``TaskAwaitingInput`` (state ``awaiting_input``: no worker slot, no triggerer; the scheduler
enforces ``response_timeout``), Airflow 3.1–3.2 defer to the standard provider's ``HITLTrigger``.

The answer arrives in ``execute_complete`` on a fresh operator instance. It turns the response
into the graph's answer ``{"decision": approve|reject|edit, "sql"?, "reviewer"}`` and re-enters
``execute()`` — so a subclass's set-up (opening the warehouse) runs again — which resumes the
graph from its checkpoint on the thread id the pause stored in the task's ``next_kwargs``.

Effects are not repeated. LangGraph is at-least-once per node: a node re-runs when its result
was not checkpointed. Nodes that finished before the pause were checkpointed before the task
parked, so the resume does not run them again (no second LLM call, no second schema read). The
interrupting node re-runs from its start, so everything before its ``interrupt()`` must be free
of side effects (the SQL agent's ``approval`` node only reads state there). The question is
asked once: Airflow accepts one answer per request (a second PATCH gets 409), the resume writes
no new request, and a second interrupt in the same task instance fails the task loudly instead
of showing the stale request (Airflow keeps one request per task-instance try). A retry is a
new attempt — a new thread, a new question — because the failed try may have failed after the
answer (e.g. the approved query timed out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_aimod.exceptions import AgentRunFailed, ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

APPROVE = "Approve"
REJECT = "Reject"
TIMEOUT_OUTCOMES = {"reject": REJECT, "approve": APPROVE}
EDITABLE = ("sql",)  # payload fields a reviewer may change; a change turns "Approve" into "edit"
APPROVAL_XCOM_KEY = "aimod_approval"  # the open request (its ti id), read by sensors.approval.AgentApprovalSensor


def request_text(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The HITL subject and Markdown body for an interrupt ``payload``."""
    tables = ", ".join(payload.get("tables") or []) or "no table"
    what = "a query" if payload.get("sql") else payload.get("action") or "an action"
    subject = f"{payload.get('agent', 'agent')}: approve {what} on {tables}?"
    if payload.get("clears"):
        subject = f"{payload.get('agent', 'agent')}: approve clearing {len(payload['clears'])} failed task(s) for a retry?"
    confidence = payload.get("confidence")
    proposed = ["**Proposed SQL:**", "", "```sql", str(payload["sql"]), "```", ""] if payload.get("sql") else []
    proposed += _clear_lines(payload.get("clears") or [])
    proposed += _expectation_lines(payload.get("expectations") or [])
    lines = [
        f"**Why approval is needed:** {'; '.join(payload.get('reasons') or ['the envelope requires it'])}",
        f"**Question:** {payload.get('question') or '—'}",
        *proposed,
        *([] if payload.get("clears") else [f"**Tables:** {tables}"]),
        f"**Confidence:** {confidence:.2f}" if isinstance(confidence, (int, float)) else "**Confidence:** —",
        f"**Rationale:** {payload.get('rationale') or '—'}",
        f"**Trace id:** `{payload.get('trace_id')}`", "",
        f"Choose **{APPROVE}** to go ahead or **{REJECT}** to stop.",
    ]
    if payload.get("sql"):
        lines.append(f"To run a different query, edit the **sql** field and choose {APPROVE}: "
                     "the SQL guard checks the edited query again before it runs.")
    return subject, "\n".join(lines)


def _clear_lines(clears: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown lines listing proposed task clears (the ETL monitor's payload), with their evidence."""
    if not clears:
        return []
    lines = ["**Proposed clears (each task runs again):**", ""]
    for c in clears:
        evidence = "; ".join(c.get("evidence") or []) or "no evidence"
        lines.append(f"- `{c.get('dag_id')}` run `{c.get('run_id')}` task `{c.get('task_id')}`: try "
                     f"{c.get('try_number')} failed, {c.get('classification')} — {evidence} "
                     f"(uses 1 of the {c.get('retries_left')} automatic retries left)")
    return [*lines, ""]


def _expectation_lines(expectations: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown lines listing proposed expectations (the schema validator's payload), with their evidence."""
    if not expectations:
        return []
    lines = [f"**Proposed expectations ({len(expectations)}; approved, they join the suite):**", ""]
    for e in expectations:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in (e.get("kwargs") or {}).items())
        lines.append(f"- `{e.get('type')}({kwargs})` — {e.get('evidence') or 'no evidence'}")
    return [*lines, ""]


def editable_params(payload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Serialized HITL params (form fields) pre-filled with the payload's editable values."""
    from airflow.sdk import Param

    return {key: Param(payload[key], type="string", minLength=1, format="multiline",
                       description=f"the {key} to run; edit it and choose {APPROVE} to run your version").serialize()
            for key in EDITABLE if isinstance(payload.get(key), str)}


def answer_from_event(event: Mapping[str, Any], proposal: Mapping[str, Any]) -> dict[str, Any]:
    """The graph's resume answer for a HITL ``event``; anything unexpected is a rejection (fails closed)."""
    if "error" in event:
        return {"decision": "reject", "reviewer": f"airflow ({event.get('error_type', 'error')})"}
    user = event.get("responded_by_user") or {}
    reviewer = user.get("name") or user.get("id") or ("timeout" if event.get("timedout") else "unknown")
    chosen = list(event.get("chosen_options") or [])
    if chosen != [APPROVE]:
        return {"decision": "reject", "reviewer": reviewer}
    edits = {key: value for key, value in (event.get("params_input") or {}).items()
             if key in EDITABLE and isinstance(value, str) and _squash(value) != _squash(proposal.get(key))}
    if edits:
        return {"decision": "edit", "reviewer": reviewer, **edits}
    return {"decision": "approve", "reviewer": reviewer}


def required_actions_url(context: Any) -> str | None:
    """The Airflow UI page where the request is answered, when ``[api] base_url`` is set."""
    from airflow.sdk.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if not base:
        return None
    ti = context["ti"]
    return f"{base}/dags/{ti.dag_id}/runs/{ti.run_id}/tasks/{ti.task_id}/required_actions?map_index={ti.map_index}"


def _squash(value: Any) -> str:
    return " ".join(str(value or "").split())


class HumanApprovalMixin:
    """Gives an agent operator Airflow HITL approvals; mix in before ``BaseOperator``.

    :param hitl: ``True``: a pause becomes an Airflow HITL request and the task waits for it.
        ``False``: the task ends with status ``needs_approval`` and the payload in XCom.
    :param assigned_users: who may answer (``{"id", "name"}`` or a list of them); with
        assignees set, nobody else can answer — not even an admin.
    :param notifiers: Airflow notifiers called once the request is written.
    :param response_timeout: how long to wait; then ``timeout_outcome`` applies.
    :param timeout_outcome: ``"reject"`` (default) or ``"approve"``.
    """

    def __init__(self, *, hitl: bool = False, assigned_users: Any = None, notifiers: Any = None,
                 response_timeout: timedelta | None = None, timeout_outcome: str = "reject", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not hitl and (assigned_users or notifiers or response_timeout):
            raise ConfigurationError("assigned_users, notifiers and response_timeout need hitl=True")
        if timeout_outcome not in TIMEOUT_OUTCOMES:
            raise ConfigurationError(f"timeout_outcome must be one of {sorted(TIMEOUT_OUTCOMES)}, "
                                     f"got {timeout_outcome!r}")
        if response_timeout is not None and (not isinstance(response_timeout, timedelta)
                                             or response_timeout <= timedelta(0)):
            raise ConfigurationError(f"response_timeout must be a positive timedelta, got {response_timeout!r}")
        self.hitl = hitl
        self.assigned_users = _users(assigned_users)
        self.notifiers = _notifiers(notifiers)
        self.response_timeout = response_timeout
        self.timeout_outcome = timeout_outcome
        self._resume: Any = None  # set by execute_complete; read by execute()

    def ask_human(self, result: Any, context: Context) -> NoReturn:
        """Write the HITL request for the paused ``result`` and park the task until it is answered."""
        from airflow.providers.standard.version_compat import AIRFLOW_V_3_3_PLUS
        from airflow.sdk.execution_time.hitl import upsert_hitl_detail

        payload = result.interrupt
        if self._resume is not None:
            raise AgentRunFailed(f"the agent asked a second question after the answer ({payload.get('action_id')}); "
                                 "one Airflow task instance holds one HITL request — split the work into two tasks")
        subject, body = request_text(payload)
        defaults = [TIMEOUT_OUTCOMES[self.timeout_outcome]]
        params = editable_params(payload)
        upsert_hitl_detail(ti_id=context["task_instance"].id, options=[APPROVE, REJECT], subject=subject, body=body,
                           defaults=defaults, multiple=False, params=params, assigned_users=self.assigned_users)
        self.subject, self.body, self.options = subject, body, [APPROVE, REJECT]  # what HITL notifier templates read
        for notifier in self.notifiers:
            notifier(context)
        resume = {"thread_id": result.thread_id, "trace_id": result.state.get("trace_id"),
                  "proposal": {key: payload[key] for key in EDITABLE if key in payload}}
        context["ti"].xcom_push(key=APPROVAL_XCOM_KEY, value={  # what an AgentApprovalSensor waits on
            "ti_id": str(context["task_instance"].id), "action_id": payload.get("action_id"),
            "trace_id": resume["trace_id"], "subject": subject, "proposal": resume["proposal"]})
        self.log.info("waiting for a person on %s (thread %s, trace %s); answer at %s", payload.get("action_id"),
                      result.thread_id, resume["trace_id"], required_actions_url(context) or "Required Actions")
        if AIRFLOW_V_3_3_PLUS:
            from airflow.sdk.exceptions import TaskAwaitingInput

            raise TaskAwaitingInput(method_name="execute_complete", kwargs=resume, timeout=self.response_timeout)
        self._defer_to_trigger(context, params, defaults, resume)

    def _defer_to_trigger(self, context: Context, params: dict, defaults: list[str], resume: dict) -> NoReturn:
        """Airflow 3.1–3.2: the standard provider's HITLTrigger polls for the answer on the triggerer."""
        from airflow.providers.standard.triggers.hitl import HITLTrigger
        from airflow.sdk.timezone import utcnow

        deadline = utcnow() + self.response_timeout if self.response_timeout else None
        trigger = HITLTrigger(ti_id=context["task_instance"].id, options=[APPROVE, REJECT], params=params,
                              defaults=defaults, multiple=False, timeout_datetime=deadline)
        self.defer(trigger=trigger, method_name="execute_complete", kwargs=resume)  # type: ignore[attr-defined]

    def execute_complete(self, context: Context, event: dict[str, Any], thread_id: str,
                         trace_id: str | None = None, proposal: dict[str, Any] | None = None) -> Any:
        """Resume the graph with the person's answer (runs on a fresh instance, reads only its arguments)."""
        from airflow_aimod.operators._execution import Resume

        answer = answer_from_event(event, proposal or {})
        self.log.info("HITL answer for thread %s: %s by %s", thread_id, answer["decision"], answer["reviewer"])
        self._resume = Resume(thread_id=thread_id, answer=answer, trace_id=trace_id)
        return self.execute(context)  # type: ignore[attr-defined]


def _users(value: Any) -> list[dict[str, str]] | None:
    users = [value] if isinstance(value, Mapping) else list(value or [])
    for user in users:
        if not isinstance(user, Mapping) or not {"id", "name"} <= set(user):
            raise ConfigurationError(f"assigned_users entries are {{'id': ..., 'name': ...}} dicts (the auth "
                                     f"manager's user id, e.g. the simple auth manager's username), got {user!r}")
    return [{"id": str(u["id"]), "name": str(u["name"])} for u in users] or None


def _notifiers(value: Any) -> Sequence[Any]:
    notifiers = [value] if callable(value) else list(value or [])
    if bad := [n for n in notifiers if not callable(n)]:
        raise ConfigurationError(f"notifiers must be Airflow notifiers (callables taking the context), got {bad!r}")
    return notifiers
