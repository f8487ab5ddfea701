"""Learning from approved outcomes: which finished runs become verified examples.

A person's approval on Required Actions is a verification: the SQL agent's query a reviewer
approved (or edited, then approved) and that then ran becomes an ``sql_agent`` example; the agent
a reviewer picked for a request the router would not dispatch becomes a ``task_router`` example.
Nothing else does: a rejection, a timeout's default answer, a query that failed or was refused,
and any query that needed approval because it touches PII (its question may carry personal
values, and an example must never make such a query look routine) are never learned; neither is a
question or request that itself carries a value that looks like personal data (an e-mail address, a
phone or card number).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_aimod.core.approval import APPROVE, EDIT
from airflow_aimod.core.examples.store import Example
from airflow_aimod.core.profiling.pii_values import looks_like_pii_value
from airflow_aimod.core.state import Status

NOBODY = ("timeout",)  # the reviewer recorded when nobody answered (the request's default applied)


def reviewer_of(event: Mapping[str, Any]) -> str | None:
    """Who answered a HITL ``event`` (Airflow's ``responded_by_user``), ``"airflow-ui"`` when Airflow
    did not record who, None when nobody did (a timeout or an error event)."""
    if not isinstance(event, Mapping) or "error" in event or event.get("timedout"):
        return None
    user = event.get("responded_by_user") or {}
    return str(user.get("name") or user.get("id") or "airflow-ui")


def carries_pii(text: str) -> bool:
    """Whether ``text`` holds a value that looks like personal data (whole, or one of its words)."""
    words = (w.strip(".,;:!?'\"()[]") for w in text.split())
    return looks_like_pii_value(text) or any(looks_like_pii_value(w) for w in words)


def learned_sql(state: Mapping[str, Any], *, reviewer: str | None, guard: Any, conn_id: str,
                schema_fingerprint: str) -> tuple[Example | None, str]:
    """The example an SQL agent run teaches, or None and why not.

    ``guard`` is the task's ``SqlGuard`` (its PII tables and columns): a query it says needs
    approval — the proposed one or the one that ran — is never learned.
    """
    if not reviewer or reviewer in NOBODY:
        return None, "nobody answered the approval request"
    if state.get("status") != Status.ANSWERED.value:
        return None, f"the run ended {state.get('status')!r}, not answered"
    proposal = (state.get("proposed_actions") or [{}])[-1]
    decision = next((a for a in reversed(state.get("approvals") or ()) if a.get("action_id") == proposal.get("id")),
                    None)
    if decision is None or decision.get("decision") not in (APPROVE, EDIT):
        return None, "no person approved the query that ran"
    ran = str((state.get("result") or {}).get("sql") or "")
    question = str(state.get("request") or "").strip()
    if not ran.strip() or not question:
        return None, "the run has no question or no query"
    if carries_pii(question):
        return None, "the question holds a value that looks like personal data"
    if proposal.get("reasons") or any(guard.check(sql).requires_approval for sql in (proposal.get("sql"), ran) if sql):
        return None, "the query touches PII: such queries are never kept as examples"
    source = "edited" if decision["decision"] == EDIT else "approved"
    return Example(agent="sql_agent", question=question, answer=ran.strip(), verified_by=reviewer, source=source,
                   conn_id=conn_id, schema_fingerprint=schema_fingerprint), source


def learned_route(request: str, agent: str | None, *, reviewer: str | None,
                  conn_id: str = "") -> tuple[Example | None, str]:
    """The router example a reviewer's pick teaches, or None and why not."""
    if not agent:
        return None, "the reviewer rejected the request"
    if not reviewer or reviewer in NOBODY:
        return None, "nobody answered the review"
    if not (request or "").strip() or carries_pii(request):
        return None, "the request is empty or holds a value that looks like personal data"
    return Example(agent="task_router", question=request.strip(), answer=agent, verified_by=reviewer,
                   source="route_review", conn_id=conn_id), "route_review"
