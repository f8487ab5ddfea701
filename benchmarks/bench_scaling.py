"""Agent tasks per minute on Airflow's CeleryExecutor with one worker and with two: the scaling ratio.

The Celery stack of ``tests/support/celery_stack.py`` (as in ``tests/e2e/test_celery.py``) (Postgres metadata, result backend, checkpoints, store and
warehouse; Redis broker): api-server, scheduler, dag-processor, triggerer. Phase 1 runs ``--runs``
answerable requests through ``aimod_quickstart`` (offline engine: each run is two agent tasks, the
router and the SQL agent) on one worker; phase 2 starts a second worker and runs as many again.
Throughput = agent tasks / wall time from the first trigger to the last run's end. Baseline: phase 1,
measured in the same run. Each worker has ``--concurrency`` slots; ``[core] parallelism`` allows both.

    .venv/bin/python benchmarks/bench_scaling.py [--runs 20] [--concurrency 2]

On a machine with fewer spare cores than worker slots the ratio stays near 1: the second worker
competes for the same CPU. Needs Postgres on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.stack import AirflowStack  # noqa: E402
from tests.support.celery_stack import (  # noqa: E402
    USERS, ThrowawayDatabases, celery_environment, dags_folder, flush_broker, run_states, start_worker, trigger,
)

QUICKSTART = "aimod_quickstart"
BROKER_URL = "redis://127.0.0.1:6379/8"  # not the e2e test's DB: both may run at once
REQUESTS = ("How many orders were placed in 2024?", "What is the total revenue by country?",
            "Show the top 5 product categories by revenue in 2024")
AGENT_TASKS_PER_RUN = 2  # route (task_router) + sql_agent


def batch(stack: AirflowStack, prefix: str, runs: int) -> float:
    """Trigger ``runs`` quickstart runs at once; seconds until every one has finished (all must succeed)."""
    started = time.monotonic()
    ids = [f"{prefix}-{i}" for i in range(runs)]
    for i, run_id in enumerate(ids):
        trigger(stack, QUICKSTART, run_id, REQUESTS[i % len(REQUESTS)])

    def done():
        states = run_states(stack, {QUICKSTART})
        return all(states.get(r) in ("success", "failed") for r in ids) and states

    states = stack.wait_for(done, timeout=1800, every=1, what=f"the {prefix} runs to finish")
    elapsed = time.monotonic() - started
    if failed := [r for r in ids if states[r] != "success"]:
        raise SystemExit(f"runs failed: {failed}; logs under {stack.home}")
    return elapsed


def measure(runs: int, concurrency: int) -> dict[str, float]:
    from tests.support.pg_warehouse import load_into_postgres
    from airflow_aimod.demo.warehouse import build_warehouse

    home = Path(tempfile.mkdtemp(prefix="aimod-bench-scaling-"))
    flush_broker(BROKER_URL)
    with ThrowawayDatabases(("metadata", "results", "checkpoints", "store", "warehouse")) as dbs:
        load_into_postgres(dbs["warehouse"], build_warehouse(home / "warehouse.db"))
        env = celery_environment(result_backend=dbs["results"], checkpoints=dbs["checkpoints"], store=dbs["store"],
                                 warehouse=dbs["warehouse"], broker_url=BROKER_URL)
        stack = AirflowStack(home=home / "airflow", database_url=dbs["metadata"], users=USERS, env=env,
                             dags_folder=dags_folder(home / "airflow", "aimod_quickstart.py"),
                             components=("api-server", "scheduler", "dag-processor", "triggerer"),
                             parallelism=2 * concurrency)
        try:
            with stack:
                start_worker(stack, "w1", concurrency=concurrency)
                stack.wait_for(lambda: stack.api("GET", f"/dags/{QUICKSTART}", user="reviewer").status_code == 200,
                               timeout=180, what="the quickstart DAG to be parsed")
                batch(stack, "warmup", 2)
                one = batch(stack, "one", runs)
                start_worker(stack, "w2", concurrency=concurrency)
                two = batch(stack, "two", runs)
            if strays := stack.stray_pids():
                raise SystemExit(f"processes left behind: {strays}")
        finally:
            flush_broker(BROKER_URL)
    tasks = runs * AGENT_TASKS_PER_RUN
    return {"one": tasks / one * 60, "two": tasks / two * 60, "one_s": one, "two_s": two, "tasks": tasks}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="quickstart runs per phase")
    parser.add_argument("--concurrency", type=int, default=2, help="task slots per Celery worker")
    args = parser.parse_args(argv)
    r = measure(args.runs, args.concurrency)
    print(f"\nCeleryExecutor, {args.runs} runs ({r['tasks']:.0f} agent tasks) per phase, "
          f"{args.concurrency} slots per worker, offline engine, Postgres everywhere")
    print(f"{'workers':<10}{'seconds':>10}{'agent tasks/min':>18}{'× one worker':>15}")
    print(f"{'1':<10}{r['one_s']:>10.1f}{r['one']:>18.1f}{1.0:>15.2f}")
    print(f"{'2':<10}{r['two_s']:>10.1f}{r['two']:>18.1f}{r['two'] / r['one']:>15.2f}")
    print(f"\nscaling ratio (two workers / one): {r['two'] / r['one']:.2f}")


if __name__ == "__main__":
    main()
