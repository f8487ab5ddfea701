"""One LLM call the way every agent makes it: budget first, deadline around, JSON out.

``LLMCaller.ask_json`` checks the token budget before sending (a call that could pass
the limit is never made), bounds the call by a deadline, reads usage from the
response, re-asks a bounded number of times when the reply is not the JSON object
asked for, and returns one ``llm_call`` event per call made.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.budget import TokenBudget, TokenUsage, estimate_tokens
from airflow_aimod.core.llm.parsing import extract_json_object
from airflow_aimod.core.tracing import Tracer
from airflow_aimod.exceptions import AgentTimeout, AimodError, LLMBackendError, LLMResponseError

_TRANSIENT = {"RateLimitError", "APITimeoutError", "APIConnectionError", "InternalServerError", "Timeout",
              "ReadTimeout", "ConnectTimeout"}


@dataclass
class LLMReply:
    """A parsed reply plus what it cost: usage summed over every call made, one event each."""

    data: dict[str, Any]
    usage: dict[str, int]
    events: list[dict[str, Any]] = field(default_factory=list)


def model_name(model: Any) -> str:
    """Best-effort model name for events."""
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


class LLMCaller:
    """Makes budgeted, deadline-bound JSON calls to one chat model."""

    def __init__(self, model: Any, *, tracer: Tracer, token_budget: int | None, timeout_s: float,
                 max_output_tokens: int = 1024, max_reasks: int = 2) -> None:
        self.model = model
        self.tracer = tracer
        self.token_budget = token_budget
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens
        self.max_reasks = max_reasks

    def ask_json(self, messages: Sequence[tuple[str, str]], *, used_tokens: int,
                 required: Sequence[str] = ()) -> LLMReply:
        """Send ``messages``; return the first reply that is a JSON object holding ``required`` keys."""
        reply = LLMReply(data={}, usage={})
        try:
            return self._ask(list(messages), used_tokens, required, reply)
        except AimodError as exc:
            exc.partial_reply = reply  # type: ignore[attr-defined]  # usage and events already spent
            raise

    def _ask(self, convo: list[tuple[str, str]], used_tokens: int, required: Sequence[str],
             reply: LLMReply) -> LLMReply:
        problem = ""
        for attempt in range(1, self.max_reasks + 2):
            budget = TokenBudget(self.token_budget, used_tokens + reply.usage.get("total_tokens", 0))
            text = self._call(convo, budget, attempt, reply)
            data = extract_json_object(text)
            missing = [k for k in required if data is not None and k not in data]
            if data is not None and not missing:
                reply.data = data
                return reply
            problem = "was not a JSON object" if data is None else f"lacked the keys {missing}"
            convo += [("ai", text), ("human", f"Your reply {problem}. Reply with exactly one JSON object.")]
        raise LLMResponseError(
            f"the model's reply {problem} after {self.max_reasks} re-asks; the request goes to a person"
        )

    def _call(self, convo: list[tuple[str, str]], budget: TokenBudget, attempt: int, reply: LLMReply) -> str:
        prompt_tokens = sum(estimate_tokens(content) for _, content in convo)
        budget.check(prompt_tokens=prompt_tokens, max_output_tokens=self.max_output_tokens)
        started = time.monotonic()
        try:
            message = self._invoke_with_deadline(convo)
        except Exception as exc:
            reply.events.append(self._event(started, attempt, TokenUsage(), outcome="error", error=str(exc)[:300]))
            raise self._translate(exc) from exc
        usage = TokenUsage.from_message(message)
        text = message.content if isinstance(message.content, str) else str(message.content)
        reply.usage = _add(reply.usage, usage.as_counters())
        parsed = extract_json_object(text) is not None
        reply.events.append(self._event(started, attempt, usage, outcome="ok" if parsed else "unparseable"))
        return text

    def _invoke_with_deadline(self, convo: list[tuple[str, str]]) -> Any:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="aimod-llm")
        future = pool.submit(self.model.invoke, convo)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise AgentTimeout(f"LLM call timed out: it passed its {self.timeout_s:g} s deadline; raise the agent's "
                               "timeout or use a faster model") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, AgentTimeout):
            return exc
        # langchain-openai re-raises openai errors as its own subclasses (OpenAIAPIError is an
        # InternalServerError), so classify by every class name in the MRO, not just the leaf's.
        names = [cls.__name__ for cls in type(exc).__mro__]
        name = next((n for n in names if n in _TRANSIENT), names[0])
        if any("Timeout" in n for n in names):
            return AgentTimeout(f"LLM backend timed out ({name}): {exc}; raise the connection's timeout or retry later")
        hint = ("transient, still failing after the client's retries; raise max_retries or retry later"
                if name in _TRANSIENT else "not retried; check the connection's base URL, API key and model")
        return LLMBackendError(f"LLM backend error {name} ({hint}): {exc}")

    def _event(self, started: float, attempt: int, usage: TokenUsage, **data: Any) -> dict[str, Any]:
        return self.tracer.event(
            "llm_call", "chat", model=model_name(self.model), attempt=attempt,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            latency_ms=round((time.monotonic() - started) * 1000, 2), **data,
        )


def _add(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {k: left.get(k, 0) + right.get(k, 0) for k in set(left) | set(right)}
