"""dags/aimod_model_checks.py in real Airflow (dag.test): the evaluator and the drift detector on a churn table,
MLflow in the embedded SQLite store under the test's Airflow home."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.demo.ml import with_churn_table
from tests.conftest import example_dag
from tests.unit.test_model_evaluator_agent import registered_models

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]  # training + MLflow on a loaded machine


@pytest.fixture(scope="module")
def registry(airflow_db, warehouse, tmp_path_factory):
    """The churn table (no drift) and the embedded MLflow store holding churn v1 (weak) and v2 (all columns)."""
    from airflow_aimod.hooks.mlflow import embedded_mlflow

    tmp = tmp_path_factory.mktemp("checks")
    db = with_churn_table(warehouse, tmp / "churn.db")
    tracker = registered_models(db, embedded_mlflow())
    tracker.set_alias("churn", "champion", "1")
    return db, tracker


def test_a_better_challenger_and_undrifted_inputs_agree_and_continue(registry, monkeypatch):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    db, tracker = registry
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    dag = example_dag("aimod_model_checks")
    run = dag.test(run_conf={"challenger": "2"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {"evaluate": "success", "input_drift": "success", "arbitrate": "success", "ready": "success",
                      "hold": "skipped"}
    with create_session() as session:
        xcom = {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}
    assert xcom["evaluate"]["result"]["verdict"]["verdict"] == "promote"
    assert xcom["input_drift"]["result"]["drift"]["verdict"] == "no_drift"
    assert (xcom["arbitrate"]["outcome"], xcom["arbitrate"]["verdict"]) == ("agree", "normal")
    assert tracker.alias_version("churn", "champion") == "1"
    runs = tracker.search_runs(["churn-evaluations"])
    assert [r["tags"]["aimod.verdict"] for r in runs] == ["promote"]


def test_a_fine_challenger_on_drifted_inputs_goes_to_a_person():
    from airflow_aimod.core.disagreement import DisagreementRule

    rule = example_dag("aimod_model_checks").get_task("arbitrate").rule
    assert isinstance(rule, DisagreementRule)
    evaluator = {"subject": "model churn version 2", "verdict": "normal", "confidence": 0.8, "summary": "promote",
                 "findings": []}
    drift = {"subject": "inputs", "verdict": "anomalous", "confidence": 0.9, "summary": "2 columns drifted",
             "findings": []}
    assert rule.evaluate(evaluator, drift).outcome == "arbitrate"
    assert rule.evaluate({**evaluator, "verdict": "anomalous"}, {**drift, "verdict": "normal"}).verdict == "anomalous"
