"""Alert state on Postgres: the burst count, and two processes' worth of writers sending once."""

from __future__ import annotations

import threading

import pytest

from airflow_aimod.core.alerts import Alert, AlertPolicy, AlertState
from airflow_aimod.core.store import open_store
from tests.pg import throwaway_database

pytestmark = pytest.mark.postgres

LOAD = Alert(title="orders load failed", severity="critical", source="orders_load")
POLICY = AlertPolicy(throttle_s=600, escalate_after_s=900)


@pytest.fixture(scope="module")
def pg_url():
    with throwaway_database("aimod_alerts") as url:
        yield url


def test_concurrent_writers_on_postgres_send_once_and_count_every_alert(pg_url):
    actions: list[str] = []

    def raise_many():
        with open_store(pg_url) as store:
            actions.extend(AlertState(store).observe(LOAD, POLICY, now=10.0).action for _ in range(250))

    threads = [threading.Thread(target=raise_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(pg_url) as store:
        state = AlertState(store)
        row = state.get(LOAD.fingerprint)
        assert (row.occurrences, row.suppressed) == (1000, 999) and actions.count("send") == 1
        assert [r.fingerprint for r in state.due_escalations(POLICY, now=10.0 + 900)] == [LOAD.fingerprint]
        assert state.escalated(LOAD.fingerprint, now=1000.0) and not state.escalated(LOAD.fingerprint, now=1001.0)
