"""The offline end-to-end demo: real Airflow on SQLite, the sample warehouse, no API key.

``main`` prepares an Airflow home under ``workdir`` (SQLite metadata DB, the repo's
``dags/`` folder, connections as environment variables), migrates it, then runs the
quickstart DAG once per request in a child process whose Airflow logs go to
``workdir/demo.log``; the parent prints a readable summary of what happened. Then
``aimod_data_ops`` judges daily orders on a copy of the warehouse with an injected spike:
two detectors, one rule, agreement or a person. Last, one PII request of ``aimod_approvals``
waits for approval and a named reviewer approves it through the REST API (``demo/approval.py``).

Progress goes to stderr, the summary to stdout. A re-run after an interrupted demo first stops the
children the interrupted one recorded (``demo/processes.py``) and starts from a fresh warehouse.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_aimod.demo.processes import ProcessRecord, loopback_env, signal_group

DAG_ID = "aimod_quickstart"
ANOMALY_DAG_ID = "aimod_data_ops"
ANOMALY_WINDOW = {"start": "2024-04-01", "end": "2024-07-01"}
SPIKE_DAY = "2024-06-15"
DEFAULT_REQUESTS = (
    "How many orders were placed in 2024?",
    "What is the total revenue by country?",
    "Show the top 5 product categories by revenue in 2024",
    "List the email addresses of customers in Germany",
    "How many employees were hired last year?",
    "Profile the orders table: null rates and distinct counts per column",
    "can you help me with the thing from yesterday",
)


def dags_folder() -> Path:
    """The repository's ``dags/`` folder (the demo runs from a source checkout)."""
    folder = Path(__file__).resolve().parents[2] / "dags"
    if not (folder / f"{DAG_ID}.py").exists():
        raise FileNotFoundError(f"{folder}/{DAG_ID}.py not found: run the demo from a checkout of the repository")
    return folder


def demo_env(workdir: Path) -> dict[str, str]:
    """Environment for the child: embedded SQLite everything, offline engine, quiet, no proxy for loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update({
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{workdir / 'airflow' / 'airflow.db'}",
        "AIRFLOW__AIMOD__CHECKPOINT_URL": f"sqlite:///{workdir / 'airflow' / 'aimod' / 'checkpoints.sqlite'}",
        "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(workdir / "warehouse.db")}),
        "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm", "extra": {"backend": "offline"}}),
    })
    return loopback_env(env)


def main(*, workdir: str = ".aimod-demo", requests: list[str] | None = None) -> int:
    """Run the demo and print its summary; returns the process exit code."""
    from airflow_aimod.demo.anomalies import with_order_spike
    from airflow_aimod.demo.warehouse import build_warehouse

    root = Path(workdir).resolve()
    (root / "airflow").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    record = ProcessRecord(root / "demo-processes.json")
    if stale := record.reap() + ProcessRecord(root / "approval-processes.json").reap():
        _progress(f"stopped what an interrupted demo left running: {', '.join(stale)}")
    _progress(f"building the sample warehouse in {root / 'warehouse.db'} ...")
    build_warehouse(root / "warehouse.db")
    with_order_spike(root / "warehouse.db", root / "warehouse_spiked.db", day=SPIKE_DAY)
    env = {**demo_env(root), "AIMOD_DEMO_ANOMALY_WAREHOUSE": str(root / "warehouse_spiked.db")}
    log_path = root / "demo.log"
    with open(log_path, "w") as log:
        _progress("preparing Airflow's metadata DB (SQLite) ...")
        if _run_recorded(record, "db-migrate", [sys.executable, "-m", "airflow", "db", "migrate"], env, log):
            print(f"aimod demo: airflow db migrate failed; see {log_path}", file=sys.stderr)
            return 1
        _progress(f"running DAG {DAG_ID} for {len(requests or DEFAULT_REQUESTS)} requests ...")
        results_path = root / "results.json"
        cmd = [sys.executable, "-m", "airflow_aimod.demo.run", str(results_path), *(requests or DEFAULT_REQUESTS)]
        if _run_recorded(record, "dag-test", cmd, env, log):
            print(f"aimod demo: the Airflow run failed; see {log_path}", file=sys.stderr)
            return 1
    from airflow_aimod.demo.approval import REVIEWER, ApprovalDemo
    from airflow_aimod.demo.summary import render, render_anomalies, render_approval

    _progress(f"a PII request waits on Required Actions; {REVIEWER!r} approves it over REST ...")
    try:
        approval = ApprovalDemo(root=root, env=env).run()
    except RuntimeError as exc:
        print(f"aimod demo: the approval step failed: {exc}", file=sys.stderr)
        return 1
    print(render(json.loads(results_path.read_text())))
    anomalies = json.loads(results_path.with_name("anomalies.json").read_text())
    print("\n" + render_anomalies(anomalies, spike_day=SPIKE_DAY))
    print("\n" + render_approval(approval))
    print(f"\nDone in {time.monotonic() - started:.0f} s. Airflow logs: {log_path}")
    return 0


def _progress(message: str) -> None:
    print(f"aimod demo: {message}", file=sys.stderr, flush=True)


def _run_recorded(record: Any, name: str, args: list[str], env: dict[str, str], log: Any) -> int:
    """Run one child to its end, recorded while it runs (an interrupted demo's next run stops it)."""
    proc = record.spawn(name, args, env=env, log=log)
    try:
        return proc.wait()
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C): stop the child's group too
            signal_group(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        record.forget(name)


def run_requests(results_path: str, requests: list[str]) -> None:
    """Child process: run the quickstart DAG with ``dag.test()`` for each request."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(DAG_ID)
    results = [collect_run(dag.test(run_conf={"request": request}), request) for request in requests]
    Path(results_path).write_text(json.dumps(results, indent=2, default=str))
    if spiked := os.environ.get("AIMOD_DEMO_ANOMALY_WAREHOUSE"):
        os.environ["AIRFLOW_CONN_AIMOD_WAREHOUSE"] = json.dumps({"conn_type": "sqlite", "host": spiked})
        run = bag.get_dag(ANOMALY_DAG_ID).test(run_conf=ANOMALY_WINDOW)
        anomalies = collect_run(run, f"daily orders {ANOMALY_WINDOW['start']} to {ANOMALY_WINDOW['end']}")
        Path(results_path).with_name("anomalies.json").write_text(json.dumps(anomalies, indent=2, default=str))


def collect_run(dag_run: Any, request: str) -> dict[str, Any]:
    """Task states and XComs of one finished run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_run.dag_id,
                                               XComModel.run_id == dag_run.run_id).all()
        xcoms = {f"{r.task_id}.{r.key}": r.value for r in rows}
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    return {"request": request, "run_id": dag_run.run_id, "state": str(dag_run.state), "tasks": states, "xcom": xcoms}


if __name__ == "__main__":
    run_requests(sys.argv[1], sys.argv[2:])
