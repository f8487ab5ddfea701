"""Learning from approvals, through Airflow's real resume path (dags/aimod_learning.py under dag.test, offline engine).

A person answers Required Actions through Airflow's own HITL route (tests/support/hitl.py); the task
resumes from its LangGraph checkpoint with the event Airflow builds from the response. What the
person approved (or edited) and what then ran becomes a verified example, and the next question of
the same shape with another value is answered by reusing it. Rejections, failed queries and PII
queries teach nothing; a reviewer's pick of an agent teaches the router.
"""

from __future__ import annotations

import pytest

from tests.conftest import example_dag
from tests.support.hitl import Answer, answering

pytestmark = pytest.mark.airflow

EDITED = "SELECT COUNT(*) AS placed_orders FROM orders WHERE order_date BETWEEN '2024-01-01' AND '2024-12-31'"
VAGUE = "which channels keep buyers longest"


@pytest.fixture(scope="module")
def dag(airflow_db):
    return example_dag("aimod_learning")


@pytest.fixture
def examples(tmp_path, monkeypatch):
    """An empty AiMod store for this test; returns its ExampleStore."""
    from airflow_aimod.core.examples import ExampleStore
    from airflow_aimod.observability.sinks import shared_store

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", url)
    return ExampleStore(shared_store(url))


def _run(dag, request: str, *answers: Answer) -> tuple[dict, dict]:
    """One dag.test() run answered by ``answers``: (task states, return values)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with answering(dag.dag_id, *answers):
        run = dag.test(run_conf={"request": request})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    with create_session() as session:
        values = {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}
    return states, values


def test_an_edited_and_approved_query_becomes_an_example_the_next_question_reuses(dag, examples):
    question = "How many orders were placed in 2024?"
    states, out = _run(dag, question, Answer("sql_agent", "Approve", {"sql": EDITED}, user="finance.lead"))
    assert states["sql_agent"] == "success" and out["sql_agent"]["status"] == "answered", out
    [example] = examples.list(agent="sql_agent")
    assert (example.question, example.verified_by, example.source, example.conn_id) == (
        question, "finance.lead", "edited", "aimod_warehouse")
    assert "placed_orders" in example.answer and "'2024-12-31'" in example.answer
    assert len(example.schema_fingerprint) == 16

    again = Answer("sql_agent", "Approve")
    states, out = _run(dag, "How many orders were placed in 2023?", again)
    assert "the same question as a verified example" in again.seen  # the rationale the reviewer read
    answer = out["sql_agent"]
    sql = answer["result"]["sql"]
    assert answer["status"] == "answered" and answer["result"]["row_count"] == 1, answer
    assert "placed_orders" in sql and "'2023-12-31'" in sql and "2024" not in sql
    assert len(examples.list(agent="sql_agent")) == 2  # the second approval is an example too


def test_rejected_failed_and_pii_queries_teach_nothing(dag, examples):
    states, out = _run(dag, "How many orders were placed in 2022?", Answer("sql_agent", "Reject"))
    assert out["sql_agent"]["status"] == "rejected"
    states, out = _run(dag, "How many orders were placed in 2023?",
                       Answer("sql_agent", "Approve", {"sql": "SELECT no_such_column FROM orders"}))
    assert out["sql_agent"]["status"] == "escalated" and "no such column" in out["sql_agent"]["reason"]
    assert examples.list() == []
    # The router is unsure of this one: a person picks the SQL agent (a router example), then approves the query.
    states, out = _run(dag, "List the email addresses of customers in Germany", Answer("human_review", "sql_agent"),
                       Answer("sql_agent", "Approve"))
    assert out["sql_agent"]["status"] == "answered" and "email" in out["sql_agent"]["result"]["sql"]
    assert examples.list(agent="sql_agent") == [] and len(examples.list(agent="task_router")) == 1


def test_an_approval_teaches_nothing_when_learning_is_off(dag, examples, monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__LEARN_FROM_APPROVALS", "false")
    states, out = _run(dag, "How many orders were placed in 2024?", Answer("sql_agent", "Approve"))
    assert out["sql_agent"]["status"] == "answered" and examples.list() == []


def test_a_reviewers_pick_teaches_the_router(dag, examples):
    states, _ = _run(dag, VAGUE, Answer("human_review", "Reject"))
    assert states["sql_agent"] == "skipped" and examples.list() == []
    states, out = _run(dag, VAGUE, Answer("human_review", "sql_agent", user="triage.lead"))
    assert states["human_review"] == "success" and states["sql_agent"] == "success"
    [example] = examples.list(agent="task_router")
    assert (example.question, example.answer, example.verified_by, example.source) == (
        VAGUE, "sql_agent", "triage.lead", "route_review")

    states, out = _run(dag, VAGUE)  # nobody is asked this time
    assert out["route"]["decision"] == "dispatch" and out["route"]["agent"] == "sql_agent"
    assert states["human_review"] == "skipped" and states["dispatch_sql_agent"] == "success"
