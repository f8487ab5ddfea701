"""Route decisions: which agent, how sure, and whether a person must decide instead.

Framework-free: scores in, a ``RouteDecision`` out. Scores from any backend are
normalised here (unknown agents dropped, values clamped, mass capped at 1), so a
misbehaving model cannot route to an agent that does not exist.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_THRESHOLD = 0.85
DISPATCH = "dispatch"
HUMAN_REVIEW = "human_review"


@dataclass(frozen=True)
class RouteDecision:
    """The router's answer: dispatch to ``agent`` or hand the request to a person."""

    agent: str | None
    confidence: float
    decision: str
    scores: Mapping[str, float] = field(default_factory=dict)
    rationale: str = ""
    threshold: float = DEFAULT_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "confidence": self.confidence, "decision": self.decision,
                "scores": dict(self.scores), "rationale": self.rationale, "threshold": self.threshold}


def normalize_scores(raw: Any, known: Iterable[str]) -> dict[str, float]:
    """Keep known agents with finite scores in [0, 1]; rescale when the total passes 1."""
    known = set(known)
    scores: dict[str, float] = {}
    for name, value in (raw or {}).items() if isinstance(raw, Mapping) else ():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if name in known and math.isfinite(number):
            scores[name] = min(max(number, 0.0), 1.0)
    total = sum(scores.values())
    if total > 1.0:
        scores = {name: value / total for name, value in scores.items()}
    return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))


def decide(scores: Mapping[str, float], *, threshold: float = DEFAULT_THRESHOLD, rationale: str = "") -> RouteDecision:
    """Dispatch to the best-scoring agent when its score reaches ``threshold``; else a person decides."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if not scores:
        return RouteDecision(None, 0.0, HUMAN_REVIEW, {}, rationale or "no agent matched the request", threshold)
    agent, confidence = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
    decision = DISPATCH if confidence >= threshold else HUMAN_REVIEW
    return RouteDecision(agent, round(confidence, 4), decision, {k: round(v, 4) for k, v in scores.items()},
                         rationale, threshold)
