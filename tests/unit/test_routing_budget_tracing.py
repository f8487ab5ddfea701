"""Route decisions, token budgets and trace events: the pure rules every agent relies on."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.messages import AIMessage

from airflow_aimod.core.budget import TokenBudget, TokenUsage, estimate_tokens
from airflow_aimod.core.routing import decide, normalize_scores
from airflow_aimod.core.tracing import ListSink, LogSink, Tracer, new_trace_id
from airflow_aimod.exceptions import BudgetExceeded


def test_decide_dispatches_at_threshold_and_sends_the_rest_to_a_person():
    assert decide({"sql_agent": 0.85}).decision == "dispatch"
    assert decide({"sql_agent": 0.8499}).decision == "human_review"
    assert decide({"sql_agent": 0.6}, threshold=0.5).decision == "dispatch"
    empty = decide({})
    assert empty.agent is None and empty.decision == "human_review"
    with pytest.raises(ValueError):
        decide({"a": 1.0}, threshold=0)


def test_scores_from_a_misbehaving_model_are_normalised():
    raw = {"sql_agent": 3, "made_up_agent": 0.99, "data_profiler": "0.5", "summarizer": "nan?", "etl_monitor": -1}
    scores = normalize_scores(raw, ["sql_agent", "data_profiler", "etl_monitor", "summarizer"])
    assert set(scores) == {"sql_agent", "data_profiler", "etl_monitor"}
    assert sum(scores.values()) == pytest.approx(1.0) and scores["etl_monitor"] == 0.0
    assert normalize_scores("not a dict", ["sql_agent"]) == {}


def test_budget_refuses_the_call_that_would_pass_the_limit():
    budget = TokenBudget(1000, used=900)
    budget.check(prompt_tokens=50, max_output_tokens=50)
    with pytest.raises(BudgetExceeded, match="900 of 1000"):
        budget.check(prompt_tokens=51, max_output_tokens=50)
    TokenBudget(None).check(prompt_tokens=10**9, max_output_tokens=10**9)


def test_usage_is_read_from_real_metadata():
    langchain = AIMessage(content="x", usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})
    assert TokenUsage.from_message(langchain) == TokenUsage(12, 3)
    openai_raw = AIMessage(content="x", response_metadata={"token_usage": {"prompt_tokens": 7, "completion_tokens": 2}})
    assert TokenUsage.from_message(openai_raw).total_tokens == 9
    assert TokenUsage.from_message(AIMessage(content="x")).total_tokens == 0
    assert estimate_tokens("") == 0 and estimate_tokens("SELECT a, b FROM t") >= 6


def test_events_carry_the_trace_id_and_reach_the_log(caplog):
    sink = ListSink()
    tracer = Tracer(trace_id=new_trace_id(), agent="sql_agent", sinks=[sink, LogSink()])
    with caplog.at_level(logging.INFO, logger="airflow_aimod.events"):
        event = tracer.tool_call("sql.read", args={"sql": "SELECT secret FROM t"}, outcome="ok", latency_ms=1.5)
        tracer.transition("draft", "running")
    assert sink.events[0] is event and len(sink.events) == 2
    assert event["trace_id"] == tracer.trace_id and "secret" not in json.dumps(event)
    logged = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records]
    assert [e["kind"] for e in logged] == ["tool_call", "transition"]
    with pytest.raises(ValueError):
        tracer.event("nonsense", "x")
