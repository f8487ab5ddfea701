"""Agent runs for the dashboard's browser tests, recorded in the metadata DB the stack's api-server reads.

    runs = DashboardRuns(stack, workdir)
    answered = runs.requests("results.json", ["How many orders ...?"], anomalies=spiked_warehouse)
    broken = runs.requests("broken.json", ["How many orders ...?"], warehouse=workdir / "missing.db")
    run_id = runs.park("aimod_approvals", "List the email addresses ...")   # awaiting input, left so
    ...
    runs.stop()

``requests`` runs the demo's own run step (``python -m airflow_aimod.demo.run``: ``dag.test()`` of the
quickstart DAG per request, then the anomaly DAG when a spiked warehouse is given) with the stack's
environment, so the runs land in the stack's Postgres metadata DB and the store its api-server
reads. ``park`` starts ``airflow dags test`` of a HITL DAG and returns once its task awaits input
(``dags test`` then waits for an answer forever; ``stop`` ends it with SIGINT, as it ignores
SIGTERM). Every wait fails fast, naming what it saw, when a child or a stack component exits.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow_aimod.demo.processes import signal_group
from tests.support.stack import AirflowStack, airflow_executable

WAITING_LINE = "Waiting for Human-in-the-loop input for tasks:"


class DashboardRuns:
    """Run DAGs with ``dag.test()`` against ``stack``'s metadata DB (children of this test process)."""

    def __init__(self, stack: AirflowStack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.parked: dict[str, subprocess.Popen] = {}

    def env(self, warehouse: Path | None = None, anomalies: Path | None = None) -> dict[str, str]:
        env = dict(self.stack.env)
        if warehouse is not None:
            env["AIRFLOW_CONN_AIMOD_WAREHOUSE"] = json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
        env.pop("AIMOD_DEMO_ANOMALY_WAREHOUSE", None)
        if anomalies is not None:
            env["AIMOD_DEMO_ANOMALY_WAREHOUSE"] = str(anomalies)
        return env

    def requests(self, name: str, requests: list[str], *, warehouse: Path | None = None,
                 anomalies: Path | None = None, timeout: float = 420) -> list[dict[str, Any]]:
        """The quickstart DAG once per request (then the anomaly DAG on ``anomalies``): each run's states and
        XComs, as ``demo.run.collect_run`` gives them. The child's output goes to ``<workdir>/<name>.log``."""
        results = self.workdir / f"{name}.json"
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "airflow_aimod.demo.run", str(results), *requests],
                                    env=self.env(warehouse, anomalies), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.stack.wait_for(lambda: proc.poll() is not None, timeout=timeout, what=f"the {name} runs to finish")
        finally:
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.returncode:
            raise AssertionError(f"the {name} runs exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        return json.loads(results.read_text())

    def park(self, dag_id: str, request: str, task_id: str = "sql_agent", timeout: float = 300) -> str:
        """Start ``airflow dags test`` of ``dag_id``; return its run id once ``task_id`` awaits input."""
        log_path = self.workdir / f"{dag_id}-dags-test.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([airflow_executable(), "dags", "test", dag_id, "-c", json.dumps({"request": request})],
                                    env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.parked[dag_id] = proc
        seen = {"state": "no running run yet"}

        def parked() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(f"airflow dags test {dag_id} exited {proc.returncode} before {task_id} awaited "
                                     f"input (last seen: {seen['state']}):\n{log_path.read_text()[-4000:]}")
            if WAITING_LINE not in log_path.read_text(errors="replace"):
                return None
            runs = self.stack.api("GET", f"/dags/{dag_id}/dagRuns", user=self._user(),
                                  params={"state": "running"}).json().get("dag_runs", [])
            for run in runs:
                ti = self.stack.api("GET", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/{task_id}",
                                    user=self._user()).json()
                seen["state"] = f"run {run['dag_run_id']}: {task_id} is {ti.get('state')}"
                if ti.get("state") == "awaiting_input":
                    return run["dag_run_id"]
            return None

        return self.stack.wait_for(parked, timeout=timeout, what=f"{dag_id}/{task_id} to await input", every=1)

    def _user(self) -> str:
        return next(iter(self.stack.users))

    def stop(self, grace: float = 20) -> None:
        """SIGINT every ``dags test`` left waiting (it ignores SIGTERM), SIGKILL its group after ``grace``."""
        for proc in self.parked.values():
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self.parked.clear()
