"""The task-router graph with scripted models: dispatch, human review, garbage, budget."""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.task_router import build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel


def route(model, request="how many orders last month", *, budget=None, threshold=0.85):
    spec = get_agent("task_router")
    envelope = spec.envelope if budget is None else spec.envelope.override({"token_budget": budget})
    sink = ListSink()
    runtime = AgentRuntime(spec=spec, envelope=envelope, llm=model, tracer=Tracer(trace_id="t1", agent=spec.name,
                                                                                 sinks=[sink]))
    with open_checkpointer("memory://") as saver:
        runner = AgentRunner(build_graph(runtime, threshold=threshold), saver, thread_id="router-test")
        state = runner.start(initial_state(request=request, agent=spec.name, tier=1, trace_id="t1")).state
    return state, sink.events


def test_confident_scores_dispatch():
    state, events = route(ScriptedChatModel.of([{"scores": {"sql_agent": 0.93, "data_profiler": 0.04},
                                                  "rationale": "a count over orders"}]))
    assert state["status"] == "answered"
    assert state["result"]["agent"] == "sql_agent" and state["result"]["decision"] == "dispatch"
    assert state["token_usage"] == {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120, "llm_calls": 1}
    assert {e["kind"] for e in events} >= {"llm_call", "transition", "handoff", "guard"} - {"guard"}
    assert all(e["trace_id"] == "t1" for e in events)


def test_low_confidence_and_invented_agents_go_to_a_person():
    state, _ = route(ScriptedChatModel.of([{"scores": {"sql_agent": 0.6, "data_profiler": 0.3}}]))
    assert state["status"] == "escalated" and state["result"]["decision"] == "human_review"
    state, _ = route(ScriptedChatModel.of([{"scores": {"drop_everything_agent": 1.0}}]))
    assert state["result"]["agent"] is None and state["result"]["decision"] == "human_review"


def test_garbage_replies_are_reasked_then_escalated():
    model = ScriptedChatModel.of(["I think SQL?", "```not json```", "still prose"])
    state, events = route(model)
    assert state["status"] == "escalated" and "re-asks" in state["reason"]
    assert len(model.prompts) == 3 and state["token_usage"]["llm_calls"] == 3
    assert [e["data"]["outcome"] for e in events if e["kind"] == "llm_call"] == ["unparseable"] * 3


def test_budget_stops_the_call_before_it_is_made():
    model = ScriptedChatModel.of([{"scores": {"sql_agent": 1.0}}])
    state, _ = route(model, budget=50)
    assert state["status"] == "budget_exceeded" and model.prompts == []


@pytest.mark.parametrize("request_text", ["", "   \n "])
def test_empty_request_never_calls_the_model(request_text):
    model = ScriptedChatModel.of([{"scores": {"sql_agent": 1.0}}])
    state, _ = route(model, request_text)
    assert state["status"] == "escalated" and model.prompts == []
