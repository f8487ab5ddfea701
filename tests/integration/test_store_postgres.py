"""The AiMod store on a real Postgres: the same exact figures as SQLite, concurrent migration, idempotency."""

from __future__ import annotations

import threading

import pytest

from airflow_aimod.core.store import DashboardQueries, StoreSink, open_store
from airflow_aimod.core.store.migrations import MIGRATIONS
from airflow_aimod.core.tracing import Tracer
from tests.pg import throwaway_database
from tests.unit import test_store as shared

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url():
    with throwaway_database("aimod_store") as url:
        yield url


@pytest.fixture(scope="module")
def queries(pg_url):
    store = open_store(pg_url)
    shared.build_dataset(store)
    yield DashboardQueries(store, price_table=shared.PRICES)
    store.close()


def test_health(queries):
    shared.check_health(queries)


def test_business(queries):
    shared.check_business(queries)


def test_series(queries):
    shared.check_series(queries)


def test_trace_and_pending_approvals(queries):
    shared.check_trace_and_approvals(queries)


def test_dag_scope(queries):
    shared.check_scoped(queries)


def test_the_page_counts_in_sql_what_reconciling_every_run_counts():
    with throwaway_database("aimod_view") as url, open_store(url) as store:
        shared.check_view_equals_runs(store)


def test_migrations_run_again_on_a_store_whose_version_rows_are_gone():
    with throwaway_database("aimod_store") as url:
        store = open_store(url)
        try:
            shared.check_migrations_run_again_on_a_store_whose_version_rows_are_gone(store)
        finally:
            store.close()


def test_connections_starting_at_once_migrate_exactly_once():
    with throwaway_database("aimod_store") as url:
        barrier, results, errors = threading.Barrier(6), [], []

        def start():
            store = open_store(url)
            try:
                store._connection()
                barrier.wait()
                results.append(store.migrate())
            except Exception as exc:  # collected, asserted below
                errors.append(exc)
            finally:
                store.close()

        threads = [threading.Thread(target=start) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert sorted(results) == [[]] * 5 + [[m.version for m in MIGRATIONS]]
        with open_store(url) as store:
            assert store.fetch("SELECT version FROM aimod_schema_version ORDER BY version") == [
                (m.version,) for m in MIGRATIONS]


def test_sink_is_idempotent_and_survives_a_dropped_connection(pg_url):
    store = open_store(pg_url)
    tracer = Tracer(trace_id="pg-trace", agent="sql_agent", sinks=[StoreSink(store, dag_id="d", strict=True)])
    event = tracer.event("llm_call", "chat", model="m", input_tokens=7, output_tokens=3, latency_ms=1.0)
    assert store.append([event]) == 0  # the sink stored it already
    store._conn.close()  # a server restart / idle timeout: the next call reconnects
    assert store.append([event]) == 0
    assert store.fetch("SELECT COUNT(*), SUM(input_tokens) FROM aimod_events WHERE trace_id = ?", ("pg-trace",)) == [(1, 7)]
    store.close()
