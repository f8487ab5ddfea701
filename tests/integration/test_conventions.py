"""What an Airflow user expects of a provider, in real Airflow: the ``[aimod]`` config section, the
``@task.sql_agent``/``@task.route`` decorators (dags/aimod_conventions.py under dag.test, offline engine,
SQLite warehouse), extra links (as pushed by the task runner and served by the api-server), OpenLineage
inputs and OpenTelemetry spans."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from airflow_aimod.config_options import OPTIONS
from tests.conftest import WAREHOUSE, example_dag

pytestmark = pytest.mark.airflow
QUESTION = "How many orders were placed in 2024?"


def test_airflow_config_list_shows_every_aimod_option():
    out = subprocess.run([sys.executable, "-m", "airflow", "config", "list", "--section", "aimod",
                          "--include-descriptions", "--include-examples"], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=240, check=True).stdout
    assert "[aimod]" in out
    for key, option in OPTIONS.items():
        assert f"{key} =" in out, key
        assert option["description"].split(".")[0][:60].split("\n")[0] in " ".join(out.split()), key


def test_settings_read_the_declared_options_only(monkeypatch):
    from airflow.configuration import conf

    from airflow_aimod import settings

    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", " 1234 ")
    assert settings.aimod_setting("dag_run_token_budget") == "1234"
    assert conf.get("aimod", "price_table", fallback="x") == OPTIONS["price_table"]["default"] == ""
    with pytest.raises(KeyError, match="not declared"):
        settings.aimod_setting("no_such_option")


@pytest.fixture(scope="module")
def conventions_dag(airflow_db):
    return example_dag("aimod_conventions")


@pytest.fixture(scope="module")
def finished_run(conventions_dag):
    """One dag.test() run of the decorated DAG: (dag_run, task states, XComs by (task, key))."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = conventions_dag.test(run_conf={"request": QUESTION})
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == conventions_dag.dag_id, TaskInstance.run_id == dag_run.run_id)}
        xcoms = {(row.task_id, row.key): row.value for row in session.query(XComModel).filter(
            XComModel.dag_id == conventions_dag.dag_id, XComModel.run_id == dag_run.run_id)}
    return dag_run, states, xcoms


def test_decorated_router_and_sql_agent_answer_the_returned_request(finished_run):
    dag_run, states, xcoms = finished_run
    assert str(dag_run.state) == "success", states
    assert states == {"incoming": "success", "answer": "success", "human_review": "skipped"}
    decision, answer = xcoms[("incoming", "return_value")], xcoms[("answer", "return_value")]
    assert decision["request"] == QUESTION and decision["branch"] == "answer" and decision["agent"] == "sql_agent"
    assert answer["status"] == "answered" and answer["trace_id"] == decision["trace_id"]
    assert "orders" in answer["result"]["sql"].lower() and answer["result"]["row_count"] == 1
    assert answer["tables_read"] == ["orders"]


def test_a_decorated_function_that_returns_no_text_fails_naming_the_function(conventions_dag):
    from airflow_aimod.decorators._request import call_for_request
    from airflow_aimod.operators.base import PermanentAgentFailure

    op = conventions_dag.get_task("answer")
    op.python_callable = lambda params=None: None
    with pytest.raises(PermanentAgentFailure, match=r"@task.sql_agent: <lambda>\(\) must return the request"):
        call_for_request(op, {"params": {}}, decorator="@task.sql_agent")


def test_trace_link_is_pushed_by_the_task_runner(finished_run):
    _, _, xcoms = finished_run
    trace_id = xcoms[("answer", "return_value")]["trace_id"]
    assert xcoms[("answer", "_link_AimodTraceLink")] == f"/aimod/?trace={trace_id}"
    assert xcoms[("incoming", "_link_AimodTraceLink")] == f"/aimod/?trace={trace_id}"
    assert xcoms[("answer", "_link_RequiredActionsLink")] == ""  # hitl is off: nobody is asked here


def test_required_actions_link_names_the_task_instance_of_a_hitl_task(finished_run):
    from airflow.sdk.types import TaskInstanceKey

    from airflow_aimod.links import RequiredActionsLink
    from airflow_aimod.operators.sql import SQLAgentOperator

    dag_run, _, _ = finished_run
    op = SQLAgentOperator(task_id="ask", question="q", conn_id="aimod_warehouse", hitl=True)
    key = TaskInstanceKey(dag_id="aimod_conventions", task_id="ask", run_id=dag_run.run_id, map_index=2)
    run = dag_run.run_id.replace(":", "%3A").replace("+", "%2B")
    assert RequiredActionsLink().get_link(op, ti_key=key) == \
        f"/dags/aimod_conventions/runs/{run}/tasks/ask/mapped/2/required_actions"


def test_api_server_serves_the_extra_links(finished_run, monkeypatch):
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app

    dag_run, _, xcoms = finished_run
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    with TestClient(create_app("core")) as client:
        response = client.get(f"/api/v2/dags/aimod_conventions/dagRuns/{dag_run.run_id}/taskInstances/answer/links")
    assert response.status_code == 200, response.text
    trace_id = xcoms[("answer", "return_value")]["trace_id"]
    assert response.json()["extra_links"]["AiMod trace"] == f"/aimod/?trace={trace_id}"


def test_openlineage_inputs_are_the_tables_read(finished_run, conventions_dag):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    dag_run, _, _ = finished_run
    with create_session() as session:
        ti = session.query(TaskInstance).filter(TaskInstance.dag_id == "aimod_conventions",
                                                TaskInstance.run_id == dag_run.run_id,
                                                TaskInstance.task_id == "answer").one()
        lineage = conventions_dag.get_task("answer").get_openlineage_facets_on_complete(ti)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(f"sqlite://{WAREHOUSE}", "orders")]
    assert lineage.outputs == []
