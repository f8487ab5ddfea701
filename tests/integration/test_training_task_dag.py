"""dags/aimod_training_task.py in real Airflow (dag.test), offline engine: the fit runs as its own task and hands its
MLflow run to the orchestrator task, which registers it and moves the alias only after a person approves (answered
through Airflow's own HITL route, tests/support/hitl.py); a rejection leaves the alias where it was."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.core.approval import APPROVE_LABEL, REJECT_LABEL
from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.demo.ml import with_churn_table
from tests.conftest import example_dag
from tests.support.hitl import Answer, answering

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]
CONF = {"until": "2024-05", "mlflow_conn_id": "ml_task"}   # ~670 rows, a private MLflow store


@pytest.fixture(scope="module")
def dag(airflow_db):
    return example_dag("aimod_training_task")


@pytest.fixture
def tracker(warehouse, tmp_path, monkeypatch):
    churn = with_churn_table(warehouse, tmp_path / "churn.db")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(churn)}))
    monkeypatch.setenv("AIRFLOW_CONN_ML_TASK", json.dumps({"conn_type": "aimod_mlflow", "extra": {
        "tracking_uri": uri, "artifact_root": str(tmp_path / "artifacts")}}))
    return MlflowTracker(tracking_uri=uri)


def run(dag, option):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    answer = Answer("train_churn", option, user="reviewer")
    with answering(dag.dag_id, answer):
        dag_run = dag.test(run_conf=CONF)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    with create_session() as session:
        values = {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == dag_run.run_id, XComModel.key == "return_value")}
    return states, values, answer


def test_the_fit_task_hands_its_run_over_approval_moves_the_alias_rejection_leaves_it(dag, tracker):
    states, out, answer = run(dag, APPROVE_LABEL)
    assert states == {"fit_churn": "success", "train_churn": "success"}, (states, out)
    fit, promoted = out["fit_churn"], out["train_churn"]
    assert fit["status"] == "answered" and fit["result"]["version"] is None and fit["token_usage"]["total_tokens"] == 0
    assert promoted["status"] == "answered" and promoted["result"]["promotion"] == "promoted"
    assert promoted["result"]["run_id"] == fit["result"]["run_id"] and promoted["result"]["version"] == "1"
    assert fit["result"]["run_id"] in answer.seen and "version **1**" in answer.seen   # what the reviewer read
    assert tracker.alias_version("churn", "production") == "1"
    [logged] = tracker.search_runs(["churn"])
    assert logged["run_id"] == fit["result"]["run_id"] and logged["tags"]["aimod.agent"] == "training_orchestrator"

    states, out, _ = run(dag, REJECT_LABEL)
    assert states["fit_churn"] == "success" and out["train_churn"]["status"] == "rejected"
    assert out["train_churn"]["result"]["version"] == "2" and tracker.alias_version("churn", "production") == "1"
    assert len(tracker.search_runs(["churn"])) == 2


def test_the_orchestrator_takes_a_fit_or_fits_itself_never_both():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.model_fit import ModelFitOperator
    from airflow_aimod.operators.training import TrainingOrchestratorOperator

    with pytest.raises(ConfigurationError, match="either fit_task_id"):
        TrainingOrchestratorOperator(task_id="t", fit_task_id="f", data_sql="SELECT 1", conn_id="w")
    with pytest.raises(ConfigurationError, match="or fit_task_id"):
        TrainingOrchestratorOperator(task_id="t", target="y")
    with pytest.raises(ConfigurationError, match="only fits and logs; pass model_name, promote_alias"):
        ModelFitOperator(task_id="f", data_sql="SELECT 1", conn_id="w", target="y", model_name="m",
                         promote_alias="production")
