"""The dashboard's numbers against Airflow's own task states, on a real Airflow metadata DB.

Runs come from ``dag.test()`` of the quickstart DAG (offline engine, demo warehouse). Where a failure must
happen after the agent finished (a task failing after its answer, a worker killed mid-run, a HITL request
answered or pending), the task instance's state is changed directly in the metadata DB, as the scheduler
would. The page reads the store through ``DashboardQueries`` with ``AirflowTaskStates``, as the plugin does.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.conftest import example_dag

pytestmark = pytest.mark.airflow
T0 = time.time() - 1


@pytest.fixture(scope="module")
def dag(airflow_db, warehouse, tmp_path_factory):
    """The quickstart DAG, recording into a store of this module's own: the health figures of the window are
    compared with this module's task instances only (other test files of the same process record too)."""
    global T0
    import os

    previous = os.environ.get("AIRFLOW__AIMOD__STORE_URL")
    os.environ["AIRFLOW__AIMOD__STORE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('truth') / 'store.sqlite'}"
    T0 = time.time() - 1
    try:
        yield example_dag("aimod_quickstart")
    finally:
        if previous is None:
            os.environ.pop("AIRFLOW__AIMOD__STORE_URL", None)
        else:
            os.environ["AIRFLOW__AIMOD__STORE_URL"] = previous


def queries():
    from airflow_aimod.core.store import DashboardQueries, open_store
    from airflow_aimod.observability.sinks import store_url
    from airflow_aimod.plugins.task_states import AirflowTaskStates

    return DashboardQueries(open_store(store_url()), task_states=AirflowTaskStates())


def store_only():
    from airflow_aimod.core.store import DashboardQueries, open_store
    from airflow_aimod.observability.sinks import store_url

    return DashboardQueries(open_store(store_url()))


def window() -> dict:
    now = time.time() + 1
    return {"window": now - T0, "now": now}


def runs_of(q, run_id: str) -> dict[str, object]:
    return {r.task_id: r for r in q.runs(**window()) if r.run_id == run_id}


def set_task(dag_run, task_id: str, state: str) -> None:
    """What the scheduler does to a task instance: a new state, ended now."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TI).filter(TI.dag_id == dag_run.dag_id, TI.run_id == dag_run.run_id,
                                      TI.task_id == task_id).one()
        ti.state = state
        ti.end_date = datetime.now(timezone.utc)


def test_an_answer_whose_task_then_failed_is_counted_failed(dag):
    dag_run = dag.test(run_conf={"request": "How many orders were placed in 2024?"})
    assert runs_of(queries(), dag_run.run_id)["sql_agent"].verdict == "succeeded"
    set_task(dag_run, "sql_agent", "failed")
    run = runs_of(queries(), dag_run.run_id)["sql_agent"]
    assert (run.stored, run.airflow_state, run.verdict) == ("answered", "failed", "failed")
    assert runs_of(store_only(), dag_run.run_id)["sql_agent"].verdict == "succeeded"  # the store alone is fooled
    set_task(dag_run, "sql_agent", "up_for_retry")
    assert runs_of(queries(), dag_run.run_id)["sql_agent"].verdict == "failed"  # a failed try is not green


def test_a_task_that_fails_before_the_graph_starts_records_a_failed_outcome(dag, monkeypatch, tmp_path):
    import json

    missing = tmp_path / "nowhere" / "warehouse.db"
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(missing)}))
    dag_run = dag.test(run_conf={"request": "How many orders were placed in 2024?"})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["sql_agent"] == "failed"
    stored = runs_of(store_only(), dag_run.run_id)["sql_agent"]  # one outcome, written by the failure path
    assert stored.stored == "failed" and "task failed" in stored.reason and stored.request.startswith("How many")
    assert runs_of(queries(), dag_run.run_id)["sql_agent"].verdict == "failed"


def test_a_worker_killed_mid_run_is_failed_with_or_without_an_outcome(dag):
    from airflow_aimod.observability.sinks import shared_store, store_url

    dag_run = dag.test(run_conf={"request": "How many orders were placed in 2024?"})
    store = shared_store(store_url())
    with store.locked(1) as conn:  # killed mid-run: only the row written when the task started
        conn.execute(store.sql("UPDATE aimod_outcomes SET status = 'running' WHERE run_id = ? AND task_id = ?"),
                     (dag_run.run_id, "sql_agent"))
    set_task(dag_run, "sql_agent", "failed")
    assert runs_of(queries(), dag_run.run_id)["sql_agent"].verdict == "failed"
    assert runs_of(store_only(), dag_run.run_id)["sql_agent"].verdict == "running"
    with store.locked(1) as conn:  # killed before anything was written
        conn.execute(store.sql("DELETE FROM aimod_outcomes WHERE run_id = ? AND task_id = ?"),
                     (dag_run.run_id, "sql_agent"))
    run = runs_of(queries(), dag_run.run_id)["sql_agent"]
    assert (run.agent, run.verdict, run.stored) == ("sql_agent", "failed", "")
    assert "recorded no outcome" in run.reason


def test_pending_means_what_airflow_holds_for_a_person_now(dag):
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf={"request": "List the email addresses of customers in Germany"})
    stale = [a for a in store_only().pending_approvals(limit=1000) if a["run_id"] == dag_run.run_id]
    assert [a["task_id"] for a in stale] == ["sql_agent"]  # the store alone: waiting forever
    q = queries()
    assert [a for a in q.pending_approvals(now=time.time()) if a["run_id"] == dag_run.run_id] == []
    assert runs_of(q, dag_run.run_id)["sql_agent"].verdict == "escalated"  # handed to needs_a_person
    set_task(dag_run, "sql_agent", "awaiting_input")
    asked = datetime.now(timezone.utc)
    with create_session() as session:
        ti = session.query(TI).filter(TI.dag_id == dag.dag_id, TI.run_id == dag_run.run_id,
                                      TI.task_id == "sql_agent").one()
        session.add(HITLDetail(ti_id=ti.id, options=["Approve", "Reject"], subject="PII", params={},
                               created_at=asked))
    pending = [a for a in queries().pending_approvals(now=time.time()) if a["run_id"] == dag_run.run_id]
    assert [(a["task_id"], a["waiting_since"]) for a in pending] == [("sql_agent", asked.timestamp())]
    assert "PII column" in pending[0]["reason"]
    with create_session() as session:
        detail = session.query(HITLDetail).filter(HITLDetail.ti_id == ti.id).one()
        detail.responded_at = datetime.now(timezone.utc)
    set_task(dag_run, "sql_agent", "success")
    assert [a for a in queries().pending_approvals(now=time.time()) if a["run_id"] == dag_run.run_id] == []


def test_failure_callback_net_records_a_failure_the_operator_never_saw(dag):
    from types import SimpleNamespace

    from airflow_aimod.operators._outcomes import record_failed_task

    dag_run = dag.test(run_conf={"request": "How many orders were placed in 2024?"})
    set_task(dag_run, "sql_agent", "failed")  # e.g. a heartbeat timeout after the agent answered
    ti = SimpleNamespace(dag_id=dag.dag_id, run_id=dag_run.run_id, task_id="sql_agent", start_date=None)
    record_failed_task({"ti": ti, "task": dag.get_task("sql_agent"), "exception": TimeoutError("heartbeat")})
    stored = runs_of(store_only(), dag_run.run_id)["sql_agent"]
    assert (stored.stored, stored.reason) == ("failed", "task failed outside the agent (TimeoutError)")
    assert stored.input_tokens == 0 or stored.trace_id  # same row (same trace), now failed
    assert dag.get_task("sql_agent").on_failure_callback[0] is record_failed_task


def test_health_counts_equal_airflows_task_states_for_the_window(dag):
    """After every case above (and one escalation by the router): per agent, succeeded + escalated = the
    agent tasks Airflow has as success, failed = those it has as failed or up for retry. (An agent error the
    task routes to a person ends a successful task but counts as failed; none of the runs here does that.)"""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    from sqlalchemy import or_

    from airflow_aimod.plugins.task_states import UNFINISHED, agent_operator_names

    dag.test(run_conf={"request": "can you help me with the thing from yesterday"})
    w = window()
    since = datetime.fromtimestamp(w["now"] - w["window"], timezone.utc)
    names = agent_operator_names()
    counts: dict[str, dict[str, int]] = {}
    with create_session() as session:
        in_window = or_(TI.end_date > since, TI.state.in_(UNFINISHED))  # as the page reads them
        for operator, state in session.query(TI.operator, TI.state).filter(in_window, TI.operator.in_(sorted(names))):
            key = "failed" if str(state) in ("failed", "up_for_retry") else str(state)
            agent = counts.setdefault(names[operator], {})
            agent[key] = agent.get(key, 0) + 1
    health = {h["agent"]: h for h in queries().agent_health(**w)}
    assert health["task_router"]["escalated"] >= 1 and health["task_router"]["error_rate"] == 0
    for agent, states in counts.items():
        h = health.get(agent, {"succeeded": 0, "escalated": 0, "failed": 0})
        assert (h["succeeded"] + h["escalated"], h["failed"]) == (states.get("success", 0), states.get("failed", 0)), \
            (agent, h, states)
