"""Approval requests an agent owns: what a person sees, and how the decision maps back into the graph.

An agent node that needs a person builds an ``ApprovalRequest`` (subject, Markdown body,
options, the fields a reviewer may edit) and pauses with ``interrupt(request.to_payload())``.
The one generic HITL path (``operators.approval``) renders any request on Airflow's Required
Actions page and resumes the graph with ``ApprovalRequest.decide(...)``'s ``ApprovalDecision``;
the node reads it back with ``ApprovalDecision.of(answer)``. Anything unexpected — an unknown
option, an answer that is not a decision, an error — is a rejection: approvals fail closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.decisions import APPROVE, EDIT, REJECT

PAYLOAD_KIND = "approval"


@dataclass(frozen=True)
class ApprovalOption:
    """One button on Required Actions: its label and the decision it stands for (approve or reject)."""

    label: str
    decision: str

    def __post_init__(self) -> None:
        if self.decision not in (APPROVE, REJECT):
            raise ValueError(f"an option decides {APPROVE!r} or {REJECT!r}, got {self.decision!r}")
        if not self.label.strip():
            raise ValueError("an option needs a label")


APPROVE_LABEL, REJECT_LABEL = "Approve", "Reject"
DEFAULT_OPTIONS = (ApprovalOption(APPROVE_LABEL, APPROVE), ApprovalOption(REJECT_LABEL, REJECT))


@dataclass(frozen=True)
class EditableField:
    """A value the reviewer may change before approving (e.g. the SQL); a change makes the decision ``edit``."""

    name: str
    value: str
    description: str = ""


@dataclass(frozen=True)
class ApprovalDecision:
    """A person's answer as the graph receives it: approve, reject, or edit (approve with changed fields)."""

    decision: str
    reviewer: str | None = None
    edits: Mapping[str, str] = field(default_factory=dict)

    @property
    def approved(self) -> bool:
        return self.decision in (APPROVE, EDIT)

    @classmethod
    def of(cls, answer: Any) -> ApprovalDecision:
        """The decision a resumed ``interrupt()`` returned; anything else is a rejection."""
        if isinstance(answer, ApprovalDecision):
            return answer
        if not isinstance(answer, Mapping):
            return cls(REJECT)
        decision = str(answer.get("decision") or REJECT).lower()
        reviewer = answer.get("reviewer")
        edits = {str(k): v for k, v in (answer.get("edits") or {}).items() if isinstance(v, str)}
        if decision == EDIT and not edits:
            decision = REJECT  # an edit without an edited value cannot be run
        if decision not in (APPROVE, REJECT, EDIT):
            decision = REJECT
        return cls(decision, str(reviewer) if reviewer else None, edits if decision == EDIT else {})

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reviewer": self.reviewer, "edits": dict(self.edits)}

    def record(self, action_id: str) -> dict[str, Any]:
        """The entry this decision adds to ``AgentState.approvals``."""
        return {"action_id": action_id, "decision": self.decision, "reviewer": self.reviewer, **self.edits}

    def who(self) -> str:
        return self.reviewer or "a reviewer"


@dataclass(frozen=True)
class ApprovalRequest:
    """What an agent asks a person to decide, in a form any HITL surface can render.

    ``action`` is the envelope action kind that needs the approval; ``action_id`` ties the
    decision to the proposed action in ``AgentState.proposed_actions``.
    """

    agent: str
    action: str
    action_id: str
    subject: str
    body: str
    reasons: tuple[str, ...] = ()
    trace_id: str | None = None
    options: tuple[ApprovalOption, ...] = DEFAULT_OPTIONS
    editable: tuple[EditableField, ...] = ()

    def __post_init__(self) -> None:
        labels = [o.label for o in self.options]
        if len(set(labels)) != len(labels) or {o.decision for o in self.options} != {APPROVE, REJECT}:
            raise ValueError(f"options need distinct labels and at least one approve and one reject: {labels}")
        object.__setattr__(self, "subject", self.subject[:200])  # Airflow's HITL subject column

    def option_for(self, decision: str) -> str:
        """The label of the first option that stands for ``decision`` (the response-timeout default)."""
        return next(o.label for o in self.options if o.decision == decision)

    def decide(self, chosen: Sequence[str], *, edited: Mapping[str, Any] | None = None,
               reviewer: str | None = None) -> ApprovalDecision:
        """The decision for the options a person ``chosen`` and the field values they submitted."""
        by_label = {o.label: o.decision for o in self.options}
        if len(chosen) != 1 or by_label.get(chosen[0]) != APPROVE:
            return ApprovalDecision(REJECT, reviewer)
        proposed = {f.name: f.value for f in self.editable}
        edits = {name: value for name, value in (edited or {}).items()
                 if name in proposed and isinstance(value, str) and value.strip()
                 and _squash(value) != _squash(proposed[name])}
        return ApprovalDecision(EDIT, reviewer, edits) if edits else ApprovalDecision(APPROVE, reviewer)

    def to_payload(self) -> dict[str, Any]:
        """JSON for ``interrupt()`` (kept in the checkpoint; round-trips through ``from_payload``)."""
        return {"kind": PAYLOAD_KIND, "agent": self.agent, "action": self.action, "action_id": self.action_id,
                "subject": self.subject, "body": self.body, "reasons": list(self.reasons), "trace_id": self.trace_id,
                "options": [{"label": o.label, "decision": o.decision} for o in self.options],
                "editable": [{"name": f.name, "value": f.value, "description": f.description} for f in self.editable]}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ApprovalRequest:
        """The request an interrupt carried; ``ValueError`` when it is not one (a graph bug)."""
        if not isinstance(payload, Mapping) or payload.get("kind") != PAYLOAD_KIND:
            raise ValueError(f"the graph paused with something that is not an ApprovalRequest: {payload!r:.200}")
        options = tuple(ApprovalOption(str(o["label"]), str(o["decision"])) for o in payload.get("options") or ())
        editable = tuple(EditableField(str(f["name"]), str(f["value"]), str(f.get("description") or ""))
                         for f in payload.get("editable") or ())
        return cls(agent=str(payload["agent"]), action=str(payload["action"]), action_id=str(payload["action_id"]),
                   subject=str(payload["subject"]), body=str(payload["body"]),
                   reasons=tuple(str(r) for r in payload.get("reasons") or ()), trace_id=payload.get("trace_id"),
                   options=options or DEFAULT_OPTIONS, editable=editable)


def request_body(*, reasons: Iterable[str], question: str | None, sections: Sequence[str] = (),
                 confidence: float | None = None, rationale: str | None = None, trace_id: str | None = None,
                 options: Sequence[ApprovalOption] = DEFAULT_OPTIONS,
                 editable: Sequence[EditableField] = ()) -> str:
    """The Markdown body every agent's request shares: why, the question, the agent's sections, the evidence."""
    approve = next(o.label for o in options if o.decision == APPROVE)
    reject = next(o.label for o in options if o.decision == REJECT)
    lines = [f"**Why approval is needed:** {'; '.join(reasons) or 'the envelope requires it'}",
             f"**Question:** {question or '—'}", *sections,
             f"**Confidence:** {confidence:.2f}" if isinstance(confidence, (int, float)) else "**Confidence:** —",
             f"**Rationale:** {rationale or '—'}", f"**Trace id:** `{trace_id}`", "",
             f"Choose **{approve}** to go ahead or **{reject}** to stop."]
    for f in editable:
        lines.append(f"To change it, edit the **{f.name}** field and choose {approve}: {f.description}".rstrip(": "))
    return "\n".join(lines)


def _squash(value: Any) -> str:
    return " ".join(str(value or "").split())
