"""Token budgets as hard limits, and usage read from real response metadata.

The budget is checked *before* a call: a call whose estimated prompt plus its output
cap would pass the limit is never made. Usage is then recorded from what the backend
reported (``usage_metadata`` or OpenAI's ``token_usage``), never from the estimate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

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

    def spend(self, usage: TokenUsage) -> TokenBudget:
        """Return the budget after a call that consumed ``usage``."""
        return TokenBudget(self.limit, self.used + usage.total_tokens)
