"""dags/aimod_drift.py in real Airflow (dag.test), offline engine, on SQLite and on Postgres."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.demo.drift import with_drifted_orders
from tests.conftest import example_dag
from tests.pg import warehouse_copy

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def drift_dag(airflow_db):
    return example_dag("aimod_drift")


@pytest.fixture(scope="module")
def drifted(warehouse, tmp_path_factory):
    return with_drifted_orders(warehouse, tmp_path_factory.mktemp("drift") / "drifted.db")


def outcome(dag, conf=None):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = dag.test(run_conf=conf or {})
    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == "order_drift",
                                              XComModel.key == "return_value").one()
    return str(run.state), row.value


def test_the_injected_drift_is_flagged_on_sqlite(drift_dag, drifted, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(drifted)}))
    state, out = outcome(drift_dag)
    assert state == "success" and out["status"] == "answered"
    assert sorted(out["result"]["drift"]["drifted"]) == ["channel", "total_amount"]
    assert out["result"]["assessment"]["verdict"] == "anomalous"


def test_the_clean_warehouse_has_no_drift(drift_dag, warehouse, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)}))
    state, out = outcome(drift_dag)
    assert state == "success" and out["result"]["drift"]["verdict"] == "no_drift"


@pytest.mark.postgres
def test_the_same_drift_is_flagged_on_postgres(drift_dag, drifted, monkeypatch):
    with warehouse_copy(drifted, "aimod_test_drift") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        state, out = outcome(drift_dag)
    assert state == "success" and sorted(out["result"]["drift"]["drifted"]) == ["channel", "total_amount"]
    assert out["result"]["drift"]["features"]["total_amount"]["kind"] == "numeric"  # NUMERIC arrives as numbers


def test_the_operator_validates_its_policy_at_parse_time():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.drift import DriftDetectorOperator

    base = {"task_id": "d", "subject": "s", "reference_sql": "SELECT 1", "current_sql": "SELECT 1", "conn_id": "w"}
    for bad, message in [({"numeric_method": "psi"}, "numeric_method"), ({"max_rows": 0}, "max_rows"),
                         ({"categorical": "channel"}, "lists of column names"), ({"alpha": 2}, "alpha")]:
        with pytest.raises(ConfigurationError, match=message):
            DriftDetectorOperator(**base, **bad)
