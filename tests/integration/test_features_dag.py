"""dags/aimod_features.py in real Airflow (dag.test), offline engine: profile → feature engineer on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_aimod.demo.features import with_shipments_table
from tests.conftest import REPO, example_dag

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def features_dag(airflow_db):
    return example_dag("aimod_features")


@pytest.fixture(scope="module")
def shipments(warehouse, tmp_path_factory):
    return with_shipments_table(warehouse, tmp_path_factory.mktemp("features-dag") / "shipments.db")


def xcoms(dag, run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}


def test_profile_then_features_reports_the_useful_ratio_with_its_lift(features_dag, shipments, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(shipments)}))
    run = features_dag.test(run_conf={"table": "shipments", "target": "cost"})
    assert str(run.state) == "success", {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    out = xcoms(features_dag, run)["propose_features"]
    assert out["status"] == "answered", out["reason"]
    best = out["result"]["features"][0]
    assert best["name"] == "weight_kg_per_volume_l" and best["lift"] > 0.1
    assert out["result"]["table"] == "shipments" and out["result"]["rejected"]
    assert not [f for f in out["result"]["features"] if set(f["columns"]) <= {"carrier", "handling_score"}]


@pytest.mark.postgres
def test_the_same_ratio_is_found_on_postgres_with_its_own_sql(features_dag, shipments, monkeypatch):
    from tests.pg import warehouse_copy

    with warehouse_copy(shipments, "aimod_test_features") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        run = features_dag.test(run_conf={"table": "shipments", "target": "cost"})
    out = xcoms(features_dag, run)["propose_features"]
    assert str(run.state) == "success" and out["status"] == "answered", out["reason"]
    best = out["result"]["features"][0]
    assert best["name"] == "weight_kg_per_volume_l" and "DOUBLE PRECISION" in best["sql"] and best["lift"] > 0.1
    assert not out["result"]["blocked"], out["result"]["blocked"]   # every proposal runs on Postgres too


def test_a_target_that_is_not_a_column_is_refused(features_dag, shipments, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(shipments)}))
    run = features_dag.test(run_conf={"table": "shipments", "target": "price"})
    out = xcoms(features_dag, run)["propose_features"]
    assert out["status"] == "refused" and "target 'price' is not a column of shipments" in out["reason"]


def test_importing_the_operator_and_parsing_the_dag_load_no_heavy_library():
    code = ("import sys, json, runpy\nimport airflow_aimod.operators.feature_engineer\n"
            "runpy.run_path('dags/aimod_features.py')\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sklearn', 'numpy', 'pandas', 'scipy', 'mlflow', 'langchain_core', 'langgraph', 'sqlglot'})))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_operator_validates_its_arguments_at_parse_time():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.feature_engineer import FeatureEngineerOperator

    base = {"task_id": "f", "profile_task_id": "p", "conn_id": "w", "target": "y"}
    for bad, message in [({"target": ""}, "give profile_task_id"), ({"task": "ranking"}, "task must be one of"),
                         ({"max_rows": 10}, "max_rows must be between"), ({"min_lift": 3}, "min_lift"),
                         ({"estimator": "svm"}, "unknown estimator"), ({"max_proposals": 0}, "max_proposals")]:
        with pytest.raises(ConfigurationError, match=message):
            FeatureEngineerOperator(**{**base, **bad})
