"""The anomaly detector graph on the demo warehouse with an injected spike: real executor, guard, checkpointer."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.agents.anomaly_detector import AnomalyTools, build_graph, series_from_rows
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.anomaly import AnomalyDetector
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.demo.anomalies import with_order_spike
from tests.support.scripted import ScriptedChatModel

DAILY = ("SELECT date(order_date) AS day, COUNT(*) AS orders FROM orders "
         "WHERE order_date >= '2024-04-01' AND order_date < '2024-07-01' GROUP BY 1 ORDER BY 1")


@pytest.fixture(scope="module")
def spiked(warehouse, tmp_path_factory):
    return with_order_spike(warehouse, tmp_path_factory.mktemp("spike") / "spiked.db", day="2024-06-15")


def run(db, model=None, *, sql=DAILY, series=None, sensitivity="low"):
    spec = get_agent("anomaly_detector")
    sink = ListSink()
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-1", agent=spec.name, sinks=[sink]))
    with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(db) as executor:
        tools = AnomalyTools(AnomalyDetector(sensitivity=sensitivity), subject="orders per day", executor=executor,
                             metric_sql=None if series is not None else sql, series=series)
        state = initial_state(request="Detect anomalies in orders per day", agent=spec.name, tier=2, trace_id="t-1")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="t").start(state).state


def test_the_injected_spike_is_found_and_explained_from_the_numbers(spiked):
    state = run(spiked)
    assert state["status"] == "answered"
    flags = state["result"]["detection"]["flags"]
    assert [(f["ts"], f["value"], f["direction"]) for f in flags] == [("2024-06-15T00:00:00", 327.0, "spike")]
    assert state["result"]["assessment"]["verdict"] == "anomalous"
    assert "2024-06-15" in state["result"]["explanation"] and "327" in state["result"]["explanation"]
    kinds = [e["kind"] for e in state["events"]]
    assert kinds.count("tool_call") == 1 and kinds.count("llm_call") == 1


def test_the_clean_warehouse_is_normal_at_low_sensitivity(warehouse):
    state = run(warehouse)
    assert state["result"]["assessment"]["verdict"] == "normal"
    assert "nothing to act on" in state["result"]["explanation"]


def test_the_model_explains_but_cannot_change_the_verdict(spiked):
    liar = ScriptedChatModel.of([{"summary": "All good, no anomalies at all.", "confidence": 1.0}])
    state = run(spiked, liar)
    assert len(state["result"]["detection"]["flags"]) == 1
    assert state["result"]["assessment"]["verdict"] == "anomalous"
    assert state["result"]["explanation"] == "All good, no anomalies at all."  # shown as the model's words only


def test_the_explanation_counts_every_flag_even_those_the_model_was_not_shown(warehouse):
    import random

    from airflow_aimod.core.agents.anomaly_detector import MAX_FLAGS_IN_PROMPT

    rng = random.Random(3)
    values = [rng.gauss(100, 5) for _ in range(300)]
    for i in range(0, 300, 9)[:31]:
        values[i] = 400.0 + i  # 31 spikes, more than the prompt carries
    state = run(warehouse, series=values)
    flags = state["result"]["detection"]["flags"]
    assert len(flags) == 31 > MAX_FLAGS_IN_PROMPT
    explanation = state["result"]["explanation"]
    assert "31 anomalous point(s)" in explanation and "and 28 more" in explanation, explanation


def test_a_writing_metric_query_is_blocked_before_it_runs(spiked):
    before = sqlite3.connect(spiked).execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    state = run(spiked, sql="DELETE FROM orders RETURNING order_date, id")
    assert state["status"] in ("escalated", "failed", "refused") and state["status"] != "answered"
    assert sqlite3.connect(spiked).execute("SELECT COUNT(*) FROM orders").fetchone()[0] == before
    assert not [e for e in state["events"] if e["kind"] == "tool_call" and e.get("outcome") == "ok"]


def test_a_query_of_the_wrong_shape_is_refused_with_what_to_return(spiked):
    state = run(spiked, sql="SELECT id, order_date, total_amount FROM orders LIMIT 20")
    assert state["status"] == "refused" and "(timestamp, value)" in state["reason"]


def test_short_history_is_an_honest_unknown(warehouse):
    state = run(warehouse, series=[3, 4, 5])
    assert state["status"] == "answered" and state["result"]["assessment"]["verdict"] == "unknown"
    assert state["result"]["explanation"].startswith("Cannot judge orders per day")


def test_series_from_rows_shapes():
    assert series_from_rows(["v"], [(1,), (2,)]) == [1, 2]
    assert series_from_rows(["d", "v"], [("2024-01-01", 1)]) == [("2024-01-01", 1)]
