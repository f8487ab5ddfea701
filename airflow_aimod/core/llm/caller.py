"""One LLM call the way every agent makes it: budget first, deadline around, JSON out.

``LLMCaller.ask_json`` checks the token budgets before sending (a call that could pass a
limit is never made), retries rate limits (429), server errors (5xx) and timeouts with
exponential backoff and jitter (honouring Retry-After, each attempt re-checked against the
budgets), reads usage from the response, re-asks a bounded number of times when the reply is
not the JSON object asked for, and returns one ``llm_call`` event per call made.

Deadlines hold: ``timeout_s`` bounds the whole of one ``ask_json`` — every attempt, retry,
backoff wait and re-ask — and the agent's ``deadline`` bounds it further. Each attempt runs in a
daemon thread under ``core.llm.deadline``: an HTTP backend built by the factory abandons the
request (connection closed, thread ended) when the deadline passes, even one that trickles a
byte every few seconds, and nothing left behind keeps the process alive. Error texts and
events are scrubbed of secrets (``core.redaction``). Time is injected (``sleep=``, ``now=``,
``random=``) so tests never wait.
"""

from __future__ import annotations

import email.utils
import random as _random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.budget import BudgetGuard, BudgetLimits, TokenUsage, estimate_tokens
from airflow_aimod.core.llm.deadline import deadline_at
from airflow_aimod.core.llm.parsing import extract_json_object
from airflow_aimod.core.redaction import scrub
from airflow_aimod.core.tracing import Tracer
from airflow_aimod.exceptions import (
    AgentTimeout, AimodError, ConfigurationError, LLMBackendError, LLMResponseError, StepFailed,
)

_TRANSIENT = {"RateLimitError", "APITimeoutError", "APIConnectionError", "InternalServerError", "Timeout",
              "ReadTimeout", "ConnectTimeout", "ServiceUnavailableError"}
_SOCKET_SLACK_S = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    """How transient backend faults are retried: ``max_retries`` more attempts, exponential backoff."""

    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    jitter: float = 0.5  # each computed delay is shortened by up to this fraction, at random
    max_retry_after_s: float = 60.0  # a server asking for a longer wait is not waited for
    attempt_timeout_s: float | None = None  # one attempt's limit (None: whatever is left of the call's deadline)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or not 0 <= self.base_delay_s <= self.max_delay_s or not 0 <= self.jitter <= 1:
            raise ConfigurationError("need max_retries >= 0, 0 <= base_delay_s <= max_delay_s, 0 <= jitter <= 1")
        if self.attempt_timeout_s is not None and not self.attempt_timeout_s > 0:
            raise ConfigurationError(f"attempt_timeout_s must be None or positive, got {self.attempt_timeout_s!r}")

    def delay_s(self, retry: int, *, retry_after: float | None, rand: float) -> float:
        """Wait before retry number ``retry`` (1-based): the server's Retry-After, else backoff with jitter."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return min(self.base_delay_s * 2 ** (retry - 1), self.max_delay_s) * (1 - self.jitter * rand)


@dataclass
class LLMReply:
    """A parsed reply plus what it cost: usage summed over every call made, one event each."""

    data: dict[str, Any]
    usage: dict[str, int]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """The reply's ``confidence`` clamped to [0, 1]; 0 when missing or not a number."""
        try:
            value = float(self.data.get("confidence"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return 0.0
        return min(max(value, 0.0), 1.0) if value == value else 0.0


@dataclass(frozen=True)
class _Limit:
    """When one ``ask_json`` must end (a ``now()`` value) and how to say so."""

    at: float
    what: str  # "its 60 s deadline" / "the agent's deadline"


class _Transient(Exception):
    """A backend fault worth retrying, with the wait the server asked for."""

    def __init__(self, error: Exception, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error, self.retry_after = error, retry_after


def model_name(model: Any) -> str:
    """Best-effort model name for events."""
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


class LLMCaller:
    """Makes budgeted, deadline-bound, retried JSON calls to one chat model.

    ``timeout_s`` bounds one ``ask_json`` with all its attempts, waits and re-asks; ``deadline``
    (a ``now()`` value, the agent's) bounds it further; ``retry.attempt_timeout_s`` caps one attempt. ``guard`` carries the budgets; without one, ``token_budget`` (int or
    per-task mapping) applies to the ``used_tokens`` passed to ``ask_json``.
    """

    def __init__(self, model: Any, *, tracer: Tracer, token_budget: Any = None, timeout_s: float,
                 max_output_tokens: int = 1024, max_reasks: int = 2, retry: RetryPolicy | None = None,
                 guard: BudgetGuard | None = None, deadline: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], float] = time.monotonic,
                 random: Callable[[], float] = _random.random) -> None:
        self.model = model
        self.tracer = tracer
        self.token_budget = token_budget
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens
        self.max_reasks = max_reasks
        self.retry = retry or RetryPolicy()
        self.guard = guard
        self.deadline = deadline
        self.sleep, self.now, self.random = sleep, now, random

    def ask_json(self, messages: Sequence[tuple[str, str]], *, used_tokens: int = 0,
                 required: Sequence[str] = (), task: str) -> LLMReply:
        """Send ``messages`` (a prompt of task type ``task``); return the first reply that is a JSON
        object holding ``required`` keys, within ``timeout_s`` for everything. A failure raises
        ``StepFailed`` with what the attempts spent."""
        guard = self.guard or BudgetGuard(BudgetLimits.of(self.token_budget), used_total=used_tokens)
        reply = LLMReply(data={}, usage={})
        limit = _Limit(self.now() + self.timeout_s, f"its {self.timeout_s:g} s deadline")
        if self.deadline is not None and self.deadline < limit.at:
            limit = _Limit(self.deadline, "the agent's deadline")
        try:
            return self._ask(list(messages), guard, task, required, reply, limit)
        except AimodError as exc:
            raise StepFailed(exc, events=reply.events, usage=reply.usage) from exc

    def _ask(self, convo: list[tuple[str, str]], guard: BudgetGuard, task: str, required: Sequence[str],
             reply: LLMReply, limit: _Limit) -> LLMReply:
        problem = ""
        for attempt in range(1, self.max_reasks + 2):
            text = self._call_with_retries(convo, guard, task, attempt, reply, limit)
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

    def _call_with_retries(self, convo: list[tuple[str, str]], guard: BudgetGuard, task: str, attempt: int,
                           reply: LLMReply, limit: _Limit) -> str:
        for retry in range(self.retry.max_retries + 1):
            try:
                return self._call(convo, guard, task, attempt, retry, reply, limit)
            except _Transient as fault:
                if retry == self.retry.max_retries:
                    raise self._translate(fault.error, retries=retry) from fault.error
                self._wait(fault, retry + 1, reply, limit)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, fault: _Transient, retry: int, reply: LLMReply, limit: _Limit) -> None:
        """Sleep before ``retry``, or raise when the wait is refused or would pass the deadline."""
        delay = self.retry.delay_s(retry, retry_after=fault.retry_after, rand=self.random())
        if fault.retry_after is not None and fault.retry_after > self.retry.max_retry_after_s:
            raise LLMBackendError(f"LLM backend asked to retry after {fault.retry_after:g} s, more than the "
                                  f"{self.retry.max_retry_after_s:g} s an agent waits; retry later") from fault.error
        if self.now() + delay >= limit.at:
            error = self._translate(fault.error, retries=retry - 1)
            raise type(error)(f"{error}; no retry: waiting {delay:.2f} s would pass {limit.what}") \
                from fault.error
        reply.events[-1]["data"]["retry_in_s"] = round(delay, 3)
        self.sleep(delay)

    def _call(self, convo: list[tuple[str, str]], guard: BudgetGuard, task: str, attempt: int, retry: int,
              reply: LLMReply, limit: _Limit) -> str:
        prompt_tokens = sum(estimate_tokens(content) for _, content in convo)
        timeout_s, what = self._attempt_timeout(limit)
        ticket = guard.admit(task, prompt_tokens=prompt_tokens, max_output_tokens=self.max_output_tokens)
        started = time.monotonic()
        try:
            message = self._invoke_with_deadline(convo, timeout_s, what)
        except Exception as exc:
            guard.record(ticket, TokenUsage())
            reply.events.append(self._event(started, attempt, retry, task, TokenUsage(), outcome="error",
                                            error=scrub(str(exc))[:300]))
            if self._is_transient(exc):
                raise _Transient(exc, retry_after_s(exc)) from exc
            raise self._translate(exc, retries=retry) from exc
        usage = TokenUsage.from_message(message)
        guard.record(ticket, usage)
        text = message.content if isinstance(message.content, str) else str(message.content)
        reply.usage = _add(reply.usage, usage.as_counters())
        parsed = extract_json_object(text) is not None
        reply.events.append(self._event(started, attempt, retry, task, usage,
                                        outcome="ok" if parsed else "unparseable"))
        return text

    def _attempt_timeout(self, limit: _Limit) -> tuple[float, str]:
        """Seconds this attempt may take, and which limit that is: what is left of the call's, or the
        per-attempt limit when it is shorter."""
        left = limit.at - self.now()
        if left <= 0:
            if limit.what == "the agent's deadline":
                raise AgentTimeout("LLM call not made: the agent's deadline has passed; raise the task's "
                                   "execution_timeout or use a faster model")
            raise AgentTimeout(f"LLM call not made: the call passed {limit.what}; raise the agent's timeout "
                               "or use a faster model")
        cap = self.retry.attempt_timeout_s
        if cap is not None and cap < left:
            return cap, f"its {cap:g} s per-attempt limit"
        return left, limit.what

    def _invoke_with_deadline(self, convo: list[tuple[str, str]], timeout_s: float, what: str) -> Any:
        """``model.invoke`` in a daemon thread under a real-time deadline; abandoned (never joined) when late."""
        done, box = threading.Event(), {}
        deadline = time.monotonic() + timeout_s

        def work() -> None:
            try:
                with deadline_at(deadline):
                    box["value"] = self.model.invoke(convo)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="aimod-llm-call", daemon=True).start()
        finished = done.wait(timeout_s)
        late = time.monotonic() >= deadline - _SOCKET_SLACK_S  # a socket timeout fires a hair before the deadline
        if not finished or ("error" in box and late):  # late, or abandoned at the socket by the deadline
            raise AgentTimeout(f"LLM call timed out: it passed {what}; raise the agent's timeout or use a "
                               "faster model") from box.get("error")
        if "error" in box:
            raise box["error"]
        return box["value"]

    @staticmethod
    def _is_transient(exc: Exception) -> bool:
        """429, 5xx, connection faults and timeouts (ours or the backend's) are worth another attempt."""
        if isinstance(exc, AgentTimeout):
            return True
        code = getattr(exc, "status_code", None)
        if isinstance(code, int) and (code == 429 or code >= 500):
            return True
        return any(cls.__name__ in _TRANSIENT for cls in type(exc).__mro__)

    def _translate(self, exc: Exception, *, retries: int) -> Exception:
        if isinstance(exc, AimodError):
            return exc
        # langchain-openai re-raises openai errors as its own subclasses (OpenAIAPIError is an
        # InternalServerError), so classify by every class name in the MRO, not just the leaf's.
        names = [cls.__name__ for cls in type(exc).__mro__]
        name = next((n for n in names if n in _TRANSIENT), names[0])
        detail = scrub(str(exc))  # a gateway may echo the API key back
        if any("Timeout" in n for n in names):
            return AgentTimeout(f"LLM backend timed out ({name}) after {retries} retries: {detail}; raise the "
                                "connection's timeout or retry later")
        hint = (f"transient, still failing after {retries} retries; raise the connection's max_retries or retry "
                "later" if self._is_transient(exc) else "not retried; check the connection's base URL, API key "
                "and model")
        return LLMBackendError(f"LLM backend error {name} ({hint}): {detail}", transient=self._is_transient(exc))

    def _event(self, started: float, attempt: int, retry: int, task: str, usage: TokenUsage,
               **data: Any) -> dict[str, Any]:
        return self.tracer.event(
            "llm_call", "chat", model=model_name(self.model), attempt=attempt, retry=retry, task=task,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            latency_ms=round((time.monotonic() - started) * 1000, 2), **data,
        )


def retry_after_s(exc: BaseException) -> float | None:
    """The wait (seconds) the server asked for in ``retry-after-ms`` / ``retry-after``, if any."""
    for error in (exc, exc.__cause__, exc.__context__):
        headers = getattr(getattr(error, "response", None), "headers", None)
        if headers is None:
            continue
        for key, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(key)
            if value is None:
                continue
            try:
                return float(value) * scale
            except ValueError:
                return _http_date_wait(value) if scale == 1.0 else None
    return None


def _http_date_wait(value: str) -> float | None:
    """Seconds until an HTTP-date Retry-After (RFC 9110), or None when it is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _add(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {k: left.get(k, 0) + right.get(k, 0) for k in set(left) | set(right)}
