"""Loop guards: handoff chains that never revisit an agent, and bounded automatic retries.

Pure: no Airflow, no LangGraph. A request's handoffs live in ``AgentState["handoffs"]``
as ``{"from", "to", "reason"}`` records, oldest first. ``HandoffGuard`` refuses a handoff
that would revisit an agent of that chain (A→B→C→A, or A→A) or make it longer than the
envelope's ``max_handoff_depth``. ``AutoRetryPolicy`` bounds the retries an agent may
start on its own (``max_auto_retries``; etl_monitor: 3) and spaces them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_aimod.exceptions import ConfigurationError, LoopDetected

__all__ = ["AutoRetryPolicy", "HandoffGuard", "RetryDecision"]


def _count(value: Any, name: str) -> int:
    """``value`` as a non-negative int, or ConfigurationError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _agent(value: Any, what: str) -> str:
    """A non-empty agent name, or ConfigurationError."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty agent name, got {value!r}")
    return value.strip()


@dataclass(frozen=True)
class HandoffGuard:
    """Refuses handoffs that revisit an agent of the chain or pass ``max_depth`` handoffs."""

    max_depth: int

    def __post_init__(self) -> None:
        _count(self.max_depth, "max_depth")

    @classmethod
    def from_envelope(cls, envelope: Any) -> HandoffGuard:
        """The guard for an agent's envelope (its ``max_handoff_depth``)."""
        return cls(max_depth=envelope.max_handoff_depth)

    @staticmethod
    def chain(handoffs: Sequence[Mapping[str, Any]]) -> list[str]:
        """The agents the request passed through, oldest first (``[]`` before any handoff)."""
        agents: list[str] = []
        for i, record in enumerate(handoffs):
            if not isinstance(record, Mapping):
                raise ConfigurationError(f"handoff #{i + 1} must be a {{'from', 'to', 'reason'}} mapping")
            source, target = _agent(record.get("from"), f"handoff #{i + 1} 'from'"), _agent(
                record.get("to"), f"handoff #{i + 1} 'to'")
            if agents and agents[-1] != source:
                raise ConfigurationError(f"handoff #{i + 1} starts at {source!r} but the chain ends at "
                                         f"{agents[-1]!r}: record every handoff, in order")
            agents += [target] if agents else [source, target]
        return agents

    def check(self, handoffs: Sequence[Mapping[str, Any]], *, source: str, target: str,
              reason: str = "") -> dict[str, str]:
        """The record to append for ``source`` → ``target``; raises LoopDetected when it is refused."""
        source, target = _agent(source, "source"), _agent(target, "target")
        chain = self.chain(handoffs) or [source]
        if chain[-1] != source:
            raise ConfigurationError(f"{source!r} cannot hand off: the chain ends at {chain[-1]!r}")
        path = " → ".join([*chain, target])
        if target in chain:
            raise LoopDetected(f"handoff loop refused: {path} revisits {target}; the request goes to a person "
                               "(give the first agent what it lacked instead of handing it back)")
        if len(chain) > self.max_depth:
            raise LoopDetected(f"handoff refused: {path} would be {len(chain)} handoffs, more than the maximum "
                               f"depth {self.max_depth}; the request goes to a person (or raise "
                               "max_handoff_depth in the envelope)")
        return {"from": source, "to": target, "reason": str(reason)[:500]}


@dataclass(frozen=True)
class RetryDecision:
    """Whether one more automatic retry may start, after how long, and why."""

    allowed: bool
    retries_done: int
    delay_s: float
    reason: str


@dataclass(frozen=True)
class AutoRetryPolicy:
    """At most ``max_retries`` automatic retries, spaced by capped exponential backoff."""

    max_retries: int
    base_delay_s: float = 30.0
    max_delay_s: float = 900.0

    def __post_init__(self) -> None:
        _count(self.max_retries, "max_retries")
        if not 0 <= self.base_delay_s <= self.max_delay_s:
            raise ConfigurationError(f"need 0 <= base_delay_s <= max_delay_s, got {self.base_delay_s}, "
                                     f"{self.max_delay_s}")

    @classmethod
    def from_envelope(cls, envelope: Any, **delays: float) -> AutoRetryPolicy:
        """The policy for an agent's envelope (its ``max_auto_retries``)."""
        return cls(max_retries=envelope.max_auto_retries, **delays)

    def delay_s(self, retry_number: int) -> float:
        """Wait before retry ``retry_number`` (1-based): base, 2×base, 4×base, ... capped."""
        return min(self.base_delay_s * 2 ** max(_count(retry_number, "retry_number") - 1, 0), self.max_delay_s)

    def decide(self, retries_done: int, *, target: str = "the task") -> RetryDecision:
        """Whether retry number ``retries_done + 1`` of ``target`` may start automatically."""
        done = _count(retries_done, "retries_done")
        if done >= self.max_retries:
            return RetryDecision(False, done, 0.0, f"{target} was retried automatically {done} time(s), the "
                                 f"envelope's limit is {self.max_retries}: a person decides on the next retry")
        return RetryDecision(True, done, self.delay_s(done + 1), f"automatic retry {done + 1} of {self.max_retries}")

    def enforce(self, retries_done: int, *, target: str = "the task") -> RetryDecision:
        """The decision, raising LoopDetected when the retry budget is spent."""
        decision = self.decide(retries_done, target=target)
        if not decision.allowed:
            raise LoopDetected(decision.reason)
        return decision
