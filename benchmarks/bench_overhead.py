"""Agent task overhead: one warehouse question by SQLAgentOperator (offline engine) and by plain SQL.

The DAGs of ``benchmarks/dags/aimod_bench_overhead.py`` run under ``dag.test()`` in one process
(warm: everything imported, alternating agent and baseline) and, for the cold figures, each in a
fresh process of its own. The baseline, ``SQLExecuteQueryOperator``, runs the very query the agent
ran, on the same connection. Per task: the task instance's duration; the agent's extra time is
split by phase from its own ``timing`` event (imports, setup, resources, graph build, checkpoint,
record, ...) and, inside ``run``, from its trace events: schema (``db.introspect``), model
(``llm_call``), guard (``guard``), query (``sql.read``). Target: warm extra beyond the model call
<= 300 ms (p50).

    .venv/bin/python benchmarks/bench_overhead.py [--runs 15] [--cold 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGS = {"agent": "aimod_bench_overhead_agent", "baseline": "aimod_bench_overhead_sql"}
TARGET_MS = 300.0
MARK = "BENCH_OVERHEAD_RESULT "


def environment(home: Path) -> dict[str, str]:
    """A private Airflow home (SQLite metadata DB), the demo warehouse, the store and checkpoints in it."""
    return {"AIRFLOW_HOME": str(home / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "benchmarks" / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}",
            "AIRFLOW__AIMOD__CHECKPOINT_URL": f"sqlite:///{home / 'checkpoints.sqlite'}",
            "AIRFLOW__AIMOD__STORE_URL": f"sqlite:///{home / 'store.sqlite'}",
            "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(home / "warehouse.db")})}


class EventCollector(logging.Handler):
    """Keeps the agent's JSON events (the ``airflow_aimod.events`` logger's ``AIMOD_EVENT`` lines)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.events: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("AIMOD_EVENT "):
            self.events.append(json.loads(message[len("AIMOD_EVENT "):]))


def split(events: list[dict]) -> dict[str, float]:
    """Milliseconds per phase of one agent task: its ``timing`` event, with ``run`` split by its trace events."""
    timing = next(e for e in events if e["kind"] == "timing")
    phases = dict(timing["data"]["phases_ms"])
    inside = {"schema": ("tool_call", "db.introspect"), "model": ("llm_call", None), "guard": ("guard", None),
              "query": ("tool_call", "sql.read")}
    for name, (kind, tool) in inside.items():
        phases[name] = sum(float(e["data"].get("latency_ms") or 0) for e in events
                           if e["kind"] == kind and (tool is None or e["name"] == tool))
    phases["run_other"] = phases.get("run", 0.0) - sum(phases[name] for name in inside)
    return phases


class Session:
    """One process's ``dag.test`` session over the two benchmark DAGs."""

    def __init__(self) -> None:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(REPO / "benchmarks" / "dags" / "aimod_bench_overhead.py"))
        if bag.import_errors:
            raise SystemExit(f"benchmark DAGs do not import: {bag.import_errors}")
        self.dags = {kind: bag.get_dag(dag_id) for kind, dag_id in DAGS.items()}
        self.collector = EventCollector()
        events_log = logging.getLogger("airflow_aimod.events")
        events_log.addHandler(self.collector)
        events_log.setLevel(logging.INFO)
        self.sql: str | None = None

    def once(self, kind: str) -> dict:
        """Run one DAG once; the task's duration (ms), and for the agent its phases and the query it ran."""
        self.collector.events.clear()
        conf = {"sql": self.sql} if kind == "baseline" else None
        run = self.dags[kind].test(run_conf=conf)
        ti = run.get_task_instance("answer")
        if ti is None or ti.state != "success":
            raise SystemExit(f"{DAGS[kind]} ended {getattr(ti, 'state', None)}: see the log above")
        out = {"ms": ti.duration * 1000}
        if kind == "agent":
            out["phases"] = split(self.collector.events)
            outcome = ti.xcom_pull(task_ids="answer") or {}
            sql = (outcome.get("result") or {}).get("sql")
            if not sql or outcome.get("status") != "answered":
                raise SystemExit(f"the agent did not answer: {outcome.get('status')} {outcome.get('reason')}")
            self.sql = sql
        return out


def warm(runs: int) -> dict[str, list[dict]]:
    session = Session()
    session.once("agent"), session.once("baseline")  # first calls pay the process's imports: not warm
    found: dict[str, list[dict]] = {kind: [] for kind in DAGS}
    for _ in range(runs):
        for kind in DAGS:
            found[kind].append(session.once(kind))
    return found


def cold(runs: int, home: Path) -> dict[str, list[dict]]:
    """Each run a fresh process: the agent first (its query feeds the baseline), then the baseline."""
    found: dict[str, list[dict]] = {kind: [] for kind in DAGS}
    for _ in range(runs):
        sql = None
        for kind in DAGS:
            proc = subprocess.run([sys.executable, __file__, "--one", kind, "--sql", sql or ""], capture_output=True,
                                  text=True, timeout=600, cwd=REPO, env={**os.environ, **environment(home)})
            if proc.returncode != 0:
                raise SystemExit(f"cold {kind} run failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
            marked = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
            if not marked:
                raise SystemExit(f"cold {kind} run printed no result:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
            result = json.loads(marked[-1][len(MARK):])
            sql = result.pop("sql", sql)
            found[kind].append(result)
    return found


def one(kind: str, sql: str) -> None:
    session = Session()
    session.sql = sql or None
    result = session.once(kind)
    print(MARK + json.dumps({**result, "sql": session.sql}))


def report(title: str, found: dict[str, list[dict]]) -> float:
    """Print medians and the agent's extra time by phase; return the extra beyond the model call (ms)."""
    agent = statistics.median(r["ms"] for r in found["agent"])
    base = statistics.median(r["ms"] for r in found["baseline"])
    phases = [r["phases"] for r in found["agent"]]
    names = list(dict.fromkeys(name for p in phases for name in p))
    medians = {name: statistics.median(p.get(name, 0.0) for p in phases) for name in names}
    beyond = statistics.median(r["ms"] - r["phases"]["model"] for r in found["agent"]) - base
    print(f"{title}: agent task p50 {agent:.0f} ms, SQLExecuteQueryOperator (baseline) p50 {base:.0f} ms, "
          f"extra {agent - base:.0f} ms ({agent / base:.1f}x the baseline), "
          f"extra beyond the model call {beyond:.0f} ms ({len(found['agent'])} runs each)")
    print("  agent phases, p50 ms: " + ", ".join(f"{name} {ms:.1f}" for name, ms in medians.items()))
    return beyond


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="warm runs per DAG (default 15)")
    parser.add_argument("--cold", type=int, default=3, help="fresh-process runs per DAG (default 3)")
    parser.add_argument("--quick", action="store_true", help="3 warm runs, 1 cold (the suite's mode)")
    parser.add_argument("--one", choices=sorted(DAGS), help=argparse.SUPPRESS)
    parser.add_argument("--sql", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.sql)
        return 0
    runs, cold_runs = (3, 1) if args.quick else (args.runs, args.cold)
    home = Path(tempfile.mkdtemp(prefix="aimod-bench-overhead-"))
    try:
        os.environ.update(environment(home))
        (home / "airflow").mkdir()
        from airflow_aimod.demo.warehouse import build_warehouse

        build_warehouse(home / "warehouse.db")
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                       env=os.environ.copy())
        beyond = report("warm task", warm(runs))
        report("cold task process", cold(cold_runs, home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"warm extra beyond the model call: {beyond:.0f} ms (target <= {TARGET_MS:.0f} ms): "
          f"{'PASS' if beyond <= TARGET_MS else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
