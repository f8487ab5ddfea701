"""dags/aimod_workflow.py under dag.test() on the demo warehouse: a 2-step plan runs as two task instances,
and a request with a capability no agent has runs nothing."""

from __future__ import annotations

import pytest

from tests.conftest import example_dag
from tests.support.hitl import answering

pytestmark = pytest.mark.airflow


def outcomes(dag, run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}


NO_ARBITRATION = {"arbitrate": "skipped", "investigate": "skipped", "publish": "skipped"}  # no profile + anomaly pair


def states(run) -> dict:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def run_without_a_person(dag, request: str):
    """``dag.test`` with ``request``: in dag.test a plan that waits for a person would wait forever, so a task
    that asks one fails the test at once, naming it."""
    with answering(dag.dag_id):
        return dag.test(run_conf={"request": request})


@pytest.fixture(scope="module")
def workflow_dag(airflow_db):
    return example_dag("aimod_workflow")


def test_a_sql_question_then_a_profile_run_as_separate_tasks_under_one_trace(workflow_dag, warehouse):
    import sqlite3

    run = run_without_a_person(workflow_dag, workflow_dag.params["request"])
    assert str(run.state) == "success"
    assert states(run) == {"plan": "success", "step_1": "success", "step_2": "success", "step_3": "skipped",
                           "plan_outcome": "success", **NO_ARBITRATION}
    out = outcomes(workflow_dag, run)
    plan = out["plan"]["result"]
    assert plan["decision"] == "run"
    assert [(s["agent"], s["depends_on"]) for s in plan["steps"]] == [("sql_agent", []), ("data_profiler", ["s1"])]
    sql, profile = out["step_1"], out["step_2"]
    assert sql["status"] == "answered" and profile["status"] == "answered"
    expected = dict(sqlite3.connect(warehouse).execute("SELECT status, COUNT(*) FROM orders GROUP BY 1").fetchall())
    assert {r[0]: r[1] for r in sql["result"]["rows"]} == expected
    assert profile["result"]["table"] == "customers"
    assert {out["plan"]["trace_id"], sql["trace_id"], profile["trace_id"]} == {out["plan"]["trace_id"]}


def test_an_unsupported_step_runs_nothing_and_says_why(workflow_dag):
    request = "Count orders by status, then bake a cake for the finance team"
    run = run_without_a_person(workflow_dag, request)
    assert states(run) == {"plan": "success", "step_1": "skipped", "step_2": "skipped", "step_3": "skipped",
                           "plan_outcome": "success", **NO_ARBITRATION}
    plan = outcomes(workflow_dag, run)["plan"]
    assert plan["result"]["decision"] == "unsupported" and "bake a cake" in plan["reason"]


def test_a_failed_step_does_not_stop_the_steps_that_do_not_need_it(workflow_dag):
    request = "Profile the no_such_table table and count orders by status, then summarize the results"
    run = run_without_a_person(workflow_dag, request)
    plan = outcomes(workflow_dag, run)["plan"]["result"]
    assert [(s["agent"], s["depends_on"]) for s in plan["steps"]] == [
        ("data_profiler", []), ("sql_agent", []), ("summarizer", ["s2"])]
    assert states(run) == {"plan": "success", "step_1": "failed", "step_2": "success", "step_3": "success",
                           "plan_outcome": "failed", **NO_ARBITRATION}
    out = outcomes(workflow_dag, run)
    assert out["step_2"]["status"] == "answered" and out["step_3"]["status"] == "answered"
    assert out["step_3"]["result"]["faithful"]
