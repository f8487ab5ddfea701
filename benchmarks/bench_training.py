"""Training overhead: the training orchestrator's graph against the same fit + MLflow log done directly.

Both sides train the same plan (``linear``, 3-fold CV) on the same rows of ``customer_churn``
(``demo.ml.with_churn_table``) and log the pipeline to the same kind of MLflow store (SQLite, a fresh
file per side). The agent side runs the whole graph as a task would — guarded read-only query, fit and
log, registration, the offline explanation, SQLite checkpoints — without an alias to promote. Runs
alternate agent/direct ``--runs`` times; medians and the agent/direct ratio are printed (target ≤ 1.15).

    .venv/bin/python benchmarks/bench_training.py [--runs 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.agents.runtime import AgentRuntime  # noqa: E402
from airflow_aimod.core.agents.training_orchestrator import TrainingTools, build_graph  # noqa: E402
from airflow_aimod.core.checkpoints import open_checkpointer  # noqa: E402
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor  # noqa: E402
from airflow_aimod.core.llm.offline import OfflineChatModel  # noqa: E402
from airflow_aimod.core.ml.drift import columns_from_rows  # noqa: E402
from airflow_aimod.core.ml.tracking import MlflowTracker  # noqa: E402
from airflow_aimod.core.ml.training import Trainer, TrainingPlan, frame_from_columns  # noqa: E402
from airflow_aimod.core.registry import get_agent  # noqa: E402
from airflow_aimod.core.runner import AgentRunner  # noqa: E402
from airflow_aimod.core.state import initial_state  # noqa: E402
from airflow_aimod.core.tracing import Tracer  # noqa: E402
from airflow_aimod.demo.ml import with_churn_table  # noqa: E402
from airflow_aimod.demo.warehouse import build_warehouse  # noqa: E402

SQL = ("SELECT id, tenure_months, monthly_spend, support_tickets, plan, region, churned FROM customer_churn "
       "WHERE snapshot_month < '2024-10'")
PLAN = TrainingPlan(target="churned", estimators=("linear",), cv_folds=3)


def direct(db: Path, tracker: MlflowTracker) -> float:
    started = time.perf_counter()
    with sqlite3.connect(db) as con:
        cur = con.execute(SQL)
        frame = frame_from_columns(columns_from_rows([d[0] for d in cur.description], cur.fetchall()))
    result = Trainer(PLAN).fit(frame)
    tracker.log_training(result, experiment="churn", params=PLAN.params(), registered_name="churn")
    return time.perf_counter() - started


def agent(db: Path, tracker: MlflowTracker, checkpoints: str, run: int) -> float:
    spec = get_agent("training_orchestrator")
    started = time.perf_counter()
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=OfflineChatModel(),
                           tracer=Tracer(trace_id=f"b-{run}", agent=spec.name))
    with open_checkpointer(checkpoints) as saver, SqliteReadOnlyExecutor(db) as executor:
        tools = TrainingTools(tracker, PLAN, executor=executor, data_sql=SQL, experiment="churn", model_name="churn")
        state = initial_state(request="Train churn", agent=spec.name, tier=3, trace_id=f"b-{run}")
        out = AgentRunner(build_graph(runtime, tools), saver, thread_id=f"b-{run}").start(state)
    assert out.state["status"] == "answered", out.state["reason"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_warehouse(tmp / "w.db")
        db = with_churn_table(tmp / "w.db", tmp / "churn.db")
        trackers = {side: MlflowTracker(tracking_uri=f"sqlite:///{tmp}/{side}.db", artifact_root=str(tmp / side))
                    for side in ("agent", "direct")}
        for tracker in trackers.values():
            tracker.experiment_id("churn")  # store creation and migrations outside the timings
        direct(db, trackers["direct"])      # warm-up: sklearn and MLflow imports (both sides)
        agent(db, trackers["agent"], f"sqlite:///{tmp}/cp.sqlite", -1)   # and sqlglot, LangGraph (agent side)
        times = {"agent": [], "direct": []}
        for run in range(args.runs):
            times["agent"].append(agent(db, trackers["agent"], f"sqlite:///{tmp}/cp.sqlite", run))
            times["direct"].append(direct(db, trackers["direct"]))
        a, d = statistics.median(times["agent"]), statistics.median(times["direct"])
        print(f"agent {a:.2f} s, direct {d:.2f} s (medians of {args.runs}); ratio agent/direct {a / d:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
