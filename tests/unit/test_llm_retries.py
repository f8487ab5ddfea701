"""LLMCaller's own retries: 429/5xx/timeouts with backoff and jitter, Retry-After, budget and deadline re-checked.

Time is injected: ``sleep`` records the waits and advances a fake clock, so nothing sleeps.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_aimod.core.budget import BudgetGuard, BudgetLimits
from airflow_aimod.core.llm.caller import LLMCaller, RetryPolicy, retry_after_s
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import AgentTimeout, BudgetExceeded, LLMBackendError
from tests.unit.test_llm_caller import ASK, APITimeoutError, FakeChat
from tests.support.steps import step_fails


class RateLimitError(Exception):
    """Named and shaped like openai's: ``status_code`` and a response with headers."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__("Error code: 429 - rate limited")
        self.status_code = 429
        self.response = SimpleNamespace(headers=headers or {})


class BadRequestError(Exception):
    """A 400: never retried."""

    status_code = 400


class Clock:
    """A fake monotonic clock; ``sleep`` advances it and records the wait."""

    def __init__(self) -> None:
        self.t, self.waits = 1000.0, []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.t += seconds


def caller(model: Any, clock: Clock, *, retries: int = 3, guard: BudgetGuard | None = None,
           deadline: float | None = None, rand: float = 0.0, **policy: Any) -> tuple[LLMCaller, ListSink]:
    sink = ListSink()
    return LLMCaller(model, tracer=Tracer(trace_id="r" * 32, agent="unit", sinks=[sink]), timeout_s=5.0,
                     max_output_tokens=100, retry=RetryPolicy(max_retries=retries, **policy), guard=guard,
                     deadline=deadline, sleep=clock.sleep, now=clock.now, random=lambda: rand), sink


def test_429_then_200_backs_off_exponentially_and_counts_only_the_answer():
    model = FakeChat(replies=[RateLimitError(), RateLimitError(), '{"ok": 1}'])
    clock = Clock()
    reply = caller(model, clock)[0].ask_json(ASK, task="nl2sql")
    assert reply.data == {"ok": 1} and len(model.prompts) == 3
    assert clock.waits == [0.5, 1.0]  # base 0.5 s, doubled; rand=0 means no jitter taken off
    assert reply.usage == {"input_tokens": 50, "output_tokens": 10, "total_tokens": 60, "llm_calls": 1}
    events = [e["data"] for e in reply.events]
    assert [(e["retry"], e["outcome"], e.get("retry_in_s")) for e in events] == [
        (0, "error", 0.5), (1, "error", 1.0), (2, "ok", None)]
    assert {e["task"] for e in events} == {"nl2sql"}


def test_jitter_shortens_each_wait_by_up_to_its_fraction():
    model = FakeChat(replies=[RateLimitError(), RateLimitError(), RateLimitError(), '{"ok": 1}'])
    clock = Clock()
    caller(model, clock, rand=1.0, jitter=0.5)[0].ask_json(ASK, task="nl2sql")
    assert clock.waits == [0.25, 0.5, 1.0]  # 0.5, 1, 2 halved


def test_waits_are_capped_by_max_delay():
    policy = RetryPolicy(max_retries=8, base_delay_s=1, max_delay_s=5, jitter=0)
    assert [policy.delay_s(n, retry_after=None, rand=0.3) for n in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(("headers", "wait"), [({"retry-after-ms": "250"}, 0.25), ({"retry-after": "3"}, 3.0)])
def test_retry_after_from_the_server_replaces_the_backoff(headers, wait):
    model = FakeChat(replies=[RateLimitError(headers), '{"ok": 1}'])
    clock = Clock()
    caller(model, clock, rand=1.0)[0].ask_json(ASK, task="nl2sql")
    assert clock.waits == [wait]


def test_retry_after_as_an_http_date_and_nonsense():
    assert retry_after_s(RateLimitError({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # in the past
    assert retry_after_s(RateLimitError({"retry-after": "soon"})) is None
    assert retry_after_s(ValueError("no response")) is None


def test_a_server_asking_for_a_long_wait_is_not_waited_for():
    model = FakeChat(replies=[RateLimitError({"retry-after": "3600"}), '{"ok": 1}'])
    clock = Clock()
    with step_fails(LLMBackendError, match="asked to retry after 3600 s, more than the 60 s an agent waits"):
        caller(model, clock)[0].ask_json(ASK, task="nl2sql")
    assert clock.waits == [] and len(model.prompts) == 1


def test_retries_are_bounded_and_the_error_says_how_many():
    model = FakeChat(replies=[RateLimitError()])
    clock = Clock()
    with step_fails(LLMBackendError, match=r"RateLimitError \(transient, still failing after 2 retries") as info:
        caller(model, clock, retries=2)[0].ask_json(ASK, task="nl2sql")
    assert len(model.prompts) == 3 and clock.waits == [0.5, 1.0]
    assert len(info.value.events) == 3 and info.value.usage == {}


def test_a_client_error_is_not_retried():
    model = FakeChat(replies=[BadRequestError("Error code: 400 - bad model")])
    clock = Clock()
    with step_fails(LLMBackendError, match="BadRequestError .not retried"):
        caller(model, clock)[0].ask_json(ASK, task="nl2sql")
    assert len(model.prompts) == 1 and clock.waits == []


def test_backend_timeouts_are_retried_then_become_an_agent_timeout():
    model = FakeChat(replies=[APITimeoutError("Request timed out.")])
    clock = Clock()
    with step_fails(AgentTimeout, match=r"timed out \(APITimeoutError\) after 1 retries"):
        caller(model, clock, retries=1)[0].ask_json(ASK, task="nl2sql")
    assert len(model.prompts) == 2


def test_a_wait_that_would_pass_the_deadline_is_not_started():
    model = FakeChat(replies=[RateLimitError(), RateLimitError(), '{"ok": 1}'])
    clock = Clock()
    with step_fails(LLMBackendError, match="no retry: waiting 1.00 s would pass the agent's deadline"):
        caller(model, clock, deadline=clock.t + 1.2)[0].ask_json(ASK, task="nl2sql")
    assert clock.waits == [0.5] and len(model.prompts) == 2


def test_no_call_starts_after_the_deadline():
    model = FakeChat(replies=['{"ok": 1}'])
    clock = Clock()
    with step_fails(AgentTimeout, match="the agent's deadline has passed"):
        caller(model, clock, deadline=clock.t - 1)[0].ask_json(ASK, task="nl2sql")
    assert model.prompts == []


def test_each_retry_is_checked_against_the_budget_again():
    class Ledger:
        """Another task of the run spends the shared budget while this one backs off."""

        def __init__(self) -> None:
            self.free, self.log = 500, []

        def reserve(self, task: str, tokens: int) -> None:
            if tokens > self.free:
                raise BudgetExceeded(f"DAG run token budget exhausted: {tokens} > {self.free}")
            self.free -= tokens
            self.log.append(("reserve", tokens))

        def settle(self, task: str, reserved: int, used: int) -> None:
            self.free += reserved - used
            self.log.append(("settle", reserved, used))

    ledger = Ledger()
    clock = Clock()
    model = FakeChat(replies=[RateLimitError(), '{"ok": 1}'])
    guard = BudgetGuard(BudgetLimits(), ledger=ledger)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        ledger.free = 100  # meanwhile the other task spent most of the run's budget

    llm, _ = caller(model, clock, guard=guard)
    llm.sleep = sleep
    with step_fails(BudgetExceeded, match="DAG run token budget exhausted"):
        llm.ask_json(ASK, task="nl2sql")
    needed = ledger.log[0][1]
    assert ledger.log == [("reserve", needed), ("settle", needed, 0)] and len(model.prompts) == 1


def test_retries_of_one_call_never_double_its_usage_in_the_budget():
    guard = BudgetGuard(BudgetLimits(total=1000))
    model = FakeChat(replies=[RateLimitError(), RateLimitError(), '{"ok": 1}'])
    caller(model, Clock(), guard=guard)[0].ask_json(ASK, task="route")
    assert guard.used_total == 60 and guard.used_by_task == {"route": 60}
