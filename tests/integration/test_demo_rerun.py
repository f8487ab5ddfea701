"""The demo's approval step re-run after an interrupted one, behind a proxy that must not be used.

An interrupted demo leaves ``airflow dags test aimod_approvals`` parked and running (recorded in
the demo's pid file) and its run ``running`` in the metadata DB. The next approval step must stop
that process, approve *its own* run (not the first running one), leave no run running, and reach
its api-server on 127.0.0.1 although HTTP_PROXY points at a dead proxy and NO_PROXY is unset.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers


def wait_for_line(path, line, timeout=400):
    deadline = time.monotonic() + timeout
    while line not in (text := path.read_text(errors="replace") if path.exists() else ""):
        if time.monotonic() > deadline:
            pytest.fail(f"the interrupted demo's dags test never parked; its log ends:\n{text[-3000:]}")
        time.sleep(1)


def test_a_rerun_stops_the_interrupted_demo_and_approves_its_own_run(tmp_path, monkeypatch):
    from airflow_aimod.demo.approval import DAG_ID, REQUEST, WAITING_LINE, ApprovalDemo
    from airflow_aimod.demo.processes import ProcessRecord
    from airflow_aimod.demo.run import demo_env
    from airflow_aimod.demo.warehouse import build_warehouse

    root = tmp_path / "demo"
    (root / "airflow").mkdir(parents=True)
    build_warehouse(root / "warehouse.db")
    env = {k: v for k, v in demo_env(root).items() if k.lower() != "no_proxy"}
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)

    interrupted = ProcessRecord(root / "approval-processes.json")  # the file the approval step records in
    args = [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, "-c", json.dumps({"request": REQUEST})]
    with open(root / "interrupted.log", "wb") as log:
        stale = interrupted.spawn("dags-test", args, env=env, log=log, die_with_parent=False)
    try:
        wait_for_line(root / "interrupted.log", WAITING_LINE)
        for key in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(key, DEAD_PROXY)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        proxied = {**env, "HTTP_PROXY": DEAD_PROXY, "http_proxy": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY}

        step = ApprovalDemo(root=root, env=proxied).run(timeout=600)

        assert stale.wait(timeout=30) is not None  # the interrupted demo's process was stopped
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()
    runs = dict(sqlite3.connect(root / "airflow" / "airflow.db").execute(
        "SELECT run_id, state FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchall())
    assert len(runs) == 2 and runs[step["run_id"]] == "success"
    stale_run = next(run_id for run_id in runs if run_id != step["run_id"])
    assert runs[stale_run] == "failed", runs  # nothing is left running
    assert step["stale_runs_failed"] == [stale_run]  # it was still running beside ours: ours was found by nonce
    assert step["outcome"]["status"] == "answered" and step["chosen_options"] == ["Approve"]
    assert step["outcome"]["result"]["row_count"] > 0
    assert json.loads((root / "approval-processes.json").read_text()) == {}
