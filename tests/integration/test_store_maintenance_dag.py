"""dags/aimod_store_maintenance.py under dag.test(): the store loses what is older than
``[aimod] store_retention_days`` and keeps the rest, and a bad retention fails in one line."""

from __future__ import annotations

import time

import pytest

from airflow_aimod.exceptions import ConfigurationError
from tests.conftest import example_dag

pytestmark = pytest.mark.airflow


def test_the_maintenance_dag_deletes_only_what_the_retention_lets_go(airflow_db, monkeypatch):
    from airflow_aimod.core.store import Outcome
    from airflow_aimod.observability.sinks import shared_store, store_url

    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_RETENTION_DAYS", "30")
    store, now, tag = shared_store(store_url()), time.time(), f"maint{time.monotonic_ns()}"
    for name, age_days in (("old", 45), ("new", 5)):
        store.append([{"event_id": f"{tag}-{name}", "trace_id": f"{tag}-{name}", "agent": "sql_agent",
                       "kind": "transition", "name": "done", "ts": now - age_days * 86400, "data": {}}])
        store.record_outcome(Outcome(trace_id=f"{tag}-{name}", agent="sql_agent", status="answered",
                                     started_at=now - age_days * 86400, ended_at=now - age_days * 86400))
    store.record_outcome(Outcome(trace_id=f"{tag}-waiting", agent="sql_agent", status="needs_approval",
                                 started_at=now - 60 * 86400, ended_at=now - 60 * 86400))

    run = example_dag("aimod_store_maintenance").test()

    assert str(run.state) == "success"
    events = {r[0] for r in store.fetch("SELECT trace_id FROM aimod_events WHERE trace_id LIKE ?", (f"{tag}-%",))}
    outcomes = {r[0] for r in store.fetch("SELECT trace_id FROM aimod_outcomes WHERE trace_id LIKE ?", (f"{tag}-%",))}
    assert events == {f"{tag}-new"}
    assert outcomes == {f"{tag}-new", f"{tag}-waiting"}  # a run waiting for a person stays, whatever its age


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_a_bad_retention_says_what_to_set(value):
    from airflow_aimod.operators.store_retention import _days

    with pytest.raises(ConfigurationError, match=r"store_retention_days \(e\.g\. 30\)"):
        _days(value)
