"""Token budgets as hard limits, and usage read from real response metadata.

The budget is checked *before* a call: a call whose estimated prompt plus its output
cap would pass the limit is never made. Usage is then recorded from what the backend
reported (``usage_metadata`` or OpenAI's ``token_usage``), never from the estimate.

An envelope's ``token_budget`` is an int (all calls of the agent task) or a mapping of
task type (``route``, ``nl2sql``, ... plus ``total`` and ``*``) to tokens. ``BudgetGuard``
checks one call against those limits and, when the agent task shares a budget with
the other tasks of its DAG run, reserves the tokens in a ``SharedLedger`` first. The shape of a
``token_budget`` is checked in ``core.token_limits`` (at parse time; ``parse_token_budget`` is imported here).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_aimod.core.token_limits import ANY_OTHER, TOTAL, parse_token_budget
from airflow_aimod.exceptions import BudgetExceeded

_WORDISH = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Conservative token estimate without a tokenizer download: words and symbols, or chars/4."""
    if not text:
        return 0
    return max(len(_WORDISH.findall(text)), math.ceil(len(text) / 4))


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one LLM call consumed, as the backend reported them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_counters(self) -> dict[str, int]:
        """Counters in the shape of ``AgentState.token_usage`` (one call)."""
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens, "llm_calls": 1}

    @classmethod
    def from_message(cls, message: Any) -> TokenUsage:
        """Read usage from a LangChain message; zero when the backend reported none."""
        meta = getattr(message, "usage_metadata", None) or {}
        if meta:
            return cls(int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0)))
        raw = (getattr(message, "response_metadata", None) or {}).get("token_usage") or {}
        return cls(int(raw.get("prompt_tokens", 0)), int(raw.get("completion_tokens", 0)))


@dataclass(frozen=True)
class TokenBudget:
    """A hard limit on total tokens for one agent task (``None``: unlimited)."""

    limit: int | None
    used: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit <= 0:
            raise ValueError(f"token budget must be a positive number of tokens or None, got {self.limit}")

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def check(self, *, prompt_tokens: int, max_output_tokens: int) -> None:
        """Raise ``BudgetExceeded`` when this call could pass the limit; nothing is sent then."""
        if self.limit is None:
            return
        needed = prompt_tokens + max_output_tokens
        if self.used + needed > self.limit:
            raise BudgetExceeded(
                f"token budget exhausted: {self.used} of {self.limit} tokens used and the next call needs "
                f"up to {needed}; raise the agent's token_budget or shorten the request"
            )


@dataclass(frozen=True)
class BudgetLimits:
    """An agent's hard limits: ``total`` over all its calls, ``per_task`` for each task type."""

    total: int | None = None
    per_task: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, token_budget: Any) -> BudgetLimits:
        """The limits an envelope's ``token_budget`` declares (an int is the total)."""
        parsed = parse_token_budget(token_budget)
        if not isinstance(parsed, dict):
            return cls(total=parsed)
        per_task = {k: v for k, v in parsed.items() if k != TOTAL}
        return cls(total=parsed.get(TOTAL), per_task=per_task)

    def for_task(self, task: str) -> int | None:
        """The cap for ``task`` (None: only the total applies). A task type with no entry, no ``*`` and
        no ``total`` is refused: a mapping never leaves a task type unbounded."""
        if not self.per_task:
            return None
        if task in self.per_task or ANY_OTHER in self.per_task:
            return self.per_task.get(task, self.per_task.get(ANY_OTHER))
        if self.total is not None:
            return None
        raise BudgetExceeded(f"token_budget has no entry for task type {task!r} (it lists "
                             f"{sorted(self.per_task)}); add {task!r} or {ANY_OTHER!r} (or a {TOTAL!r}) to the "
                             "agent's token_budget")


# --------------------------------------------------------------------------- every budget one call must fit


class SharedLedger(Protocol):
    """Tokens shared by several agent tasks (a DAG run): reserve before a call, settle after it."""

    def reserve(self, task: str, tokens: int) -> None:
        """Hold ``tokens`` for one call of ``task``, or raise BudgetExceeded; atomic across processes."""

    def settle(self, task: str, reserved: int, used: int) -> None:
        """Release a reservation of ``reserved`` tokens, counting the ``used`` ones the backend reported."""


@dataclass(frozen=True)
class Reservation:
    """The tokens held for one call that is about to be made."""

    task: str
    tokens: int


class BudgetGuard:
    """Admits one LLM call only when it fits the agent's total, its task type's cap and the shared ledger.

    ``used_total``/``used_by_task`` start with what the task already spent (this run's state and
    earlier Airflow tries); each ``record`` adds what the backend reported.
    """

    def __init__(self, limits: BudgetLimits, *, used_total: int = 0, used_by_task: Mapping[str, int] | None = None,
                 ledger: SharedLedger | None = None) -> None:
        self.limits = limits
        self.used_total = int(used_total)
        self.used_by_task = dict(used_by_task or {})
        self.ledger = ledger

    def admit(self, task: str, *, prompt_tokens: int, max_output_tokens: int) -> Reservation:
        """Raise ``BudgetExceeded`` when the call could pass any limit; nothing is sent then."""
        needed = prompt_tokens + max_output_tokens
        TokenBudget(self.limits.total, self.used_total).check(prompt_tokens=prompt_tokens,
                                                              max_output_tokens=max_output_tokens)
        cap, used = self.limits.for_task(task), self.used_by_task.get(task, 0)
        if cap is not None and used + needed > cap:
            raise BudgetExceeded(f"token budget for task type {task!r} exhausted: {used} of {cap} tokens used and "
                                 f"the next call needs up to {needed}; raise token_budget[{task!r}] or shorten "
                                 "the request")
        if self.ledger is not None:
            self.ledger.reserve(task, needed)
        return Reservation(task, needed)

    def record(self, reservation: Reservation, usage: TokenUsage) -> None:
        """Count ``usage`` (zero for a failed call) and release the reservation."""
        self.used_total += usage.total_tokens
        self.used_by_task[reservation.task] = self.used_by_task.get(reservation.task, 0) + usage.total_tokens
        if self.ledger is not None:
            self.ledger.settle(reservation.task, reservation.tokens, usage.total_tokens)
