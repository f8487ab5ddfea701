"""Production-sized AiMod store contents, bulk-inserted: ``outcomes`` agent runs with 10 events each on average.

Runs spread evenly over ``span_days`` before ``now`` across 20 DAGs and four agents; most answered, some
failed, escalated, waiting for a person (0.5 %) or still running. Outcomes go in in the order the runs ended,
as a store fills (the rows of one day lie together on disk, not scattered over the whole table). Rows go in through ``executemany`` in
large transactions (SQLite) or ``COPY`` (Postgres), so a million events take seconds, not the minutes the
one-transaction-per-event path of a task would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.records import EVENT_COLUMNS, Outcome

AGENTS = ("task_router", "sql_agent", "data_profiler", "anomaly_detector")
KINDS = ("transition", "llm_call", "guard", "tool_call", "transition", "llm_call", "guard", "tool_call",
         "transition", "approval")
STATUSES = ("answered",) * 170 + ("failed",) * 10 + ("escalated",) * 12 + ("refused",) * 2 + \
           ("needs_approval",) * 1 + ("running",) * 5
OUTCOME_COLUMNS = tuple(Outcome.__dataclass_fields__)
CHUNK = 50_000


def generate(store: EventStore, *, events: int, outcomes: int, now: float, span_days: float = 30.0,
             seed: int = 7) -> list[str]:
    """Insert the rows; return the trace ids of a few runs, newest last (to open a trace by)."""
    store.migrate()
    rng = random.Random(seed)
    runs = [_run(rng, i, now - rng.random() * span_days * 86400.0) for i in range(outcomes)]
    picked = [r["trace_id"] for r in sorted(runs[:50], key=lambda r: r["ended_at"])]
    runs.sort(key=lambda r: r["ended_at"])
    _insert(store, "aimod_outcomes", OUTCOME_COLUMNS, ([r[c] for c in OUTCOME_COLUMNS] for r in runs))
    _insert(store, "aimod_events", EVENT_COLUMNS, _events(rng, runs, events))
    settle(store)
    return picked


def settle(store: EventStore) -> None:
    """Postgres: ``VACUUM ANALYZE`` the tables, as autovacuum has on a store that filled over weeks (right after
    a bulk load the planner has no statistics and autovacuum competes with the reads)."""
    if store.dialect != "postgres":
        return
    import psycopg

    with psycopg.connect(store.url, autocommit=True) as conn:
        for table in ("aimod_outcomes", "aimod_events"):
            conn.execute(f"VACUUM ANALYZE {table}")


def _run(rng: random.Random, i: int, ended: float) -> dict[str, Any]:
    status = rng.choice(STATUSES)
    dag = f"dag_{i % 20:02d}"
    return {"trace_id": f"t{i:08d}", "agent": AGENTS[i % len(AGENTS)], "task_id": "agent", "dag_id": dag,
            "run_id": f"run_{i:08d}", "status": status, "reason": status, "model": "gpt-4o-mini",
            "started_at": ended - 1 - rng.random() * 20, "ended_at": ended, "input_tokens": 900,
            "output_tokens": 120, "llm_calls": 2, "needed_human": int(status in ("needs_approval", "escalated")),
            "cost": 0.0, "request": f"question {i}", "map_index": -1}


def _events(rng: random.Random, runs: list[dict[str, Any]], count: int) -> Iterator[tuple[Any, ...]]:
    for n in range(count):
        run = runs[n % len(runs)]
        k = n // len(runs)
        kind = KINDS[k % len(KINDS)] if run["status"] != "failed" or k < 9 else "error"
        data = {"model": "gpt-4o-mini", "latency_ms": 120.0} if kind == "llm_call" else {"status": "ok"}
        yield (f"e{n:09d}", run["trace_id"], run["agent"], kind, "step", run["started_at"] + k * 0.5,
               run["dag_id"], run["run_id"], run["task_id"], data.get("model"),
               300 if kind == "llm_call" else None, 40 if kind == "llm_call" else None, data.get("latency_ms"),
               "AgentTimeout" if kind == "error" and rng.random() < 0.3 else data.get("status"), json.dumps(data))


def _insert(store: EventStore, table: str, columns: tuple[str, ...], rows: Iterator[Any]) -> None:
    if store.dialect == "postgres":
        with store.transaction() as conn, conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    batch: list[Any] = []
    for row in rows:
        batch.append(tuple(row))
        if len(batch) >= CHUNK:
            with store.transaction() as conn:
                conn.executemany(statement, batch)
            batch = []
    if batch:
        with store.transaction() as conn:
            conn.executemany(statement, batch)
