"""Token budgets as hard limits, and usage read from real response metadata.

The budget is checked *before* a call: a call whose estimated prompt plus its output
cap would pass the limit is never made. Usage is then recorded from what the backend
reported (``usage_metadata`` or OpenAI's ``token_usage``), never from the estimate.

An envelope's ``token_budget`` is an int (all calls of the agent task) or a mapping of
task type (``route``, ``nl2sql``, ... plus ``total`` and ``*``) to tokens. ``BudgetGuard``
checks one call against those limits and, when the agent task shares a budget with
the other tasks of its DAG run, reserves the tokens in a ``SharedLedger`` first.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_aimod.exceptions import BudgetExceeded, ConfigurationError

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


# --------------------------------------------------------------------------- limits per task type

TOTAL = "total"
"""``token_budget`` key: a cap on every call of the agent task together."""
ANY_OTHER = "*"
"""``token_budget`` key: the cap of each task type that has no entry of its own."""


def parse_token_budget(value: Any) -> int | dict[str, int] | None:
    """``value`` validated: ``None``, a positive int, or a mapping task type (or total/*) → positive int.

    Only the shape is checked here (an envelope does not know its agent); ``check_task_keys`` checks the
    keys against the task types the agent declares in the registry.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        if not value:
            raise ConfigurationError("token_budget is an empty mapping; give task types → tokens, an int, or None")
        return {str(k): _tokens(v, f"token_budget[{k!r}]") for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, int) and not isinstance(value, bool):
        return _tokens(value, "token_budget")
    raise ConfigurationError(f"token_budget must be a positive int, a mapping of task type to tokens (plus "
                             f"{TOTAL!r} and {ANY_OTHER!r}), or None; got {value!r}")


def check_task_keys(budget: Mapping[Any, Any], task_types: Collection[str], agent: str = "this agent") -> None:
    """Every key of a per-task-type ``budget`` is a task type ``agent`` declares, ``total`` or ``*``."""
    known = set(task_types) | {TOTAL, ANY_OTHER}
    for key in budget:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"unknown task type {key!r} in the token_budget of {agent}.{hint} Known: "
                                     f"{sorted(known)} ({TOTAL!r}: all calls together, {ANY_OTHER!r}: each unlisted "
                                     "task type)")


def _tokens(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"{where} must be a positive number of tokens, got {value!r}")
    return value


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
