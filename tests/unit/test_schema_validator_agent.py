"""The schema validator graph on the demo warehouse: real executor, SQL guard, GX, SQLite checkpointer.

The offline engine explains; a scripted model shows the model cannot change what passed.
The profile is hand-built in the profile contract's shape from the warehouse's own numbers.
"""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.approval import ApprovalRequest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.schema_validator import ValidatorTools, build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.core.validation import parse_suite
from tests.support.scripted import ScriptedChatModel

ORDERS = 'SELECT * FROM "orders"'
STRICT_SUITE = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "status", "value_set": ["delivered", "shipped", "placed"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "total_amount", "max_value": 3000}},
]


def scalar(db, sql):
    return sqlite3.connect(db).execute(sql).fetchone()[0]


def orders_profile(db) -> dict:
    """The orders table's profile, computed here with plain SQL in the contract's shape."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]

    def col(name, kind, declared, low=None, high=None, top=True):
        distinct = con.execute(f"SELECT COUNT(DISTINCT {name}) FROM orders").fetchone()[0]
        values = [{"value": v, "count": n} for v, n in con.execute(
            f"SELECT {name}, COUNT(*) FROM orders GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")] if top else []
        return {"name": name, "declared_type": declared, "inferred_type": kind, "null_count": 0, "null_rate": 0.0,
                "distinct_count": distinct, "min": low, "max": high, "mean": None, "quantiles": None,
                "top_values": values, "pii": False}

    amount = con.execute("SELECT MIN(total_amount), MAX(total_amount) FROM orders").fetchone()
    columns = [col("id", "integer", "INTEGER", 1, rows, top=False),
               col("customer_id", "integer", "INTEGER", 1, 2000),
               col("order_date", "date", "DATE", "2023-01-01", "2024-12-31"),
               col("status", "string", "TEXT"), col("channel", "string", "TEXT"),
               col("total_amount", "float", "NUMERIC(12,2)", *amount)]
    return {"table": "orders", "row_count": rows, "profiled_rows": rows, "sampled": False, "columns": columns}


class Harness:
    """Builds the graph fresh for every call, as a resumed Airflow task would."""

    def __init__(self, db, url, *, suite=(), profile=None, model=None, sql=ORDERS, max_rows=100_000, envelope=None):
        spec = get_agent("schema_validator")
        self.db, self.url, self.spec, self.sink = db, url, spec, ListSink()
        self.envelope = spec.envelope.override(envelope or {})
        self.model = model or OfflineChatModel()
        self.kwargs = {"sql": sql, "subject": "orders", "expectations": parse_suite(suite), "profile": profile,
                       "max_rows": max_rows}

    def _runner(self, saver, executor, thread):
        runtime = AgentRuntime(spec=self.spec, envelope=self.envelope, llm=self.model,
                               tracer=Tracer(trace_id="trace-v", agent=self.spec.name, sinks=[self.sink]))
        return AgentRunner(build_graph(runtime, ValidatorTools(executor, **self.kwargs)), saver, thread_id=thread)

    def start(self, thread="t"):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.db) as executor:
            state = initial_state(request="Validate orders", agent=self.spec.name, tier=2, trace_id="trace-v")
            return self._runner(saver, executor, thread).start(state)

    def resume(self, answer, thread="t"):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.db) as executor:
            return self._runner(saver, executor, thread).resume(answer)


@pytest.fixture
def harness(warehouse, tmp_path):
    return lambda **kw: Harness(warehouse, f"sqlite:///{tmp_path}/checkpoints.sqlite", **kw)


def test_a_suite_the_data_meets_passes(harness):
    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
             {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
             {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 20000}}]
    state = harness(suite=suite).start().state
    assert state["status"] == "answered", state["reason"]
    validation = state["result"]["validation"]
    assert (validation["success"], validation["evaluated"], validation["failed"], validation["rows"]) == \
        (True, 3, 0, 20000)
    assert state["reason"] == "all 3 expectation(s) passed on 20000 row(s)"
    assert state["result"]["assessment"]["verdict"] == "normal"
    kinds = [(e["kind"], e.get("name")) for e in state["events"] if e["kind"] == "tool_call"]
    assert [k for _, k in kinds] == ["sql.read", "gx.validate"]


def test_violations_are_counted_exactly_and_explained(harness, warehouse):
    state = harness(suite=STRICT_SUITE).start().state
    validation = state["result"]["validation"]
    assert state["status"] == "answered" and not validation["success"]
    assert (validation["evaluated"], validation["successful"], validation["failed"]) == (3, 1, 2)
    by_column = {f["column"]: f for f in validation["failures"]}
    off_status = scalar(warehouse, "SELECT COUNT(*) FROM orders WHERE status NOT IN ('delivered','shipped','placed')")
    big = scalar(warehouse, "SELECT COUNT(*) FROM orders WHERE total_amount > 3000")
    assert off_status > 0 and big > 0
    assert by_column["status"]["unexpected_count"] == off_status
    assert by_column["status"]["unexpected_percent"] == pytest.approx(100 * off_status / 20000, abs=1e-4)
    assert set(by_column["status"]["unexpected_values"]) <= {"cancelled", "returned"}
    assert by_column["total_amount"]["unexpected_count"] == big
    assert all(v > 3000 for v in by_column["total_amount"]["unexpected_values"])
    assert state["reason"] == "2 of 3 expectation(s) failed on 20000 row(s)"
    explanation = state["result"]["explanation"]
    assert f"{off_status} row(s)" in explanation and f"{big} row(s)" in explanation
    assert state["result"]["assessment"]["verdict"] == "anomalous"


def test_the_model_explains_but_cannot_change_the_outcome(harness):
    liar = ScriptedChatModel.of([{"summary": "Everything passed.", "confidence": 1.0}])
    state = harness(suite=STRICT_SUITE, model=liar).start().state
    assert state["result"]["validation"]["failed"] == 2 and state["result"]["assessment"]["verdict"] == "anomalous"
    assert state["result"]["explanation"] == "Everything passed."  # the model's words, shown as such


def test_row_cap_is_reported(harness):
    state = harness(suite=STRICT_SUITE[:1], max_rows=500).start().state
    assert state["result"]["truncated"] is True and state["result"]["validation"]["rows"] == 500
    assert state["reason"] == "all 1 expectation(s) passed on 500 row(s), truncated at max_rows=500"


def test_proposals_pause_with_the_interrupt_payload(harness, warehouse):
    paused = harness(suite=STRICT_SUITE[:1], profile=orders_profile(warehouse)).start()
    assert paused.paused and paused.state["status"] == "needs_approval"
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert (request.agent, request.action, request.action_id, request.trace_id) == \
        ("schema_validator", "gx.update_suite", "suite-1", "trace-v")
    proposed = paused.state["proposed_actions"][-1]["expectations"]
    kinds = [(p["type"], p["kwargs"].get("column")) for p in proposed]
    # 1 column set + id 2 (not-null is the user's already) + customer_id 2 + order_date 2 + status 3 + channel 3
    # + total_amount 3
    assert len(kinds) == 16 and ("expect_column_values_to_not_be_null", "id") not in kinds
    assert ("expect_column_values_to_be_unique", "id") in kinds
    assert ("expect_column_values_to_be_between", "customer_id") not in kinds  # identifiers get no range
    assert "gx.update_suite" in request.reasons[0] and "**Confidence:** 0.95" in request.body
    assert request.body.count("\n- `expect_") == 16 and "`expect_column_values_to_be_unique(column='id')`" in request.body
    assert not [e for e in paused.state["events"] if e["kind"] == "tool_call"]  # nothing read before the answer


def test_approved_proposals_join_the_suite_and_are_validated(harness, warehouse):
    h = harness(suite=STRICT_SUITE[:1], profile=orders_profile(warehouse))
    h.start()
    state = h.resume({"decision": "approve", "reviewer": "alice"}).state
    assert state["status"] == "answered", state["reason"]
    suite = state["result"]["suite"]
    assert len(suite) == 17 and [s["source"] for s in suite].count("proposed") == 16
    validation = state["result"]["validation"]
    assert (validation["evaluated"], validation["failed"]) == (17, 0), validation["failures"]
    assert state["result"]["proposals_decision"] == "approved"
    assert state["approvals"] == [{"action_id": "suite-1", "decision": "approve", "reviewer": "alice"}]
    tools = [e["name"] for e in state["events"] if e["kind"] == "tool_call"]
    assert tools == ["gx.update_suite", "sql.read", "gx.validate"]


def test_rejected_proposals_are_left_out(harness, warehouse):
    h = harness(suite=STRICT_SUITE, profile=orders_profile(warehouse))
    h.start()
    state = h.resume({"decision": "reject", "reviewer": "bob"}).state
    assert state["status"] == "answered" and state["result"]["proposals_decision"] == "rejected"
    assert [s["source"] for s in state["result"]["suite"]] == ["user"] * 3
    assert state["result"]["validation"]["evaluated"] == 3


def test_rejected_proposals_without_a_user_suite_end_rejected(harness, warehouse):
    h = harness(profile=orders_profile(warehouse))
    h.start()
    state = h.resume({"decision": "reject", "reviewer": "bob"}).state
    assert state["status"] == "rejected" and "bob" in state["reason"]
    assert not [e for e in state["events"] if e["kind"] == "tool_call"]


def test_an_envelope_that_trusts_proposals_needs_no_pause(harness, warehouse):
    h = harness(profile=orders_profile(warehouse), envelope={"require_approval": []})
    result = h.start()
    assert not result.paused and result.state["result"]["proposals_decision"] == "auto"
    assert result.state["result"]["validation"]["evaluated"] == 17


def test_a_writing_query_is_blocked_before_anything_runs(harness, warehouse):
    state = harness(suite=STRICT_SUITE, sql="DELETE FROM orders RETURNING *").start().state
    assert state["status"] == "escalated" and "permission envelope" in state["reason"]
    assert not [e for e in state["events"] if e["kind"] == "tool_call"]
    assert scalar(warehouse, "SELECT COUNT(*) FROM orders") == 20000


def test_a_pii_read_needs_approval_and_its_values_are_withheld(harness):
    suite = [{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": r"@example\.com$"}}]
    h = harness(suite=suite, sql="SELECT id, email FROM customers", envelope={"sql": {"pii_tables": ["customers"]}})
    paused = h.start()
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert paused.paused and request.action == "sql.read" and "**Tables:** customers" in request.body
    state = h.resume({"decision": "approve", "reviewer": "steward"}).state
    failure = state["result"]["validation"]["failures"][0]
    assert failure["unexpected_count"] > 0 and failure["unexpected_values"] == [] and failure["values_withheld"]
    assert "@" not in state["result"]["explanation"]


def test_proposals_from_the_real_profiler_hold_on_the_data_it_profiled(harness, warehouse):
    """The profile contract end to end: TableProfiler's profile of orders → proposals → all pass."""
    from airflow_aimod.core.profiling import TableProfiler

    with SqliteReadOnlyExecutor(warehouse) as executor:
        table = next(t for t in executor.catalog().tables if t.name == "orders")
        profile = TableProfiler().profile(table, lambda q: executor.run(q.sql, max_rows=q.max_rows)).to_dict()
    h = harness(profile=profile)
    assert h.start().paused
    state = h.resume({"decision": "approve", "reviewer": "alice"}).state
    validation = state["result"]["validation"]
    assert validation["evaluated"] >= 15 and validation["failed"] == 0, validation["failures"]


def test_a_query_with_duplicate_column_names_is_refused_with_the_fix(harness):
    state = harness(suite=STRICT_SUITE[:1], sql="SELECT id, id FROM orders").start().state
    assert state["status"] == "refused" and "give each an alias" in state["reason"]
