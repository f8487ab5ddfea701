"""The quickstart DAG in real Airflow (dag.test on SQLite), offline engine, demo warehouse."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.airflow


def run(dag, request):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf={"request": request})
    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id,
                                               XComModel.run_id == dag_run.run_id).all()
        xcom = {(r.task_id, r.key): r.value for r in rows}
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    return dag_run, states, xcom


def test_data_question_is_routed_to_the_sql_agent_and_answered(quickstart_dag, warehouse):
    import sqlite3

    dag_run, states, xcom = run(quickstart_dag, "How many orders were placed in 2024?")
    assert str(dag_run.state) == "success"
    assert states == {"route": "success", "sql_agent": "success", "data_profiler": "skipped",
                      "human_review": "skipped", "agent_unavailable": "skipped", "needs_a_person": "skipped"}
    decision = xcom[("route", "return_value")]
    assert decision["agent"] == "sql_agent" and decision["decision"] == "dispatch"
    assert decision["confidence"] >= 0.85 and decision["branch"] == "sql_agent"
    answer = xcom[("sql_agent", "return_value")]
    expected = sqlite3.connect(warehouse).execute(
        "SELECT count(*) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'").fetchone()[0]
    assert answer["status"] == "answered" and answer["result"]["rows"] == [[expected]]
    assert answer["trace_id"] == decision["trace_id"]  # one trace id from router to agent
    assert answer["token_usage"]["llm_calls"] >= 1 and answer["token_usage"]["total_tokens"] > 0


def test_pii_question_stops_before_executing_and_goes_to_a_person(quickstart_dag):
    dag_run, states, xcom = run(quickstart_dag, "List the email addresses of customers in Germany")
    assert str(dag_run.state) == "success" and states["needs_a_person"] == "success"
    answer = xcom[("sql_agent", "return_value")]
    assert answer["status"] == "needs_approval" and answer["escalate_to"] == "human"
    assert answer["result"]["rows"] is None and answer["branch"] == ["needs_a_person"]
    assert "**Tables:** customers" in answer["pending_approval"]["body"]
    handed = xcom[("needs_a_person", "return_value")]
    assert "email" in handed["proposed_sql"].lower() and handed["trace_id"] == answer["trace_id"]


def test_vague_request_goes_to_human_review(quickstart_dag):
    dag_run, states, xcom = run(quickstart_dag, "can you help me with the thing from yesterday")
    assert states["human_review"] == "success" and states["sql_agent"] == "skipped"
    assert states["agent_unavailable"] == "skipped"
    assert xcom[("route", "return_value")]["decision"] == "human_review"
    assert xcom[("human_review", "return_value")]["status"] == "escalated"


def test_a_profiling_request_is_routed_to_the_data_profiler_and_profiled(quickstart_dag, warehouse):
    import sqlite3

    dag_run, states, xcom = run(quickstart_dag, "Profile the orders table: null rates and distinct counts per column")
    decision = xcom[("route", "return_value")]
    assert (decision["agent"], decision["decision"]) == ("data_profiler", "dispatch"), decision
    assert states == {"route": "success", "sql_agent": "skipped", "data_profiler": "success",
                      "human_review": "skipped", "agent_unavailable": "skipped", "needs_a_person": "skipped"}
    out = xcom[("data_profiler", "return_value")]
    profile = out["result"]["profile"]
    expected = sqlite3.connect(warehouse).execute("SELECT count(*), count(DISTINCT status) FROM orders").fetchone()
    status = next(c for c in profile["columns"] if c["name"] == "status")
    assert (out["status"], profile["table"], profile["row_count"], status["distinct_count"]) == \
        ("answered", "orders", *expected)
    assert out["result"]["assessment"]["verdict"] == "normal" and out["trace_id"] == decision["trace_id"]


def test_confident_route_to_an_agent_without_a_task_takes_the_fallback(quickstart_dag):
    dag_run, states, xcom = run(quickstart_dag, "Summarize this incident thread for me")
    decision = xcom[("route", "return_value")]
    if decision["decision"] != "dispatch":
        pytest.fail(f"expected a confident route to summarizer, got {decision}")
    assert decision["agent"] == "summarizer" and states["agent_unavailable"] == "success"
    assert states["sql_agent"] == "skipped" and states["data_profiler"] == "skipped"
    assert states["human_review"] == "skipped"


def test_question_the_schema_cannot_answer_is_refused_gracefully(quickstart_dag):
    dag_run, states, xcom = run(quickstart_dag, "How many employees were hired in 2024?")
    assert str(dag_run.state) == "success"
    answer = xcom.get(("sql_agent", "return_value"))
    if answer is not None:
        assert answer["status"] == "refused" and "employee" in answer["reason"].lower()
        assert answer["result"]["rows"] is None
    else:
        assert states["human_review"] == "success"


def test_events_and_outcomes_reach_the_aimod_store(quickstart_dag):
    import time

    from airflow_aimod.core.store import open_store
    from airflow_aimod.core.store.queries import DashboardQueries
    from airflow_aimod.observability.sinks import store_url

    dag_run, states, xcom = run(quickstart_dag, "What is the average order value per channel?")
    trace_id = xcom[("route", "return_value")]["trace_id"]
    with open_store(store_url()) as store:
        timeline = DashboardQueries(store).trace(trace_id)
        health = DashboardQueries(store).agent_health(window=3600, now=time.time())
    text = str(timeline)
    assert "task_router" in text and "sql_agent" in text and "llm_call" in text
    assert {row["agent"] for row in health} >= {"task_router", "sql_agent"}


def cleared_and_rechecked(dag_id: str, run_id: str, task_id: str) -> str:
    """Clear ``task_id`` in the run as a user would, then let the scheduler's skip dependency judge it again."""
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.ti_deps.dep_context import DepContext
    from airflow.ti_deps.deps.not_previously_skipped_dep import NotPreviouslySkippedDep
    from airflow.utils.session import create_session

    with create_session() as session:
        dag = SerializedDagModel.get_dag(dag_id, session=session)  # the scheduler's view of the DAG
        dag.clear(task_ids=[task_id], run_id=run_id, session=session)
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).one()
        assert ti.state is None  # cleared: it would run again, unless its branching parent says no
        ti.task = dag.get_task(task_id)
        list(NotPreviouslySkippedDep().get_dep_statuses(ti, DepContext(), session=session))
        session.flush()
        return str(ti.state)


def test_clearing_a_branch_the_router_or_an_agent_skipped_keeps_it_skipped(quickstart_dag):
    from airflow.models.serialized_dag import SerializedDagModel

    dag_run, states, xcom = run(quickstart_dag, "How many orders were placed in 2024?")
    assert states["human_review"] == states["needs_a_person"] == "skipped"
    serialized = SerializedDagModel.get_dag(quickstart_dag.dag_id)
    assert serialized.get_task("route").inherits_from_skipmixin and serialized.get_task("sql_agent").inherits_from_skipmixin
    assert cleared_and_rechecked(quickstart_dag.dag_id, dag_run.run_id, "human_review") == "skipped"  # router's
    assert cleared_and_rechecked(quickstart_dag.dag_id, dag_run.run_id, "needs_a_person") == "skipped"  # agent's


def test_a_branch_target_missing_from_the_dag_fails_before_the_model_is_called():
    import pendulum
    from airflow.sdk import DAG

    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.router import TaskRouterOperator

    with DAG("aimod_missing_branch", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        route = TaskRouterOperator(task_id="route", request="how many orders?", agent_tasks={"sql_agent": "sql_agent"},
                                   llm_conn_id="aimod_never_resolved")
    with pytest.raises(ConfigurationError, match=r"route: branch target\(s\) \['sql_agent', 'human_review'\] .*"
                                                 r"the DAG has no task\(s\) \['sql_agent', 'human_review'\]"):
        route.execute({})  # fails before resolving the LLM connection (which does not exist)
