"""AgentState: the one schema every agent graph reads and writes.

Values are plain JSON types (str, int, float, bool, list, dict) so a state survives
any LangGraph checkpointer, XCom and the AiMod event store unchanged. List fields
that several nodes append to carry reducers; everything else is last-write-wins.
"""

from __future__ import annotations

import operator
from enum import Enum
from typing import Annotated, Any, TypedDict


class Status(str, Enum):
    """Where an agent run stands; every run ends in one of the terminal values."""

    RUNNING = "running"
    ANSWERED = "answered"
    REFUSED = "refused"
    NEEDS_APPROVAL = "needs_approval"
    REJECTED = "rejected"
    FAILED = "failed"
    ESCALATED = "escalated"
    BUDGET_EXCEEDED = "budget_exceeded"


TERMINAL_STATUSES = frozenset(s.value for s in Status if s is not Status.RUNNING)

USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens", "llm_calls")


def merge_usage(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Reducer: add token counters key by key."""
    merged = {key: int((left or {}).get(key, 0)) for key in USAGE_KEYS}
    for key in USAGE_KEYS:
        merged[key] += int((right or {}).get(key, 0))
    return merged


def merge_work(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: shallow-merge an agent's working notes (later keys win)."""
    return {**(left or {}), **(right or {})}


class AgentState(TypedDict, total=False):
    """State shared by all fifteen agents.

    request: the natural-language request or question, as the user wrote it.
    trace_id: one id for the whole request, carried across router, agent, approval, resume.
    agent / tier: who is working on it now.
    status: a ``Status`` value; ``reason`` says why in one sentence a person can act on.
    confidence / rationale: the deciding model's confidence and explanation.
    events: one JSON event per LLM call, tool call, guard verdict and state transition.
    proposed_actions: actions the agent wants to take, each with its permission verdict.
    approvals: human decisions (approve / reject / edit), each tied to an action id.
    token_usage: counters summed over every LLM call, retries included.
    handoffs: the chain of agents this request has passed through, oldest first.
    result: the agent's answer (JSON), also pushed to XCom.
    work: the agent's own working notes (draft SQL, verdicts, attempt counters).
    """

    request: str
    trace_id: str
    agent: str
    tier: int
    status: str
    reason: str
    confidence: float
    rationale: str
    events: Annotated[list[dict[str, Any]], operator.add]
    proposed_actions: Annotated[list[dict[str, Any]], operator.add]
    approvals: Annotated[list[dict[str, Any]], operator.add]
    token_usage: Annotated[dict[str, int], merge_usage]
    handoffs: Annotated[list[dict[str, Any]], operator.add]
    result: dict[str, Any]
    work: Annotated[dict[str, Any], merge_work]


def initial_state(
    *, request: str, agent: str, tier: int, trace_id: str, handoffs: list[dict[str, Any]] | None = None
) -> AgentState:
    """Return the input state for a new agent run."""
    return AgentState(
        request=request,
        trace_id=trace_id,
        agent=agent,
        tier=tier,
        status=Status.RUNNING.value,
        reason="",
        events=[],
        proposed_actions=[],
        approvals=[],
        token_usage=merge_usage(None, None),
        handoffs=list(handoffs or []),
        result={},
        work={},
    )


def outcome(state: AgentState, result_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON summary of a finished run, as pushed to XCom and printed by the CLI.

    ``result`` holds every key of ``result_keys`` whatever the status (``None`` when the run did not
    produce it). ``escalate_to`` names who takes over (an agent, ``"human"``, or None); ``error`` says,
    for a run that ended on an error, its type and whether running the task again may help;
    ``tables_read`` lists the tables it read (empty when none).
    """
    work = state.get("work") or {}
    status = state.get("status")
    result = {key: None for key in result_keys}
    result.update(state.get("result") or {})
    handed_to = work.get("escalate_to") or ("human" if status in ("escalated", "budget_exceeded") else None)
    return {
        "agent": state.get("agent"),
        "status": status,
        "reason": state.get("reason", ""),
        "trace_id": state.get("trace_id"),
        "confidence": state.get("confidence"),
        "result": result,
        "token_usage": state.get("token_usage") or merge_usage(None, None),
        "proposed_actions": state.get("proposed_actions") or [],
        "approvals": state.get("approvals") or [],
        "escalate_to": handed_to,
        "error": work.get("error"),
        "tables_read": tables_read(state.get("events") or ()),
    }


def tables_read(events: Any) -> list[str]:
    """The tables the run's successful ``sql.read`` calls read (names as the SQL guard parsed them in the
    warehouse dialect, ``schema.table`` when qualified), sorted: the input datasets of its lineage."""
    names = {str(table) for event in events if event.get("kind") == "tool_call" and event.get("name") == "sql.read"
             for table in (event.get("data") or {}).get("tables") or ()}
    return sorted(names)
