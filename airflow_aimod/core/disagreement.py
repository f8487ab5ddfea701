"""Agent disagreement: a declared rule comparing two agents' assessments of the same thing.

An assessment is ``{"subject", "verdict": "normal" | "anomalous" | "unknown", "confidence",
"summary", "findings"}`` (the anomaly detector's ``result["assessment"]``, for one). A rule
names the two agents and the verdict pairs that conflict; a conflict — or a missing or
``unknown`` verdict, unless the rule says otherwise — goes to a person. Nothing is settled
silently: every judgement says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.registry import get_agent
from airflow_aimod.exceptions import ConfigurationError

VERDICTS = ("normal", "anomalous", "unknown")
CAUTION = {"normal": 0, "unknown": 1, "anomalous": 2}
"""When verdicts differ without conflicting, the more cautious one stands."""
ON_UNKNOWN = ("arbitrate", "defer")
DEFAULT_CONFLICTS = frozenset({("normal", "anomalous"), ("anomalous", "normal")})


@dataclass(frozen=True)
class Judgement:
    """What a rule concluded: ``agree`` (with the verdict that stands) or ``arbitrate`` (a person decides)."""

    rule: str
    outcome: str
    verdict: str | None
    reason: str
    left: dict[str, Any]
    right: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "outcome": self.outcome, "verdict": self.verdict, "reason": self.reason,
                "left": self.left, "right": self.right}


@dataclass(frozen=True)
class DisagreementRule:
    """``left`` and ``right`` are agent names (the same agent twice compares two of its tasks, e.g. two
    detection methods); ``conflicts`` the (left verdict, right verdict) pairs that
    conflict; ``on_unknown``: ``arbitrate`` (a person decides) or ``defer`` (the other agent's verdict stands)."""

    name: str
    left: str
    right: str
    conflicts: frozenset[tuple[str, str]] = DEFAULT_CONFLICTS
    on_unknown: str = "arbitrate"

    def __post_init__(self) -> None:
        get_agent(self.left), get_agent(self.right)  # unknown names fail with did-you-mean
        pairs = frozenset(tuple(p) for p in self.conflicts)
        if bad := sorted(v for pair in pairs for v in pair if v not in VERDICTS):
            raise ConfigurationError(f"rule {self.name!r}: unknown verdicts {bad}; use {', '.join(VERDICTS)}")
        if self.on_unknown not in ON_UNKNOWN:
            raise ConfigurationError(f"rule {self.name!r}: on_unknown must be one of {', '.join(ON_UNKNOWN)}")
        object.__setattr__(self, "conflicts", pairs)

    @classmethod
    def of(cls, name: str, left: str, right: str, conflicts: Iterable[Iterable[str]] | None = None,
           on_unknown: str = "arbitrate") -> DisagreementRule:
        pairs = DEFAULT_CONFLICTS if conflicts is None else frozenset(tuple(p) for p in conflicts)
        return cls(name, left, right, pairs, on_unknown)

    def evaluate(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> Judgement:
        """Compare the two agents' outcomes (or bare assessments)."""
        a, b = assessment_of(left, self.left), assessment_of(right, self.right)
        va, vb = a.get("verdict"), b.get("verdict")
        judged = lambda outcome, verdict, reason: Judgement(self.name, outcome, verdict, reason, a, b)  # noqa: E731
        if va not in VERDICTS or vb not in VERDICTS:
            silent = a if va not in VERDICTS else b
            return judged("arbitrate", None, f"no verdict to compare: {silent['summary']}")
        if (va, vb) in self.conflicts:
            return judged("arbitrate", None, f"{self.left} says {va} but {self.right} says {vb}")
        if "unknown" in (va, vb) and va != vb and self.on_unknown == "arbitrate":
            unsure, other = (self.left, vb) if va == "unknown" else (self.right, va)
            return judged("arbitrate", None, f"{unsure} could not judge; the other agent says {other}")
        if va == vb:
            return judged("agree", va, f"both agents say {va}")
        verdict = vb if va == "unknown" else va if vb == "unknown" else max((va, vb), key=CAUTION.__getitem__)
        return judged("agree", verdict, f"{self.left} says {va}, {self.right} says {vb}: {verdict} stands")


def assessment_of(outcome: Mapping[str, Any], agent: str) -> dict[str, Any]:
    """The assessment inside an agent outcome (XCom), or the mapping itself when it already is one."""
    if "verdict" in outcome:
        return dict(outcome)
    found = (outcome.get("result") or {}).get("assessment")
    if isinstance(found, Mapping):
        return dict(found)
    status = outcome.get("status") or "no outcome"
    return {"subject": None, "verdict": None, "confidence": 0.0, "findings": [],
            "summary": f"{agent} ended with status {status}: {outcome.get('reason') or 'no assessment'}"}
