"""The demo's approval step: one PII request waits on Required Actions, a named reviewer approves it.

Two child processes on the demo's SQLite metadata DB, each in its own process group:
``airflow dags test aimod_approvals`` (the SQL agent drafts a query on ``customers.email`` and
parks; ``dags test`` then waits for an answer forever) and ``airflow api-server`` on 127.0.0.1 and
a free port, with one simple-auth-manager user whose password sits in a file. Once the task is
parked *and* ``dags test`` has gone back to waiting (its "Waiting for Human-in-the-loop input"
line, seen twice: the worker's bookkeeping is done — answering earlier races Airflow 3.3.2, see
ARCHITECTURE.md), the reviewer approves through ``PATCH .../hitlDetails``; the graph resumes from
its checkpoint and runs the query, and ``dags test`` ends. ``dags test`` ignores SIGTERM, so it is
stopped with SIGINT; the api-server with SIGTERM; anything left after a grace period gets SIGKILL.
Both children also get SIGKILL if the demo process itself is killed (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from airflow_aimod.demo.stack import free_port, kill_pid, signal_group

T = TypeVar("T")
DAG_ID, TASK_ID = "aimod_approvals", "sql_agent"
REQUEST = "List the email addresses of customers in Germany"
REVIEWER = "reviewer"  # an assignee of dags/aimod_approvals.py (shown there as "Data steward")
WAITING_LINE = "Waiting for Human-in-the-loop input for tasks: ['sql_agent']"


class ApprovalDemo:
    """Run ``dags test`` and an api-server side by side, approve as ``REVIEWER``, collect the outcome."""

    def __init__(self, *, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.airflow = [sys.executable, "-m", "airflow"]
        self.env = {**env, **self._auth_env()}
        self.procs: dict[str, subprocess.Popen] = {}
        self.token: str | None = None

    def _auth_env(self) -> dict[str, str]:
        return {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{REVIEWER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.root / "approval-passwords.json"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        }

    def run(self, timeout: float = 300) -> dict[str, Any]:
        """The whole step; every process is stopped when it returns or raises."""
        import httpx

        (self.root / "approval-passwords.json").write_text(json.dumps({REVIEWER: self.password}))
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            try:
                conf = json.dumps({"request": REQUEST})
                self._spawn("dags-test", [*self.airflow, "dags", "test", DAG_ID, "-c", conf])
                self._spawn("api-server", [*self.airflow, "api-server", "--workers", "1"])
                deadline = time.monotonic() + timeout
                run_id = self._wait(lambda: self._parked_run(http), deadline, "the SQL agent to park")
                self._approve(http, run_id)
                self._wait(lambda: self.procs["dags-test"].poll() is not None or None, deadline,
                           "the run to finish", ignore_exit="dags-test")
                return self._collect(http, run_id)
            finally:
                self.stop()

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(self.root / f"approval-{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True,
                                                preexec_fn=_die_with_parent)

    def _api(self, http: Any, method: str, path: str, **kwargs: Any) -> Any:
        if self.token is None:
            resp = http.post("/auth/token", json={"username": REVIEWER, "password": self.password})
            resp.raise_for_status()
            self.token = resp.json()["access_token"]
        return http.request(method, f"/api/v2{path}", headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def _parked_run(self, http: Any) -> str | None:
        """The run id once the agent awaits input and ``dags test`` has gone back to waiting twice."""
        import httpx

        if self._log("dags-test").count(WAITING_LINE) < 2:
            return None
        try:
            runs = self._api(http, "GET", f"/dags/{DAG_ID}/dagRuns", params={"state": "running"}).json()["dag_runs"]
            run_id = runs[0]["dag_run_id"] if runs else None
            ti = self._api(http, "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}").json()
        except (httpx.HTTPError, KeyError, IndexError):
            return None  # the api-server is still starting
        return run_id if ti.get("state") == "awaiting_input" else None

    def _approve(self, http: Any, run_id: str) -> None:
        path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/-1/hitlDetails"
        resp = self._api(http, "PATCH", path, json={"chosen_options": ["Approve"], "params_input": {}})
        if resp.status_code != 200:
            raise RuntimeError(f"approving as {REVIEWER} failed: {resp.status_code} {resp.text}")

    def _collect(self, http: Any, run_id: str) -> dict[str, Any]:
        if self.procs["dags-test"].returncode != 0:
            raise RuntimeError(f"airflow dags test exited {self.procs['dags-test'].returncode}; see "
                               f"{self.root / 'approval-dags-test.log'}")
        base = f"/dags/{DAG_ID}/dagRuns/{run_id}"
        hitl = self._api(http, "GET", f"{base}/taskInstances/{TASK_ID}/-1/hitlDetails").json()
        outcome = self._api(http, "GET", f"{base}/taskInstances/{TASK_ID}/xcomEntries/return_value").json()["value"]
        run = self._api(http, "GET", base).json()
        names = {u["id"]: u["name"] for u in hitl.get("assigned_users") or []}
        user = hitl.get("responded_by_user") or {}
        return {"request": REQUEST, "run_id": run_id, "state": run.get("state"), "outcome": outcome,
                "chosen_options": hitl.get("chosen_options"), "reviewer": user.get("id"),
                "reviewer_name": names.get(user.get("id"), user.get("name")), "subject": hitl.get("subject")}

    def _wait(self, probe: Callable[[], T | None], deadline: float, what: str, ignore_exit: str = "") -> T:
        while True:
            dead = {n: p.returncode for n, p in self.procs.items() if n != ignore_exit and p.poll() is not None}
            if dead:
                raise RuntimeError(f"while waiting for {what}: {dead} exited; see {self.root}/approval-*.log")
            if value := probe():
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}; see {self.root}/approval-*.log")
            time.sleep(1)

    def _log(self, name: str) -> str:
        path = self.root / f"approval-{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, grace: float = 20) -> None:
        """SIGINT ``dags test`` (it ignores SIGTERM), SIGTERM the api-server, SIGKILL what is left."""
        for name, proc in self.procs.items():
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGINT if name == "dags-test" else signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc.pid, signal.SIGKILL)  # the group: children the leader left behind
            proc.wait()
        for pid in self.stray_pids():  # task runners start process groups of their own
            kill_pid(pid)

    def stray_pids(self) -> list[int]:
        """Live processes started by this step (their environment names its api-server port)."""
        marker = f"AIRFLOW__API__PORT={self.port}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the demo process dies, even by SIGKILL (Linux)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() still stops the children on every exit but SIGKILL
