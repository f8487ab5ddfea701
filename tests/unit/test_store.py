"""The AiMod store (SQLite): migrations, idempotent events, outcome upserts, dashboard queries.

``build_dataset`` / ``check_*`` are shared with tests/integration/test_store_postgres.py, so both
dialects are held to the same exact figures.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from airflow_aimod.core.store import DashboardQueries, Outcome, StoreSink, open_store
from airflow_aimod.core.store.migrations import LATEST, MIGRATIONS, Migration, migrate
from airflow_aimod.core.store.pricing import PriceTable, nearest_rank
from airflow_aimod.core.tracing import Tracer
from airflow_aimod.exceptions import ConfigurationError

NOW = 1_000_000.0
HOUR = 3600.0
PRICES = PriceTable.from_mapping({"gpt-4o-mini": {"input_per_1k": 0.15, "output_per_1k": 0.6}})
DAG = "aimod_quickstart"


def build_dataset(store) -> None:
    """20 sql_agent runs (2 failed), 10 router runs, 1 paused run, 1 run outside the window, 4 error events."""
    for i in range(1, 21):
        start = NOW - 3000 + 100 * i
        store.record_outcome(Outcome(
            trace_id=f"t{i}", agent="sql_agent", status="failed" if i in (7, 14) else "answered",
            started_at=start, ended_at=start + i, dag_id=DAG, run_id=f"r{i}", task_id="sql_agent",
            model="gpt-4o-mini", input_tokens=100 * i, output_tokens=10 * i, llm_calls=1,
            needed_human=i % 5 == 0))
        if i <= 10:
            store.record_outcome(Outcome(trace_id=f"t{i}", agent="task_router", status="answered", started_at=start - 2,
                                         ended_at=start - 1, dag_id=DAG, run_id=f"r{i}", task_id="route",
                                         model="offline", input_tokens=50, output_tokens=5, llm_calls=1))
    store.record_outcome(Outcome(trace_id="p1", agent="sql_agent", status="needs_approval", started_at=NOW - 60,
                                 ended_at=NOW - 50, dag_id="aimod_approvals", run_id="rp", task_id="sql_agent",
                                 reason="query touches PII table customers", model="gpt-4o-mini",
                                 input_tokens=1000, output_tokens=100, needed_human=True))
    store.record_outcome(Outcome(trace_id="old", agent="sql_agent", status="failed", started_at=NOW - 7300,
                                 ended_at=NOW - 7200, dag_id=DAG, model="gpt-4o-mini", input_tokens=9999))
    for n, (ts, kind) in enumerate([(NOW - 500, "AgentTimeout"), (NOW - 400, "LLMBackendError"),
                                    (NOW - 300, "AgentTimeout"), (NOW - 5000, "AgentTimeout")]):
        tracer = Tracer(trace_id=f"t{n + 1}", agent="sql_agent", clock=lambda ts=ts: ts)
        store.append([tracer.event("error", "generate", error_type=kind, message="x")], scope={"dag_id": DAG})


def check_health(queries) -> None:
    sql, router = queries.agent_health(window=HOUR, now=NOW)
    assert sql == {"agent": "sql_agent", "runs": 21, "finished": 20, "succeeded": 18, "escalated": 0, "failed": 2,
                   "waiting": 1, "running": 0, "pending": 1, "success_rate": 0.9, "escalation_rate": 0.0,
                   "error_rate": 0.1, "p50_s": 10.0, "p95_s": 19.0, "input_tokens": 22000,
                   "output_tokens": 2200, "llm_calls": 20, "errors": 3, "timeouts": 2}
    assert router == {"agent": "task_router", "runs": 10, "finished": 10, "succeeded": 10, "escalated": 0,
                      "failed": 0, "waiting": 0, "running": 0, "pending": 0, "success_rate": 1.0,
                      "escalation_rate": 0.0, "error_rate": 0.0, "p50_s": 1.0, "p95_s": 1.0, "input_tokens": 500,
                      "output_tokens": 50, "llm_calls": 10, "errors": 0, "timeouts": 0}


def check_business(queries) -> None:
    figures = queries.business(window=HOUR, now=NOW)
    # 21 requests: 20 over (18 completed, 2 failed) and p1 still waiting for a person, who counts as needing one
    assert figures == {"requests": 21, "requests_resolved": 20, "tasks_completed": 18, "requests_failed": 2,
                       "requests_escalated": 0, "requests_waiting": 1, "needed_human": 5, "human_share": 5 / 21,
                       "resolution_p50_s": 11.0, "resolution_p95_s": 19.0, "resolution_mean_s": 11.5,
                       "cost": 4.62, "cost_by_model": {"gpt-4o-mini": 4.62, "offline": 0.0},
                       "unpriced_models": ["offline"]}


def check_series(queries) -> None:
    series = queries.series(window=HOUR, now=NOW, buckets=6)
    assert [s["runs"] for s in series] == [0, 11, 10, 6, 3, 0]
    assert [s["succeeded"] for s in series] == [0, 11, 9, 5, 3, 0]
    assert series[4]["tokens"] == 6270 and series[2]["success_rate"] == 0.9
    assert [s["start"] for s in series] == [NOW - HOUR + 600 * k for k in range(6)]
    assert [s["runs"] for s in queries.series(window=HOUR, now=NOW, buckets=6, agent="task_router")] == [0, 6, 4, 0, 0, 0]


def check_scoped(queries) -> None:
    assert [h["agent"] for h in queries.agent_health(window=HOUR, now=NOW, dag_ids={"aimod_approvals"})] == ["sql_agent"]
    assert [a["trace_id"] for a in queries.pending_approvals(dag_ids={"aimod_approvals"})] == ["p1"]
    assert queries.pending_approvals(dag_ids={"other"}) == [] and queries.agent_health(window=HOUR, now=NOW, dag_ids=set()) == []
    assert queries.business(window=HOUR, now=NOW, dag_ids=set())["requests_resolved"] == 0


def check_trace_and_approvals(queries) -> None:
    trace = queries.trace("t1")
    assert [e["kind"] for e in trace["events"]] == ["error"] and trace["events"][0]["data"]["error_type"] == "AgentTimeout"
    assert [(o["agent"], o["status"]) for o in trace["outcomes"]] == [("task_router", "answered"), ("sql_agent", "answered")]
    pending = queries.pending_approvals()
    assert [(p["trace_id"], p["dag_id"], p["task_id"], p["reason"]) for p in pending] == [
        ("p1", "aimod_approvals", "sql_agent", "query touches PII table customers")]


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'aimod' / 'store.sqlite'}") as s:
        yield s


@pytest.fixture
def queries(store):
    build_dataset(store)
    return DashboardQueries(store, price_table=PRICES)


def test_health(queries):
    check_health(queries)


def test_business(queries):
    check_business(queries)


def test_series(queries):
    check_series(queries)


def test_trace_and_pending_approvals(queries):
    check_trace_and_approvals(queries)


def test_dag_scope_restricts_every_query(queries):
    check_scoped(queries)


def test_empty_window_has_no_rates(store):
    queries = DashboardQueries(store)
    assert queries.agent_health(window=HOUR, now=NOW) == []
    assert queries.business(window=HOUR, now=NOW)["human_share"] is None
    assert all(s["success_rate"] is None for s in queries.series(window=HOUR, now=NOW, buckets=3))


def test_migrations_are_ordered_recorded_and_idempotent(store):
    assert store.migrate() == [m.version for m in MIGRATIONS]
    assert store.migrate() == []
    rows = store.fetch("SELECT version, name FROM aimod_schema_version ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS] and rows[-1][0] == LATEST
    indexes = {r[0] for r in store.fetch("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"aimod_events_trace_ts", "aimod_outcomes_agent_ended", "aimod_outcomes_status_ended"} <= indexes


def check_migrations_run_again_on_a_store_whose_version_rows_are_gone(store) -> None:
    """Shared with Postgres: every migration re-applied on the tables it already made (a store restored without
    its version table, a column added by hand) succeeds and keeps the data; migration 4's ADD COLUMN used to fail."""
    store.migrate()
    store.record_outcome(Outcome(trace_id="kept", agent="sql_agent", status="answered", started_at=NOW - 2,
                                 ended_at=NOW - 1, request="How many orders?"))
    with store.locked(1) as conn:
        conn.execute(store.sql("DELETE FROM aimod_schema_version WHERE version >= ?"), (1,))
    assert store.migrate() == [m.version for m in MIGRATIONS]
    assert store.fetch("SELECT trace_id, request FROM aimod_outcomes") == [("kept", "How many orders?")]
    assert store.fetch("SELECT COUNT(*) FROM aimod_schema_version") == [(len(MIGRATIONS),)]
    assert store.migrate() == []


def test_migrations_run_again_on_a_store_whose_version_rows_are_gone(store):
    check_migrations_run_again_on_a_store_whose_version_rows_are_gone(store)


def test_a_newer_schema_is_refused_with_advice(store):
    store.migrate()
    store._begin(store._connection())
    store._connection().execute("INSERT INTO aimod_schema_version VALUES (99, 'future', 0)")
    store._connection().commit()
    with pytest.raises(ConfigurationError, match="upgrade airflow-aimod"):
        store.migrate()


def test_a_failing_migration_leaves_nothing_behind(store):
    store.migrate()
    broken = (*MIGRATIONS, Migration(LATEST + 1, "broken", ("CREATE TABLE aimod_x (a INTEGER)", "NOT SQL")))
    conn = store._connection()
    with pytest.raises(Exception):
        migrate(conn, lock=store._lock_schema, migrations=broken)
    assert store.fetch("SELECT MAX(version) FROM aimod_schema_version") == [(LATEST,)]
    assert store.fetch("SELECT name FROM sqlite_master WHERE name = 'aimod_x'") == []


def test_migration_versions_must_increase():
    with pytest.raises(ValueError, match="strictly increasing"):
        migrate(None, lock=lambda c: None, migrations=(Migration(2, "a", ()), Migration(1, "b", ())))


def test_processes_starting_at_once_migrate_exactly_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.sqlite'}"
    code = textwrap.dedent(f"""
        import time, sys
        from airflow_aimod.core.store import open_store
        time.sleep(max(0.0, {__import__('time').time() + 1.5} - time.time()))
        print(open_store({url!r}).migrate())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    applied = sorted(out.strip() for out, _ in outputs)
    assert applied == [str([m.version for m in MIGRATIONS])] + ["[]"] * 5
    assert open_store(url).fetch("SELECT COUNT(*) FROM aimod_schema_version") == [(len(MIGRATIONS),)]


def test_events_are_idempotent_on_event_id(store):
    tracer = Tracer(trace_id="t", agent="sql_agent", clock=lambda: 5.0)
    events = [tracer.event("llm_call", "chat", model="m", input_tokens=3, output_tokens=1, latency_ms=2.5),
              tracer.transition("generate", "running")]
    assert store.append(events) == 2
    assert store.append(events) == 0  # at-least-once re-emission after a resume
    row = store.fetch("SELECT model, input_tokens, output_tokens, latency_ms FROM aimod_events WHERE kind = 'llm_call'")
    assert row == [("m", 3, 1, 2.5)]


def test_store_sink_is_an_event_sink_with_scope(store):
    sink = StoreSink(store, dag_id="d", run_id="r", task_id="t")
    Tracer(trace_id="abc", agent="sql_agent", sinks=[sink]).transition("plan", "running")
    assert store.fetch("SELECT trace_id, agent, kind, dag_id, run_id, task_id, detail FROM aimod_events") == [
        ("abc", "sql_agent", "transition", "d", "r", "t", "running")]


def test_store_sink_never_breaks_the_run_unless_strict(caplog):
    broken = open_store("postgresql://nobody@127.0.0.1:1/none")
    sink = StoreSink(broken)
    Tracer(trace_id="abc", agent="a", sinks=[sink]).transition("plan", "running")
    assert sink.failures == 1 and "still in the task log" in caplog.text
    with pytest.raises(ConnectionError, match="store_url"):
        Tracer(trace_id="abc", agent="a", sinks=[StoreSink(broken, strict=True)]).transition("plan", "running")


def test_resumed_run_updates_its_paused_outcome(store):
    paused = Outcome.from_run({"trace_id": "t", "agent": "sql_agent", "status": "needs_approval",
                               "token_usage": {"input_tokens": 10, "output_tokens": 2, "llm_calls": 1}},
                              started_at=100.0, ended_at=110.0, task_id="sql")
    assert paused.needed_human
    store.record_outcome(paused)
    final = Outcome.from_run({"trace_id": "t", "agent": "sql_agent", "status": "answered", "approvals": [],
                              "token_usage": {"input_tokens": 30, "output_tokens": 6, "llm_calls": 2}},
                             started_at=500.0, ended_at=520.0, task_id="sql")
    store.record_outcome(final)
    store.record_outcome(paused)  # a stale re-emission never rolls the row back
    assert store.fetch("SELECT status, started_at, ended_at, input_tokens, llm_calls, needed_human FROM aimod_outcomes") == [
        ("answered", 100.0, 520.0, 30, 2, 1)]


def test_outcome_and_event_validation():
    with pytest.raises(ValueError, match="trace_id, agent and status"):
        Outcome(trace_id="", agent="a", status="answered", started_at=0, ended_at=1)
    with pytest.raises(ValueError, match="before it starts"):
        Outcome(trace_id="t", agent="a", status="answered", started_at=2, ended_at=1)
    with pytest.raises(ValueError, match="Tracer"):
        open_store("memory://").append([{"trace_id": "t"}])


def test_store_urls():
    assert open_store("sqlite:////tmp/x/store.sqlite").path.as_posix() == "/tmp/x/store.sqlite"
    assert open_store("postgresql://u@h/db").dialect == "postgres"
    with pytest.raises(ConfigurationError, match=r"\[aimod\] store_url"):
        open_store("mysql://x")


def test_price_table_and_percentiles():
    assert PRICES.cost("gpt-4o-mini", 2000, 1000) == pytest.approx(0.9) and PRICES.cost("other", 1, 1) is None
    with pytest.raises(ValueError, match="input_per_1k and output_per_1k"):
        PriceTable.from_mapping('{"m": {"input_per_1k": 1}}')
    with pytest.raises(ValueError, match=">= 0"):
        PriceTable.from_mapping({"m": {"input_per_1k": -1, "output_per_1k": 0}})
    assert [nearest_rank(list(range(1, 21)), p) for p in (50, 95, 100)] == [10, 19, 20] and nearest_rank([], 50) is None


def test_the_page_counts_in_sql_what_reconciling_every_run_counts(store):
    check_view_equals_runs(store)


def check_view_equals_runs(store) -> None:
    """Settled runs counted by GROUP BY, open ones reconciled in Python: every figure equals the one computed
    from the full list of reconciled runs, with Airflow failing, retrying, holding and rerunning tasks whose
    agents answered, tasks with no outcome, earlier tries, and a DAG scope."""
    import random

    from airflow_aimod.core.store.reconcile import TaskState

    rng, statuses = random.Random(3), ("answered", "failed", "escalated", "needs_approval", "running", "refused")
    airflow_says = ("success", "success", "failed", "up_for_retry", "awaiting_input", "running", "skipped")
    tasks = []
    for i in range(400):
        ended = NOW - rng.random() * 2 * HOUR
        run = {"dag_id": f"d{i % 3}", "run_id": f"r{i // 2}", "task_id": f"t{i % 2}"}
        store.record_outcome(Outcome(trace_id=f"tr{i // 3}", agent=("a", "b", "c")[i % 3],
                                     status=rng.choice(statuses), started_at=ended - rng.random() * 30,
                                     ended_at=ended, input_tokens=i, output_tokens=1, llm_calls=1,
                                     needed_human=i % 11 == 0, **run))
        if i % 4 == 0:
            state = rng.choice(airflow_says)
            tasks.append(TaskState(**run, state=state, end=None if state == "running" else ended + 1,
                                   try_number=2, waiting_since=ended if state == "awaiting_input" else None))
    tasks.append(TaskState(dag_id="d0", run_id="gone", task_id="t0", state="failed", end=NOW - 10, agent="a"))

    class Listed:
        def in_window(self, *, window, now, dag_ids, states=None):
            return [t for t in tasks if (states is None or t.state in states)
                    and (dag_ids is None or t.dag_id in dag_ids)]

        def for_keys(self, keys):
            return [t for t in tasks if t.key in set(keys)]

    for dags in (None, {"d0", "d2"}):
        q = DashboardQueries(store, price_table=PRICES, task_states=Listed())
        view, w = q.view(window=HOUR, now=NOW, dag_ids=dags), {"window": HOUR, "now": NOW, "dag_ids": dags}
        runs = view.runs()
        assert {r.verdict for r in view.open} >= {"failed", "waiting", "running", "escalated"}
        assert q.agent_health(**w, runs=view) == q.agent_health(**w, runs=runs)
        assert q.series(**w, buckets=7, runs=view) == q.series(**w, buckets=7, runs=runs)
        assert q.business(**w, runs=view) == q.business(**w, runs=runs)
        shown = q.attention(**w, runs=view, limit=30)  # rows shown also carry Airflow's state and try
        assert [_without_task(a) for a in shown] == [_without_task(a) for a in q.attention(**w, runs=runs, limit=30)]
        known = {t.key: t for t in tasks}
        keys = [(a["dag_id"], a["run_id"], a["task_id"], a["map_index"]) for a in shown]
        assert any(k in known for k in keys)
        assert all(a["airflow_state"] == known[k].state for a, k in zip(shown, keys) if k in known)
        for status in (None, "failed", "succeeded", "escalated", "waiting"):
            assert q.requests(**w, runs=view, status=status, limit=25) == \
                q.requests(**w, runs=runs, status=status, limit=25)


def _without_task(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("airflow_state", "try_number")}


def test_mapped_instances_of_one_task_are_runs_of_their_own(store):
    """Three mapped instances of one agent task wait for a person at once: three waiting runs, three pending
    approvals (not one waiting and two 'earlier tries' counted failed); answered, each is its own success."""
    from airflow_aimod.core.store.reconcile import TaskState

    for i in range(3):
        store.record_outcome(Outcome(trace_id=f"m{i}", agent="sql_agent", status="needs_approval", started_at=NOW - 90,
                                     ended_at=NOW - 60 + i, dag_id=DAG, run_id="r", task_id="ask", map_index=i))
    tasks = [TaskState(dag_id=DAG, run_id="r", task_id="ask", map_index=i, state="awaiting_input",
                       waiting_since=NOW - 60 + i) for i in range(3)]

    class Listed:
        def in_window(self, *, window, now, dag_ids, states=None):
            return [t for t in tasks if states is None or t.state in states]

        def for_keys(self, keys):
            return [t for t in tasks if t.key in set(keys)]

    q = DashboardQueries(store, task_states=Listed())
    assert sorted((r.map_index, r.verdict) for r in q.runs(window=HOUR, now=NOW)) == [(i, "waiting") for i in range(3)]
    assert [a["trace_id"] for a in q.pending_approvals(now=NOW)] == ["m2", "m1", "m0"]
    for i in range(3):
        store.record_outcome(Outcome(trace_id=f"m{i}", agent="sql_agent", status="answered", started_at=NOW - 90,
                                     ended_at=NOW - 10, dag_id=DAG, run_id="r", task_id="ask", map_index=i))
    tasks[:] = [TaskState(dag_id=DAG, run_id="r", task_id="ask", map_index=i, state="success", end=NOW - 9)
                for i in range(3)]
    assert [(h["succeeded"], h["failed"], h["waiting"]) for h in q.agent_health(window=HOUR, now=NOW)] == [(3, 0, 0)]
    assert q.pending_approvals(now=NOW) == []
