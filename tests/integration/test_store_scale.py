"""The AiMod store at volume, on SQLite and a real Postgres: every dashboard query is served by an index
(proven with EXPLAIN on the statements the queries really send), and retention deletes in batches while
writers keep writing."""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_aimod.core.store import DashboardQueries, Outcome, open_store
from airflow_aimod.core.store.reconcile import TaskState
from airflow_aimod.core.store.retention import DAY, RetentionPolicy, StoreRetention
from tests.pg import throwaway_database
from tests.support.store_volume import generate

NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        with open_store(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
            yield opened
        return
    with throwaway_database("aimod_scale") as url, open_store(url) as opened:
        yield opened


class Recording:
    """Wraps a store's ``fetch`` to keep every statement (with its parameters) the dashboard sends."""

    def __init__(self, store) -> None:
        self.store, self.sent = store, []
        self._fetch = store.fetch
        store.fetch = self.fetch

    def fetch(self, text, params=()):
        self.sent.append((text, tuple(params)))
        return self._fetch(text, params)


class FailedTasks:
    """Airflow's task states as the page would read them: every 7th run's task failed after its agent answered
    (so the settled statements leave runs out by key and by trace, as they do on a real deployment)."""

    def __init__(self, store) -> None:
        rows = store.fetch("SELECT dag_id, run_id, task_id FROM aimod_outcomes WHERE status = 'answered'")
        self.tasks = [TaskState(dag_id=d, run_id=r, task_id=t, state="failed", end=NOW - 600)
                      for d, r, t in rows[::7]]

    def in_window(self, *, window, now, dag_ids, states=None):
        return [t for t in self.tasks if states is None or t.state in states]

    def for_keys(self, keys):
        return [t for t in self.tasks if t.key in set(keys)]


def dashboard_statements(store, traces: list[str]) -> list[tuple[str, tuple]]:
    failed = FailedTasks(store)
    recording = Recording(store)
    window = 86400.0
    for q in (DashboardQueries(store), DashboardQueries(store, task_states=failed)):
        view = q.view(window=window, now=NOW)
        q.agent_health(window=window, now=NOW, runs=view)
        q.series(window=window, now=NOW, runs=view, agent="sql_agent")
        q.business(window=window, now=NOW, runs=view)
        q.attention(window=window, now=NOW, runs=view)
        q.requests(window=window, now=NOW, runs=view, status="failed")
    assert any("NOT IN (VALUES" in text for text, _ in recording.sent)  # the exclusions were really sent
    q.trace(traces[-1])
    q.pending_approvals(limit=50)
    q.recent_traces(limit=20)
    return recording.sent


def unindexed(store, text: str, params: tuple) -> list[str]:
    """The plan steps that read an aimod_ table without an index (empty: every read uses one)."""
    if store.dialect == "sqlite":
        plan = store._connection().execute("EXPLAIN QUERY PLAN " + text, params).fetchall()
        steps = [row[-1] for row in plan]
        ordered_only = "WHERE 1 = 1 ORDER BY" in text  # no filter: reading the index in order up to LIMIT is the plan
        return [s for s in steps if (s.startswith("SEARCH aimod_") and "USING" not in s)
                or (s.startswith("SCAN aimod_") and not (ordered_only and "USING INDEX" in s))]
    conn = store._connection()
    conn.execute("SET enable_seqscan = off")  # a usable index now always wins: a Seq Scan means there is none
    try:
        (plan,), = conn.execute("EXPLAIN (FORMAT JSON) " + store.sql(text), params).fetchall()
    finally:
        conn.rollback()
    found: list[str] = []
    _seq_scans(plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"], found)
    return found


def _seq_scans(node: dict, found: list[str]) -> None:
    """Seq Scans of aimod_ tables, and index scans that filter rows instead of seeking them (no Index Cond)."""
    relation = str(node.get("Relation Name", ""))
    kind = node.get("Node Type")
    if relation.startswith("aimod_") and (kind == "Seq Scan" or (kind in ("Index Scan", "Index Only Scan")
                                                                 and "Filter" in node and "Index Cond" not in node)):
        found.append(f"{node['Node Type']} on {relation} filtering {node.get('Filter')}")
    for child in node.get("Plans") or ():
        _seq_scans(child, found)


def test_every_dashboard_query_and_every_purge_uses_an_index(store):
    traces = generate(store, events=5_000, outcomes=500, now=NOW)
    sent = dashboard_statements(store, traces)
    assert len(sent) >= 7
    purge = [("SELECT event_id FROM aimod_events WHERE ts < ? LIMIT ?", (NOW - 7 * DAY, 100)),
             ("SELECT trace_id FROM aimod_outcomes WHERE ended_at < ? AND status NOT IN ('needs_approval', 'running') "
              "LIMIT ?", (NOW - 7 * DAY, 100)),
             ("SELECT dag_id FROM aimod_token_ledger WHERE updated_at < ? LIMIT ?", (NOW - 7 * DAY, 100))]
    problems = {text: steps for text, params in [*sent, *purge] if (steps := unindexed(store, text, params))}
    assert not problems, f"{store.dialect}: statements reading without an index: {problems}"


def test_retention_deletes_expired_rows_batch_by_batch_and_keeps_waiting_runs(store):
    generate(store, events=3_000, outcomes=300, now=NOW, span_days=30)
    old_waiting = Outcome(trace_id="waiting-old", agent="sql_agent", status="needs_approval", started_at=NOW - 60 * DAY,
                          ended_at=NOW - 60 * DAY, dag_id="dag_00", run_id="r", task_id="agent")
    store.record_outcome(old_waiting)
    expected = {"aimod_events": _count(store, "aimod_events WHERE ts < ?", NOW - 10 * DAY),
                "aimod_outcomes": _count(store, "aimod_outcomes WHERE ended_at < ? AND status NOT IN "
                                                "('needs_approval', 'running')", NOW - 10 * DAY)}
    assert expected["aimod_events"] > 1000 and expected["aimod_outcomes"] > 100  # the data really spans the cut
    batches: list[tuple[str, int]] = []
    deleted = StoreRetention(store, RetentionPolicy(10, batch=250), on_batch=lambda t, n: batches.append((t, n))).purge(
        now=NOW)
    assert deleted == {**expected, "aimod_token_ledger": 0}
    assert max(n for _, n in batches) == 250
    assert sum(1 for t, _ in batches if t == "aimod_events") == -(-expected["aimod_events"] // 250)
    assert _count(store, "aimod_events WHERE ts < ?", NOW - 10 * DAY) == 0
    assert _count(store, "aimod_events WHERE ts >= ?", NOW - 10 * DAY) == 3_000 - expected["aimod_events"]
    assert store.fetch("SELECT status FROM aimod_outcomes WHERE trace_id = 'waiting-old'") == [("needs_approval",)]


def test_writers_proceed_while_the_purge_runs(store, tmp_path):
    """Between two batches another connection writes (SQLite would time out if a batch's lock were held over),
    and a writer thread keeps writing during the whole purge."""
    generate(store, events=20_000, outcomes=2_000, now=NOW, span_days=30)
    other = open_store(store.url) if store.dialect == "postgres" else _sqlite_with_short_timeout(store.url)
    writer_stop, written, errors = threading.Event(), [], []

    def writer():
        while not writer_stop.is_set():
            try:
                other_thread.append([_event(f"w{len(written)}")])
                written.append(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - a writer held up past its timeout is the failure
                errors.append(repr(exc))
                return

    def between_batches(table, deleted):
        other.append([_event(f"between-{table}-{deleted}-{time.monotonic_ns()}")])

    other_thread = open_store(store.url) if store.dialect == "postgres" else _sqlite_with_short_timeout(store.url)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    started = time.monotonic()
    deleted = StoreRetention(store, RetentionPolicy(10, batch=500), on_batch=between_batches).purge(now=NOW)
    ended = time.monotonic()
    writer_stop.set()
    thread.join(timeout=60)
    other.close(), other_thread.close()
    assert not errors, errors
    assert deleted["aimod_events"] > 10_000
    during = [t for t in written if started <= t <= ended]
    assert during, f"no write landed during the {ended - started:.1f}s purge ({len(written)} in all)"
    assert _count(store, "aimod_events WHERE event_id LIKE ?", "between-%") >= deleted["aimod_events"] // 500


def _sqlite_with_short_timeout(url: str):
    from airflow_aimod.core.store.sqlite import SQLiteEventStore

    return SQLiteEventStore(url, busy_timeout_s=5.0)


def _event(event_id: str) -> dict:
    return {"event_id": event_id, "trace_id": "writer", "agent": "sql_agent", "kind": "transition", "name": "w",
            "ts": NOW, "data": {}}


def _count(store, where: str, *params) -> int:
    return int(store.fetch(f"SELECT COUNT(*) FROM {where}", params)[0][0])
