"""dags/aimod_health.py in real Airflow: the health rule reads the store and alerts through a notifier."""

from __future__ import annotations

import logging
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.airflow


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_failing_agent_is_reported_and_a_healthy_one_is_not(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_aimod.core.store import Outcome
    from airflow_aimod.observability.sinks import shared_store, store_url

    # a store of its own: other tests of this worker record outcomes of the same agents within the window
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", f"sqlite:///{tmp_path / 'health-store.sqlite'}")
    store = shared_store(store_url())
    now = time.time()
    for i in range(6):  # summarizer: 2 of 6 runs failed in the last minutes; alert_manager: 6 of 6 fine
        store.record_outcome(Outcome(trace_id=f"health-s-{i}-{now}", agent="summarizer",
                                     status="failed" if i < 2 else "answered", started_at=now - 60, ended_at=now - 50))
        store.record_outcome(Outcome(trace_id=f"health-a-{i}-{now}", agent="alert_manager", status="answered",
                                     started_at=now - 60, ended_at=now - 50))
    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("aimod_health")
    alerts = _Records()
    logging.getLogger("airflow_aimod.notifications.log").addHandler(alerts)
    try:
        run = dag.test(run_conf={"min_success_rate": 0.9, "window_minutes": 10, "min_runs": 5})
    finally:
        logging.getLogger("airflow_aimod.notifications.log").removeHandler(alerts)
    assert str(run.state) == "success"
    with create_session() as session:
        found = session.query(XComModel).filter(XComModel.dag_id == "aimod_health", XComModel.run_id == run.run_id,
                                                XComModel.task_id == "check_agent_health",
                                                XComModel.key == "return_value").one().value
        routed = session.query(XComModel).filter(XComModel.dag_id == "aimod_health", XComModel.run_id == run.run_id,
                                                 XComModel.task_id == "health_alerts",
                                                 XComModel.key == "return_value").one().value
    mine = [line for line in found if line.startswith(("summarizer", "alert_manager"))]
    assert found == mine == ["summarizer: 67% without error over the last 10 min (2 of 6 runs failed)"]
    rule_calls = [m for m in alerts.messages if m.startswith("AiMod health: ")]
    assert len(rule_calls) == 1  # one notifier call for every breach, the template rendered
    assert "summarizer: 67% without error" in rule_calls[0]
    # the same breach through the alert manager (log channel, the offline default): one critical message
    assert routed["status"] == "answered" and routed["result"]["sent"]
    assert any("agent summarizer below its success rate" in m for m in alerts.messages)
