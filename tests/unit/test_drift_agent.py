"""The drift detector graph on the demo warehouse with an injected drift: real executor, guard, checkpointer."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.agents.drift_detector import DriftTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.ml.drift import DriftDetector
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.demo.drift import with_drifted_orders
from tests.support.scripted import ScriptedChatModel

COLUMNS = "channel, total_amount"
REFERENCE = f"SELECT {COLUMNS} FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2024-07-01'"
CURRENT = f"SELECT {COLUMNS} FROM orders WHERE order_date >= '2024-10-01'"


@pytest.fixture(scope="module")
def drifted(warehouse, tmp_path_factory):
    return with_drifted_orders(warehouse, tmp_path_factory.mktemp("drift") / "drifted.db")


def run(db, model=None, *, reference=REFERENCE, current=CURRENT, max_rows=50_000):
    spec = get_agent("drift_detector")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-1", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(db) as executor:
        tools = DriftTools(DriftDetector(), subject="orders", executor=executor, reference_sql=reference,
                           current_sql=current, max_rows=max_rows)
        state = initial_state(request="Detect drift in orders", agent=spec.name, tier=3, trace_id="t-1")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="t").start(state).state


def test_the_injected_drift_is_found_and_explained_from_the_numbers(drifted):
    state = run(drifted)
    assert state["status"] == "answered"
    drift = state["result"]["drift"]
    assert drift["verdict"] == "drift" and sorted(drift["drifted"]) == ["channel", "total_amount"]
    assert drift["features"]["channel"]["new_categories"] == ["partner"]
    assert state["result"]["assessment"]["verdict"] == "anomalous"
    assert "total_amount" in state["result"]["explanation"] and "partner" in state["result"]["explanation"]
    kinds = [e["kind"] for e in state["events"]]
    assert kinds.count("tool_call") == 2 and kinds.count("llm_call") == 1


def test_the_clean_warehouse_has_no_drift_in_the_same_columns(warehouse):
    state = run(warehouse)
    assert state["result"]["drift"]["verdict"] == "no_drift" and state["result"]["assessment"]["verdict"] == "normal"
    assert "no column drifted" in state["result"]["explanation"]


def test_a_tiny_current_sample_is_unknown(drifted):
    state = run(drifted, current=CURRENT + " LIMIT 12")
    assert state["result"]["drift"]["verdict"] == "unknown" and state["result"]["drift"]["drifted"] == []
    assert "Cannot judge" in state["result"]["explanation"]


def test_a_capped_sample_is_said_so(drifted):
    state = run(drifted, max_rows=500)
    assert state["result"]["truncated"] == ["reference", "current"]
    assert "capped at 500 rows" in state["reason"] and "capped" in state["result"]["explanation"]


def test_the_model_explains_but_cannot_change_the_verdict(drifted):
    liar = ScriptedChatModel.of([{"summary": "Nothing drifted.", "confidence": 1.0}])
    state = run(drifted, liar)
    assert state["result"]["drift"]["verdict"] == "drift" and state["result"]["assessment"]["verdict"] == "anomalous"
    assert state["result"]["explanation"] == "Nothing drifted."


def test_a_writing_query_is_blocked_before_it_runs(drifted):
    before = sqlite3.connect(drifted).execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    state = run(drifted, current="DELETE FROM orders RETURNING channel, total_amount")
    assert state["status"] != "answered"
    assert sqlite3.connect(drifted).execute("SELECT COUNT(*) FROM orders").fetchone()[0] == before
