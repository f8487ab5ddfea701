"""Branch targets are checked before the model is called: at parse time through the ``airflow.policy``
entry point (DagBag), and again when the task runs. The README's snippet parses and runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, WAREHOUSE

pytestmark = pytest.mark.airflow

BROKEN = textwrap.dedent('''
    from airflow.sdk import DAG
    from airflow_aimod.operators.router import TaskRouterOperator
    from airflow_aimod.operators.sql import SQLAgentOperator

    with DAG("broken_routes", schedule=None):
        route = TaskRouterOperator(task_id="route", request="how many orders?", agent_tasks={"sql_agent": "sql"},
                                   human_review_task_id="human_review", fallback_task_id="agent_unavailable")
        route >> SQLAgentOperator(task_id="sql", question="q", conn_id="aimod_warehouse")
''')


def bag(folder):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def test_missing_branch_targets_fail_the_parse_naming_them(tmp_path, airflow_db):
    (tmp_path / "broken.py").write_text(BROKEN)
    errors = bag(tmp_path).import_errors
    assert len(errors) == 1, errors
    message = next(iter(errors.values()))
    assert "AirflowClusterPolicyViolation" in message and "DAG broken_routes" in message
    assert "['human_review', 'agent_unavailable']" in message and "the DAG has no task(s)" in message
    assert "`route >> human_review`" in message


def test_a_policy_check_ignores_dags_without_agent_tasks(tmp_path, airflow_db):
    (tmp_path / "plain.py").write_text("from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty "
                                       "import EmptyOperator\nwith DAG('plain', schedule=None):\n"
                                       "    EmptyOperator(task_id='a')\n")
    loaded = bag(tmp_path)
    assert not loaded.import_errors and list(loaded.dags) == ["plain"]


def test_the_run_fails_before_the_model_is_called(tmp_path, airflow_db):
    from airflow.sdk import DAG

    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.router import TaskRouterOperator

    with DAG("unparsed_routes", schedule=None):
        route = TaskRouterOperator(task_id="route", request="q", agent_tasks={"sql_agent": "sql"})
    with pytest.raises(ConfigurationError, match=r"branch target\(s\) \['sql', 'human_review'\]"):
        route.run_graph({}, resume=None)  # raises before any resource, model or context is touched


def test_the_readme_snippet_parses_and_runs(tmp_path, airflow_db, warehouse):
    """``airflow dags test`` on the snippet, from a bundle of its own next to the repository's dags folder."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    readme = (REPO / "README.md").read_text()
    snippet = re.search(r"## A DAG using it\n\n```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "readme_dag.py").write_text(snippet)
    assert not bag(tmp_path).import_errors
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [{"name": "dags-folder", "classpath": local, "kwargs": {"path": str(REPO / "dags")}},
               {"name": "readme", "classpath": local, "kwargs": {"path": str(tmp_path)}}]
    env = {**os.environ, "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(WAREHOUSE)}),
           "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles)}
    done = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", "ask_the_warehouse", "-c",
                           json.dumps({"request": "How many orders were placed in 2024?"})],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == "ask_the_warehouse")}
    assert states == {"route": "success", "sql_agent": "success", "human_review": "skipped",
                      "agent_unavailable": "skipped"}
