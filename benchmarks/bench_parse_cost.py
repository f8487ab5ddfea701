"""What a DAG file that uses our operators costs the DAG processor, against PythonOperator in the same run.

Two DAG files of the same shape (a branch, six tasks, one dependency chain): one built from AiMod
operators of every tier, one from ``PythonOperator``/``BranchPythonOperator``. Each is parsed by Airflow's
``DagBag`` in a fresh process after Airflow itself is imported (what a DAG-processor child pays for the
file: our module imports plus DAG construction). The figure is the ratio of medians; a ratio near 1 means
our operators parse at PythonOperator's level (heavy SDKs load only in ``execute()``).

    .venv/bin/python benchmarks/bench_parse_cost.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

LIMIT = 1.5  # exit 1 above this ratio

AIMOD_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow_aimod.operators.router import TaskRouterOperator
from airflow_aimod.operators.sql import SQLAgentOperator
from airflow_aimod.operators.profiler import DataProfilerOperator
from airflow_aimod.operators.anomaly import AnomalyDetectorOperator
from airflow_aimod.operators.summarizer import SummarizerOperator
from airflow_aimod.operators.drift import DriftDetectorOperator

with DAG("parse_cost_aimod", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    route = TaskRouterOperator(task_id="route", request="{{ params.request }}",
                               agent_tasks={"sql_agent": "sql", "data_profiler": "profile"},
                               human_review_task_id="summary")
    sql = SQLAgentOperator(task_id="sql", question="how many orders?", conn_id="warehouse")
    profile = DataProfilerOperator(task_id="profile", conn_id="warehouse", table="orders")
    spikes = AnomalyDetectorOperator(task_id="spikes", conn_id="warehouse", metric_name="daily orders",
                                     metric_sql="SELECT order_date, count(*) FROM orders GROUP BY 1")
    drift = DriftDetectorOperator(task_id="drift", conn_id="warehouse", subject="orders",
                                  reference_sql="SELECT amount FROM orders WHERE order_date < '2024-06-01'",
                                  current_sql="SELECT amount FROM orders WHERE order_date >= '2024-06-01'")
    summary = SummarizerOperator(task_id="summary", source_task_ids=["sql"])
    route >> [sql, profile, summary]
    sql >> spikes >> drift
'''

PYTHON_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator

def work():
    return 1

with DAG("parse_cost_python", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    route = BranchPythonOperator(task_id="route", python_callable=lambda: "sql")
    sql = PythonOperator(task_id="sql", python_callable=work)
    profile = PythonOperator(task_id="profile", python_callable=work)
    spikes = PythonOperator(task_id="spikes", python_callable=work)
    drift = PythonOperator(task_id="drift", python_callable=work)
    summary = PythonOperator(task_id="summary", python_callable=work)
    route >> [sql, profile, summary]
    sql >> spikes >> drift
'''

PARSE = textwrap.dedent('''
    import sys, time
    from airflow.dag_processing.dagbag import DagBag
    started = time.perf_counter()
    bag = DagBag(dag_folder=sys.argv[1])
    elapsed = time.perf_counter() - started
    assert not bag.import_errors and len(bag.dags) == 1, (bag.import_errors, list(bag.dags))
    print(elapsed)
''')


def parse_seconds(path: Path, pycache: Path) -> float:
    """One parse in a fresh process, with bytecode cached in ``pycache`` as a deployed package has it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update({"AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPYCACHEPREFIX": str(pycache)})
    out = subprocess.run([sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"parsing {path.name} failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per DAG file (default 9)")
    parser.add_argument("--quick", action="store_true", help="1 run each after the warm-up, exit 0 whatever the ratio (the suite runs this so it cannot rot)")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="aimod-parse-") as tmp:
        files = {"PythonOperator (baseline)": Path(tmp) / "python_dag.py", "AiMod operators": Path(tmp) / "aimod_dag.py"}
        files["PythonOperator (baseline)"].write_text(PYTHON_DAG)
        files["AiMod operators"].write_text(AIMOD_DAG)
        pycache = Path(tmp) / "pycache"
        for path in files.values():  # warm-up: compile once, as an installed package ships compiled
            parse_seconds(path, pycache)
        times: dict[str, list[float]] = {name: [] for name in files}
        for _ in range(runs):  # interleaved, so load on the host hits both alike
            for name, path in files.items():
                times[name].append(parse_seconds(path, pycache))
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    baseline = medians["PythonOperator (baseline)"]
    print(f"{'DAG file (6 tasks)':<28} {'median parse s':>15} {'x baseline':>11} {'extra ms':>9}")
    for name, seconds in medians.items():
        print(f"{name:<28} {seconds:>15.3f} {seconds / baseline:>11.2f} {(seconds - baseline) * 1000:>9.0f}")
    ratio = medians["AiMod operators"] / baseline
    print(f"\nparse-cost ratio (AiMod / PythonOperator): {ratio:.2f} "
          f"({'PASS' if ratio <= LIMIT else 'FAIL'}: limit {LIMIT})")
    return 0 if ratio <= LIMIT or args.quick else 1  # quick (in the suite): it must run; the verdict is make bench's


if __name__ == "__main__":
    raise SystemExit(main())
