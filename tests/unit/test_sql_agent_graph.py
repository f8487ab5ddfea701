"""The SQL agent graph on the demo warehouse: repairs, refusals, approval pauses and resumes.

Scripted models stand in for a misbehaving LLM; the executor, guard, checkpointer
(SQLite, on disk) and warehouse are real.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from airflow_aimod.core.approval import ApprovalRequest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.schema_select import SchemaSelector
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel

QUESTION = "How many orders are there?"


class Harness:
    """Builds the graph fresh for every call, as a resumed Airflow task would."""

    def __init__(self, warehouse, checkpoint_url, model, *, pii=("customers",)):
        self.warehouse, self.url, self.model, self.sink = warehouse, checkpoint_url, model, ListSink()
        spec = get_agent("sql_agent")
        self.spec, self.envelope = spec, spec.envelope.override({"sql": {"pii_tables": list(pii)}})

    def _runner(self, saver, executor, thread):
        runtime = AgentRuntime(spec=self.spec, envelope=self.envelope, llm=self.model,
                               tracer=Tracer(trace_id="trace-1", agent="sql_agent", sinks=[self.sink]))
        return AgentRunner(build_graph(runtime, SqlAgentTools(executor, SchemaSelector(), max_rows=50)), saver,
                           thread_id=thread)

    def start(self, question=QUESTION, thread="t"):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.warehouse) as executor:
            state = initial_state(request=question, agent="sql_agent", tier=2, trace_id="trace-1")
            return self._runner(saver, executor, thread).start(state)

    def resume(self, answer, thread="t", wrap=None):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.warehouse) as executor:
            return self._runner(saver, wrap(executor) if wrap else executor, thread).resume(answer)

    def carry_on(self, earlier, thread="retry"):
        """What a retried task does first: continue an earlier try's thread that a person decided in."""
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.warehouse) as executor:
            return self._runner(saver, executor, thread).carry_on(earlier)


class DropsTheFirstQuery:
    """A warehouse whose connection drops on the first query (a transient error), then recovers."""

    def __init__(self, executor):
        self.executor, self.runs = executor, 0

    def __getattr__(self, name):
        return getattr(self.executor, name)

    def run(self, sql, **kwargs):
        from airflow_aimod.exceptions import QueryExecutionError

        self.runs += 1
        if self.runs == 1:
            raise QueryExecutionError("server closed the connection unexpectedly", transient=True)
        return self.executor.run(sql, **kwargs)


@pytest.fixture
def harness(warehouse, tmp_path):
    return lambda model, **kw: Harness(warehouse, f"sqlite:///{tmp_path}/checkpoints.sqlite", model, **kw)


def count(warehouse, sql):
    return sqlite3.connect(warehouse).execute(sql).fetchone()[0]


def test_a_valid_draft_is_executed(harness, warehouse):
    h = harness(ScriptedChatModel.of([{"sql": "SELECT count(*) AS n FROM orders", "confidence": 0.9}]))
    result = h.start()
    assert result.state["status"] == "answered"
    assert result.state["result"]["rows"] == [[count(warehouse, "SELECT count(*) FROM orders")]]
    kinds = [e["kind"] for e in result.state["events"]]
    assert kinds.count("llm_call") == 1 and kinds.count("tool_call") == 2 and "guard" in kinds


def test_ungrounded_draft_is_repaired_with_feedback(harness):
    model = ScriptedChatModel.of([{"sql": "SELECT sum(revenue) FROM orders"},
                                  {"sql": "SELECT sum(total_amount) FROM orders"}])
    result = harness(model).start("total revenue of all orders")
    assert result.state["status"] == "answered"
    second_prompt = model.prompts[1][-1].content
    assert "rejected" in second_prompt and "revenue" in second_prompt


def test_three_bad_drafts_end_refused_and_nothing_runs(harness):
    model = ScriptedChatModel.of([{"sql": "SELECT nope FROM orders"}])
    result = harness(model).start()
    assert result.state["status"] == "refused" and "2 repairs" in result.state["reason"]
    assert len(model.prompts) == 3
    assert not [e for e in result.state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]


@pytest.mark.parametrize("hostile", [
    "DELETE FROM orders", "SELECT 1; DROP TABLE orders", "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
    "UPDATE orders SET status = 'x'", "SELECT * FROM orders FOR UPDATE", "ATTACH DATABASE '/tmp/x.db' AS x",
])
def test_a_hostile_model_never_modifies_data(harness, warehouse, hostile):
    before = count(warehouse, "SELECT count(*) FROM orders")
    result = harness(ScriptedChatModel.of([{"sql": hostile}])).start()
    assert result.state["status"] == "refused"
    assert count(warehouse, "SELECT count(*) FROM orders") == before
    assert count(warehouse, "SELECT count(*) FROM orders WHERE status = 'x'") == 0


def test_a_model_refusal_is_reported_as_is(harness):
    result = harness(ScriptedChatModel.of([{"sql": None, "refusal": "no table for employees"}])).start()
    assert result.state["status"] == "refused" and result.state["reason"] == "no table for employees"


PII_SQL = "SELECT email FROM customers WHERE country = 'Germany' LIMIT 5"


def test_pii_query_pauses_before_executing_and_state_survives_the_checkpoint(harness):
    model = ScriptedChatModel.of([{"sql": PII_SQL, "confidence": 0.8, "rationale": "emails of German customers"}])
    paused = harness(model).start()
    assert paused.paused and paused.state["status"] == "needs_approval"
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert (request.agent, request.action, request.action_id, request.trace_id) == \
        ("sql_agent", "sql.read", "sql-1", "trace-1")
    assert [(f.name, f.value) for f in request.editable] == [("sql", PII_SQL)]
    assert "**Tables:** customers" in request.body and "emails of German customers" in request.body
    assert paused.state["proposed_actions"][-1]["tables"] == ["customers"]
    assert not [e for e in paused.state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]
    json.dumps(paused.state)  # plain JSON all the way down


def test_approval_resumes_exactly_where_it_paused(harness):
    model = ScriptedChatModel.of([{"sql": PII_SQL, "confidence": 0.8}])
    h = harness(model)
    h.start()
    resumed = h.resume({"decision": "approve", "reviewer": "alice"})
    assert resumed.state["status"] == "answered" and len(resumed.state["result"]["rows"]) == 5
    assert len(model.prompts) == 1  # no extra LLM call on resume
    assert resumed.state["approvals"] == [{"action_id": "sql-1", "decision": "approve", "reviewer": "alice"}]
    assert resumed.state["token_usage"]["llm_calls"] == 1


def test_rejection_ends_without_running_anything(harness):
    h = harness(ScriptedChatModel.of([{"sql": PII_SQL}]))
    h.start()
    rejected = h.resume({"decision": "reject", "reviewer": "bob"})
    assert rejected.state["status"] == "rejected" and "rows" not in rejected.state["result"]
    assert not [e for e in rejected.state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]


def test_an_edited_query_is_validated_again(harness):
    h = harness(ScriptedChatModel.of([{"sql": PII_SQL}]))
    h.start(thread="edit-ok")
    ok = h.resume({"decision": "edit", "edits": {"sql": "SELECT count(*) FROM customers WHERE country = 'Germany'"},
                   "reviewer": "carol"}, thread="edit-ok")
    assert ok.state["status"] == "answered" and ok.state["result"]["rows"][0][0] > 0
    h.start(thread="edit-bad")
    bad = h.resume({"decision": "edit", "edits": {"sql": "DELETE FROM customers"}, "reviewer": "mallory"},
                   thread="edit-bad")
    assert bad.state["status"] == "rejected" and "refused" in bad.state["reason"]


def test_resuming_a_thread_that_is_not_waiting_fails_clearly(harness):
    h = harness(ScriptedChatModel.of([{"sql": "SELECT 1 AS one"}]))
    h.start(thread="done")
    with pytest.raises(RuntimeError, match="not waiting"):
        h.resume({"decision": "approve"}, thread="done")


def reads(state):
    return [e for e in state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]


def test_a_retry_after_the_answer_ends_answered_without_asking_or_querying_again(harness):
    """Airflow 3.3.2 can fail a task answered as it parked after the graph finished: the retry continues."""
    model = ScriptedChatModel.of([{"sql": PII_SQL, "confidence": 0.8}])
    h = harness(model)
    h.start(thread="try1")
    answered = h.resume({"decision": "approve", "reviewer": "alice"}, thread="try1")
    retried = h.carry_on(["try2-never-started", "try1"])
    assert retried.carried_on and retried.thread_id == "try1" and not retried.paused
    assert retried.state["status"] == "answered" and retried.state["result"] == answered.state["result"]
    assert len(model.prompts) == 1 and len(reads(retried.state)) == len(reads(answered.state)) == 1


def test_a_retry_after_a_transient_error_runs_the_approved_query_again_without_asking(harness):
    model = ScriptedChatModel.of([{"sql": PII_SQL, "confidence": 0.8}])
    h = harness(model)
    h.start(thread="try1")
    dropped = h.resume({"decision": "approve", "reviewer": "alice"}, thread="try1", wrap=DropsTheFirstQuery)
    assert dropped.state["status"] == "escalated" and dropped.state["work"]["error"]["retryable"]
    retried = h.carry_on(["try1"])
    assert retried.carried_on and retried.state["status"] == "answered" and len(retried.state["result"]["rows"]) == 5
    assert retried.state["approvals"] == [{"action_id": "sql-1", "decision": "approve", "reviewer": "alice"}]
    assert len(model.prompts) == 1  # the drafting before the decision did not run again


@pytest.mark.parametrize("end", ["rejected", "refused-by-guard"])
def test_a_retry_keeps_a_final_decision(harness, end):
    h = harness(ScriptedChatModel.of([{"sql": PII_SQL}]))
    h.start(thread="try1")
    answer = {"decision": "reject", "reviewer": "bob"} if end == "rejected" else \
        {"decision": "edit", "edits": {"sql": "DELETE FROM customers"}, "reviewer": "mallory"}
    first = h.resume(answer, thread="try1")
    retried = h.carry_on(["try1"])
    assert retried.carried_on and retried.state["status"] == first.state["status"] == "rejected"
    assert not reads(retried.state)


def test_a_retry_asks_the_same_question_again_when_the_answer_never_reached_the_graph(harness):
    """The try failed while parked (answered, then failed before it resumed): nothing before the pause re-runs."""
    model = ScriptedChatModel.of([{"sql": PII_SQL}])
    h = harness(model)
    paused = h.start(thread="try1")
    again = h.carry_on(["try1"])
    assert again.carried_on and again.paused and again.thread_id == "try1" and again.interrupt == paused.interrupt
    assert len(model.prompts) == 1 and not again.state["approvals"]
    answered = h.resume({"decision": "approve", "reviewer": "alice"}, thread="try1")  # the retry's answer
    assert answered.state["status"] == "answered" and len(reads(answered.state)) == 1


def test_a_retry_starts_afresh_after_a_run_without_a_person(harness):
    h = harness(ScriptedChatModel.of([{"sql": "SELECT count(*) AS n FROM orders"}]))
    h.start(thread="done")
    assert h.carry_on(["done"]) is None and h.carry_on(["never-started"]) is None
