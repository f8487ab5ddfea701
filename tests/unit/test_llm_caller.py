"""LLMCaller: JSON out of any reply, bounded re-asks, deadline, budget, errors that keep their cost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from airflow_aimod.core.llm.caller import LLMCaller, RetryPolicy
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.prompts import route_messages
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import AgentTimeout, BudgetExceeded, LLMBackendError, LLMResponseError

ASK = [("system", "Reply with one JSON object."), ("human", "How many orders?")]
from tests.support.steps import step_fails


class FakeChat(BaseChatModel):
    """Scripted chat model: replies in order (the last repeats), fixed usage, optional wait or error."""

    replies: list[Any]
    usage: tuple[int, int] = (50, 10)
    gate: Any = None  # a threading.Event to wait on before replying
    prompts: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        if self.gate is not None:
            self.gate.wait(5)
        reply = self.replies[min(len(self.prompts), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        usage = {"input_tokens": self.usage[0], "output_tokens": self.usage[1], "total_tokens": sum(self.usage)}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply, usage_metadata=usage))])


class InternalServerError(Exception):
    """Named like openai's: a transient error the client already retried."""


class OpenAIAPIError(InternalServerError):
    """Named like langchain-openai's wrapper, which subclasses the openai error."""


class APITimeoutError(Exception):
    """Named like openai's timeout."""


def make(model: Any, *, budget: int | None = None, timeout_s: float = 5.0, max_output_tokens: int = 100,
         max_reasks: int = 2, max_retries: int = 0) -> tuple[LLMCaller, ListSink]:
    """A caller without retries unless asked (tests/unit/test_llm_retries.py covers them), never sleeping."""
    sink = ListSink()
    tracer = Tracer(trace_id="t" * 32, agent="unit", sinks=[sink])
    return LLMCaller(model, tracer=tracer, token_budget=budget, timeout_s=timeout_s,
                     max_output_tokens=max_output_tokens, max_reasks=max_reasks,
                     retry=RetryPolicy(max_retries=max_retries), sleep=lambda s: None), sink


def test_offline_model_declines_unknown_tasks_in_json():
    caller, sink = make(OfflineChatModel())
    reply = caller.ask_json(ASK, task="nl2sql", used_tokens=0, required=("refusal", "confidence"))
    assert reply.data["confidence"] == 0.0 and "offline engine" in reply.data["refusal"]
    assert reply.usage["llm_calls"] == 1 and reply.usage["total_tokens"] > 0
    assert sink.events == reply.events and reply.events[0]["data"]["model"] == "aimod-offline-1"


def test_offline_model_routes_from_the_prompt_context():
    agents = [{"name": "sql_agent", "description": "answers data questions with SQL", "examples": ["how many orders"]},
              {"name": "etl_monitor", "description": "diagnoses failed DAG runs", "examples": ["why did my dag fail"]}]
    caller, _ = make(OfflineChatModel())
    reply = caller.ask_json(list(route_messages("how many orders last month", agents).messages), task="route", used_tokens=0, required=("scores",))
    assert max(reply.data["scores"], key=reply.data["scores"].get) == "sql_agent"


def test_fenced_json_in_prose_is_parsed_first_time():
    model = FakeChat(replies=['Sure! Here it is:\n```json\n{"count": 3, "note": "ok"}\n```\nAnything else?'])
    caller, _ = make(model)
    reply = caller.ask_json(ASK, task="nl2sql", used_tokens=0, required=("count",))
    assert reply.data == {"count": 3, "note": "ok"} and len(model.prompts) == 1
    assert reply.usage == {"input_tokens": 50, "output_tokens": 10, "total_tokens": 60, "llm_calls": 1}
    event = reply.events[0]
    assert event["kind"] == "llm_call" and event["data"]["outcome"] == "ok" and event["data"]["model"] == "FakeChat"
    assert event["data"]["latency_ms"] >= 0 and event["trace_id"] == "t" * 32


def test_missing_required_keys_are_re_asked_and_usage_summed():
    model = FakeChat(replies=['{"count": 3}', '{"count": 3, "sql": "SELECT 3"}'])
    caller, _ = make(model)
    reply = caller.ask_json(ASK, task="nl2sql", used_tokens=0, required=("count", "sql"))
    assert reply.data == {"count": 3, "sql": "SELECT 3"} and len(model.prompts) == 2
    reask = model.prompts[1]
    assert reask[-2].content == '{"count": 3}' and "lacked the keys ['sql']" in reask[-1].content
    assert reply.usage == {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120, "llm_calls": 2}
    assert [e["data"]["attempt"] for e in reply.events] == [1, 2]


def test_prose_every_time_gives_up_after_the_bounded_re_asks():
    model = FakeChat(replies=["I think there are about three orders."])
    caller, _ = make(model, max_reasks=2)
    with step_fails(LLMResponseError, match="was not a JSON object after 2 re-asks") as info:
        caller.ask_json(ASK, task="nl2sql", used_tokens=0)
    assert len(model.prompts) == 3
    partial = info.value
    assert partial.usage["llm_calls"] == 3 and partial.usage["total_tokens"] == 180
    assert [e["data"]["outcome"] for e in partial.events] == ["unparseable"] * 3


def test_a_model_that_hangs_hits_the_deadline():
    gate = threading.Event()
    caller, _ = make(FakeChat(replies=['{"late": true}'], gate=gate), timeout_s=0.2)
    started = time.monotonic()
    try:
        with step_fails(AgentTimeout, match=r"timed out: it passed its 0.2 s deadline") as info:
            caller.ask_json(ASK, task="nl2sql", used_tokens=0)
    finally:
        gate.set()
    assert time.monotonic() - started < 2
    assert [e["data"]["outcome"] for e in info.value.events] == ["error"]
    assert info.value.usage == {}


def test_budget_is_checked_before_any_call():
    model = FakeChat(replies=['{"a": 1}'])
    caller, _ = make(model, budget=1000, max_output_tokens=200)
    with step_fails(BudgetExceeded, match="900 of 1000"):
        caller.ask_json(ASK, task="nl2sql", used_tokens=900)
    assert model.prompts == []


def test_budget_counts_the_tokens_of_earlier_re_asks():
    model = FakeChat(replies=["no json here"], usage=(800, 100))
    caller, _ = make(model, budget=1000, max_output_tokens=150)
    with step_fails(BudgetExceeded, match="900 of 1000") as info:
        caller.ask_json(ASK, task="nl2sql", used_tokens=0)
    assert len(model.prompts) == 1  # the re-ask would have passed the limit, so it was never sent
    assert info.value.usage["total_tokens"] == 900
    assert len(info.value.events) == 1


@pytest.mark.parametrize("error", [InternalServerError("Error code: 500"), OpenAIAPIError("Error code: 500")])
def test_transient_backend_errors_say_they_were_retried(error):
    model = FakeChat(replies=[error])
    caller, _ = make(model, max_retries=2)
    with step_fails(LLMBackendError, match=r"InternalServerError \(transient, still failing after 2 retries") as info:
        caller.ask_json(ASK, task="nl2sql", used_tokens=0)
    assert len(model.prompts) == 3
    assert [e["data"]["error"] for e in info.value.events] == ["Error code: 500"] * 3


def test_other_backend_errors_say_what_to_check():
    caller, _ = make(FakeChat(replies=[ValueError("Unexpected response type")]))
    with step_fails(LLMBackendError, match="ValueError .not retried; check the connection's base URL"):
        caller.ask_json(ASK, task="nl2sql", used_tokens=0)


def test_backend_timeouts_become_agent_timeouts():
    caller, _ = make(FakeChat(replies=[APITimeoutError("Request timed out.")]))
    with step_fails(AgentTimeout, match="raise the connection's timeout"):
        caller.ask_json(ASK, task="nl2sql", used_tokens=0)
