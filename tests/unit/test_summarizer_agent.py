"""The summarizer graph with a real checkpointer: offline (extractive) and with a model that makes things up."""

from __future__ import annotations

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.summarizer import SummarizerTools, build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel
from tests.unit.faithfulness_cases import INCIDENT


def run(model=None, *, source=INCIDENT, max_words=40, audience="engineer"):
    spec = get_agent("summarizer")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-s", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer("memory://") as saver:
        state = initial_state(request="Summarize the incident", agent=spec.name, tier=4, trace_id="t-s")
        tools = SummarizerTools(source=source, max_words=max_words, audience=audience)
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="s").start(state).state


def test_the_offline_summary_is_extractive_faithful_and_within_budget():
    state = run()
    result = state["result"]
    assert state["status"] == "answered" and result["faithful"] and result["unsupported"] == []
    assert 0 < result["words"] <= 40 and result["attempts"] == 1
    assert all(sentence.strip(" .") in INCIDENT for sentence in result["summary"].split(". ")), result["summary"]
    assert set(result) == set(get_agent("summarizer").result_keys)


def test_an_invented_number_is_removed_by_one_rewrite():
    model = ScriptedChatModel.of([
        {"summary": "payments_ingest failed after 5 retries; the backlog peaked at 48,915 events.", "confidence": 0.9},
        {"summary": "payments_ingest failed after 3 retries; the backlog peaked at 48,915 events.", "confidence": 0.9},
    ])
    state = run(model)
    assert state["status"] == "answered" and state["result"]["attempts"] == 2
    assert "3 retries" in state["result"]["summary"]
    llm_calls = [e for e in state["events"] if e["kind"] == "llm_call"]
    assert len(llm_calls) == 2


def test_a_model_that_keeps_inventing_is_not_delivered_and_the_claims_are_named():
    lie = {"summary": "Maria Lopez fixed the outage on 2025-03-09 in 12 minutes.", "confidence": 1.0}
    state = run(ScriptedChatModel.of([lie, lie]))
    result = state["result"]
    assert state["status"] == "refused" and result["summary"] is None and result["faithful"] is False
    failed = {u["text"] for u in result["unsupported"]}
    assert {"Maria Lopez", "2025-03-09", "12"} <= failed
    assert result["draft"] == lie["summary"] and "not faithful" in state["reason"]


def test_an_empty_source_is_refused_without_a_call():
    state = run(source="   ")
    assert state["status"] == "refused" and "empty" in state["reason"]
    assert not [e for e in state["events"] if e["kind"] == "llm_call"]
