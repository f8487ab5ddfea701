"""The data profiler graph on the demo warehouse: real read-only executor, SQL guard, checkpointer, offline engine."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.agents.data_profiler import ProfilerTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel


def run(db, request="Profile the orders table", *, model=None, envelope=None, **tool_options):
    spec = get_agent("data_profiler")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope.override(envelope or {}), llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-p", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(db) as executor:
        tools = ProfilerTools(executor, **tool_options)
        state = initial_state(request=request, agent=spec.name, tier=2, trace_id="t-p")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="t").start(state).state


def sql_calls(state):
    return [e for e in state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]


def count(db, sql):
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchone()[0]


def test_a_request_is_resolved_to_the_table_profiled_judged_and_explained(warehouse):
    state = run(warehouse)
    assert state["status"] == "answered", state["reason"]
    result = state["result"]
    profile = result["profile"]
    assert result["table"] == profile["table"] == "orders" and result["choice"] == "orders matches order"
    assert profile["row_count"] == count(warehouse, "SELECT COUNT(*) FROM orders") == 20000
    status = next(c for c in profile["columns"] if c["name"] == "status")
    assert status["distinct_count"] == count(warehouse, "SELECT COUNT(DISTINCT status) FROM orders")
    assert status["top_values"][0] == {"value": "delivered", "count": count(
        warehouse, "SELECT COUNT(*) FROM orders WHERE status = 'delivered'")}
    amount = next(c for c in profile["columns"] if c["name"] == "total_amount")
    assert amount["mean"] == round(count(warehouse, "SELECT AVG(total_amount) FROM orders"), 6)
    assert result["assessment"]["verdict"] == "normal" and state["confidence"] == 0.9
    assert result["explanation"].startswith("orders: 20,000 rows, 6 columns profiled. Quality: normal")
    kinds = [e["kind"] for e in state["events"]]
    assert kinds.count("llm_call") == 1 and len(sql_calls(state)) == profile["queries"]


def test_a_missing_table_is_refused_before_any_query(warehouse):
    state = run(warehouse, "Profile the employees table")
    assert state["status"] == "refused"
    assert state["reason"].startswith("the schema has no table for 'employees'; tables: customers, order_items")
    assert not sql_calls(state) and not [e for e in state["events"] if e["kind"] == "llm_call"]


@pytest.mark.parametrize("request_text, table", [("DELETE FROM orders", None), ("drop table orders", None),
                                                 ("Profile it", "orders; DELETE FROM orders")])
def test_delete_like_input_never_runs(warehouse, request_text, table):
    before = count(warehouse, "SELECT COUNT(*) FROM orders")
    state = run(warehouse, request_text, table=table)
    assert state["status"] == "refused" and not sql_calls(state)
    assert "only reads" in state["reason"] or "has no table 'orders; DELETE FROM orders'" in state["reason"]
    assert count(warehouse, "SELECT COUNT(*) FROM orders") == before


def test_pii_tables_get_counts_only_without_a_person(warehouse):
    state = run(warehouse, "profile the customers data", envelope={"sql": {"pii_tables": ["customers"]}})
    assert state["status"] == "answered", state["reason"]
    columns = state["result"]["profile"]["columns"]
    assert all(c["pii"] and c["top_values"] == [] and c["min"] is None for c in columns)
    segment = next(c for c in columns if c["name"] == "segment")
    assert segment["distinct_count"] == 3 and segment["null_count"] == 0
    exempt = [e for e in state["events"] if e["kind"] == "guard" and e["name"] == "pii_counts_only"]
    assert len(exempt) == len(sql_calls(state)) == 2  # the row count and one count-only aggregate statement
    assert "Values withheld as PII (counts only)" in state["result"]["explanation"]


def test_columns_detected_as_pii_by_value_say_so_in_the_trace(tmp_path):
    """Values withheld because they look like personal data get the same ``pii_counts_only`` event as declared
    PII columns (it used to fire for declared ones only)."""
    db = tmp_path / "contacts.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, contact TEXT, tel TEXT, status TEXT)")
        con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?)", [
            (i, f"person{i % 4}@example.org", f"+49 30 {1234560 + i % 3}", "open" if i % 3 else "closed")
            for i in range(1, 13)])
    con.close()
    state = run(db, "Profile the leads table")
    assert state["status"] == "answered", state["reason"]
    columns = {c["name"]: c for c in state["result"]["profile"]["columns"]}
    by_value = sorted(name for name, c in columns.items() if c["pii_by_value"])
    assert by_value == ["contact", "tel"] and columns["status"]["top_values"]
    events = [e["data"] for e in state["events"] if e["kind"] == "guard" and e["name"] == "pii_counts_only"]
    assert sorted(e["column"] for e in events) == by_value and {e["detected"] for e in events} == {"by_value"}
    assert all("withheld" in e["note"] for e in events) and "@example.org" not in str(events)


def test_an_envelope_that_requires_approval_for_every_query_is_not_bypassed(warehouse):
    state = run(warehouse, envelope={"require_approval": ["sql.read"]})
    assert state["status"] == "escalated" and "needs a person's approval" in state["reason"]
    assert not [e for e in sql_calls(state) if e["data"]["outcome"] == "ok"]


def test_the_model_explains_but_cannot_change_the_verdict(warehouse):
    liar = ScriptedChatModel.of([{"summary": "The table is badly broken.", "confidence": 1.0}])
    state = run(warehouse, model=liar, table="orders", thresholds={"max_null_rate": 0.0})
    assert state["result"]["assessment"]["verdict"] == "normal" and state["confidence"] == 0.9
    assert state["result"]["explanation"] == "The table is badly broken."  # the model's words, shown as such


def test_thresholds_decide_and_a_sampled_profile_says_so(warehouse):
    state = run(warehouse, table="orders", sample_rows=5000, thresholds={"key_columns": ["customer_id"]})
    profile, assessment = state["result"]["profile"], state["result"]["assessment"]
    # step = ceil(20000 / 5000) = 4: rows 1, 5, 9, ... -> exactly 5000 rows
    assert (profile["row_count"], profile["profiled_rows"], profile["sampled"]) == (20000, 5000, True)
    assert assessment["verdict"] == "anomalous" and assessment["confidence"] == 0.75
    assert [f["check"] for f in assessment["findings"]] == ["duplicate_key"]
    assert "statistics on a sample of 5,000" in state["result"]["explanation"]


def test_thresholds_naming_a_missing_column_are_refused(warehouse):
    state = run(warehouse, table="orders", thresholds={"key_columns": ["order_id"]})
    assert state["status"] == "refused" and "name column(s) 'order_id' that orders does not have" in state["reason"]


def test_a_wide_table_is_capped_and_an_empty_one_cannot_be_judged(tmp_path):
    db = tmp_path / "wide.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE wide (" + ", ".join(f"c{i:02d} INTEGER" for i in range(60)) + ")")
        con.executemany("INSERT INTO wide VALUES (" + ", ".join("?" * 60) + ")",
                        [tuple(r * 100 + i for i in range(60)) for r in range(3)])
        con.execute("CREATE TABLE nothing_yet (id INTEGER PRIMARY KEY, label TEXT)")
    con.close()
    state = run(db, "profile the wide table")
    profile = state["result"]["profile"]
    assert len(profile["columns"]) == 50 and profile["skipped_columns"] == [f"c{i}" for i in range(50, 60)]
    # 1 row count + 3 aggregate statements (20 + 20 + 10 columns) + 50 quantile queries (every column is unique)
    assert profile["queries"] == len(sql_calls(state)) == 54
    assert "50 columns profiled (10 more not profiled)" in state["result"]["explanation"]
    empty = run(db, table="nothing_yet", thresholds={"min_rows": 0})
    assert empty["status"] == "answered" and empty["result"]["assessment"]["verdict"] == "unknown"
    assert empty["result"]["explanation"] == "Cannot judge nothing_yet: nothing_yet has no rows, so its columns " \
                                             "cannot be judged."
