"""dags/aimod_anomalies.py in real Airflow (dag.test), offline engine, on SQLite and on Postgres.

The warehouse is a copy of the demo's with 300 extra orders on 2024-06-15
(``demo.anomalies.with_order_spike``); the connection ``aimod_warehouse`` points at it.
"""

from __future__ import annotations

import json
import re

import pytest

from airflow_aimod.demo.anomalies import with_order_spike
from tests.conftest import REPO
from tests.pg import warehouse_copy

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def anomalies_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("aimod_anomalies")


@pytest.fixture(scope="module")
def spiked(warehouse, tmp_path_factory):
    return with_order_spike(warehouse, tmp_path_factory.mktemp("spike") / "spiked.db", day="2024-06-15")


def outcome(dag, conf):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = dag.test(run_conf=conf)
    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == "daily_orders",
                                              XComModel.key == "return_value").one()
    return str(run.state), row.value


def lineage(out):
    """(namespace, name) of the OpenLineage inputs of the run's tables, on ``aimod_warehouse``."""
    from airflow_aimod.operators._lineage import input_lineage

    return [(d.namespace, d.name) for d in input_lineage("aimod_warehouse", out["tables_read"]).inputs]


def flagged_days(out):
    return [f["ts"][:10] for f in out["result"]["detection"]["flags"]]


def test_the_spike_is_flagged_on_sqlite(anomalies_dag, spiked, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(spiked)}))
    state, out = outcome(anomalies_dag, {"start": "2024-04-01", "end": "2024-07-01"})
    assert state == "success" and out["status"] == "answered"
    assert flagged_days(out) == ["2024-06-15"] and out["result"]["assessment"]["verdict"] == "anomalous"
    assert "2024-06-15" in out["result"]["explanation"]
    assert out["tables_read"] == ["orders"] and lineage(out) == [(f"sqlite://{spiked}", "orders")]


def test_a_window_without_the_spike_is_normal(anomalies_dag, spiked, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(spiked)}))
    state, out = outcome(anomalies_dag, {"start": "2024-01-01", "end": "2024-04-01"})
    assert state == "success" and out["result"]["assessment"]["verdict"] == "normal"


@pytest.mark.postgres
def test_the_same_spike_is_flagged_on_postgres(anomalies_dag, spiked, monkeypatch):
    with warehouse_copy(spiked, "aimod_test_anomaly") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        state, out = outcome(anomalies_dag, {"start": "2024-04-01", "end": "2024-07-01"})
        inputs = lineage(out)
    assert state == "success" and out["status"] == "answered"
    assert flagged_days(out) == ["2024-06-15"]
    [(namespace, name)] = inputs  # database.schema.table, the database being this test's throwaway copy
    assert namespace == "postgres://127.0.0.1:5432" and re.fullmatch(r"aimod_test_anomaly\w*\.public\.orders", name)


def test_two_detectors_that_agree_continue_without_a_person(spiked, airflow_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(spiked)}))
    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("aimod_data_ops")
    run = dag.test(run_conf={"start": "2024-04-01", "end": "2024-07-01"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {"weekday_baseline": "success", "whole_series": "success", "arbitrate": "success",
                      "investigate": "success", "publish": "skipped"}
    with create_session() as session:
        xcom = {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}
    judged = xcom["arbitrate"]
    assert (judged["outcome"], judged["verdict"], judged["decided_by"]) == ("agree", "anomalous", "rule")
    assert "2024-06-15T00:00:00" in xcom["investigate"]["flagged"]


def test_arbitration_operator_validates_at_parse_time():
    from airflow_aimod.core.disagreement import DisagreementRule
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.arbitration import ArbitrationOperator

    rule = DisagreementRule.of("r", "data_profiler", "anomaly_detector")
    base = {"task_id": "a", "left_task_id": "l", "right_task_id": "r"}
    op = ArbitrationOperator(rule=rule, verdict_tasks={"normal": "p", "anomalous": "i"}, **base)
    assert op.options == ["normal", "anomalous"] and op.defaults == ["anomalous"]  # timeout: the cautious verdict
    for kwargs, message in [({"verdict_tasks": {"fine": "p", "normal": "x"}}, "unknown verdicts"),
                            ({"verdict_tasks": {"normal": "p"}}, "at least two"),
                            ({"verdict_tasks": {"normal": "p", "anomalous": "i"}, "options": ["x"]}, "sets"),
                            ({"verdict_tasks": {"normal": "p", "anomalous": "i"}, "rule": {"left": "x"}}, "rule must")]:
        args = {"rule": rule, **base, **kwargs}
        with pytest.raises(ConfigurationError, match=message):
            ArbitrationOperator(**args)
