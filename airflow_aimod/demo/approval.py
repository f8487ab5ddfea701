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

Re-runs: the children are recorded in ``approval-processes.json``; a new step first stops what an
interrupted one left running (``ProcessRecord.reap``), finds *its own* run by a nonce it puts in the
run's conf (never "the first running run"), and marks ``dags test`` runs of the DAG an earlier step
left running as failed. REST calls go to 127.0.0.1 with ``trust_env=False`` (no proxy), children get NO_PROXY for
loopback, and every wait that gives up says what it last saw.
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

from airflow_aimod.demo.processes import ProcessRecord, free_port, kill_pid, loopback_env, signal_group

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
        self.env = loopback_env({**env, **self._auth_env()})
        self.nonce = secrets.token_hex(8)
        self.record = ProcessRecord(root / "approval-processes.json")
        self.procs: dict[str, subprocess.Popen] = {}
        self.token: str | None = None
        self.last_seen = "nothing yet"
        self.stale_runs: list[str] = []

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

        self.record.reap()  # what an interrupted demo left running
        (self.root / "approval-passwords.json").write_text(json.dumps({REVIEWER: self.password}))
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, trust_env=False) as http:
            try:
                conf = json.dumps({"request": REQUEST, "aimod_demo_nonce": self.nonce})
                self._spawn("dags-test", [*self.airflow, "dags", "test", DAG_ID, "-c", conf])
                self._spawn("api-server", [*self.airflow, "api-server", "--workers", "1"])
                deadline = time.monotonic() + timeout
                run_id = self._wait(lambda: self._parked_run(http), deadline, "the SQL agent to park")
                self.stale_runs = self._fail_stale_runs(http, run_id)
                self._approve(http, run_id)
                self.last_seen = f"approved run {run_id}; airflow dags test still running"
                self._wait(lambda: self.procs["dags-test"].poll() is not None or None, deadline,
                           "the run to finish", ignore_exit="dags-test")
                return self._collect(http, run_id)
            finally:
                self.stop()

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(self.root / f"approval-{name}.log", "wb") as log:
            self.procs[name] = self.record.spawn(name, args, env=self.env, log=log)

    def _api(self, http: Any, method: str, path: str, **kwargs: Any) -> Any:
        if self.token is None:
            resp = http.post("/auth/token", json={"username": REVIEWER, "password": self.password})
            resp.raise_for_status()
            self.token = resp.json()["access_token"]
        return http.request(method, f"/api/v2{path}", headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def _parked_run(self, http: Any) -> str | None:
        """Our run's id once its agent awaits input and ``dags test`` has gone back to waiting twice."""
        import httpx

        waits = self._log("dags-test").count(WAITING_LINE)
        if waits < 2:
            self.last_seen = f"airflow dags test has logged {WAITING_LINE!r} {waits} time(s) (2 needed)"
            return None
        try:
            run_id = self._own_run(http)
            if run_id is None:
                return None
            ti = self._api(http, "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}").json()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            self.last_seen = f"the api-server on 127.0.0.1:{self.port} did not answer: {type(exc).__name__}: {exc}"
            return None
        self.last_seen = f"run {run_id}: task {TASK_ID} in state {ti.get('state')!r}"
        return run_id if ti.get("state") == "awaiting_input" else None

    def _own_run(self, http: Any) -> str | None:
        """The running run whose conf carries this step's nonce (an earlier demo's runs may be running too)."""
        runs = self._running_runs(http)
        ours = [r["dag_run_id"] for r in runs if (r.get("conf") or {}).get("aimod_demo_nonce") == self.nonce]
        if not ours:
            self.last_seen = f"{len(runs)} running run(s) of {DAG_ID}, none with this demo's nonce yet"
        return ours[0] if ours else None

    def _running_runs(self, http: Any) -> list[dict[str, Any]]:
        resp = self._api(http, "GET", f"/dags/{DAG_ID}/dagRuns", params={"state": "running", "limit": 100})
        resp.raise_for_status()
        return resp.json()["dag_runs"]

    def _fail_stale_runs(self, http: Any, own: str) -> list[str]:
        """Mark runs an interrupted demo left running as failed (its process is gone); return their ids.

        Only ``dags test`` runs (``triggered_by: test``): a run someone triggered from the UI or REST on
        the demo's Airflow home (``airflow standalone``, README) is theirs to answer.
        """
        stale = [r["dag_run_id"] for r in self._running_runs(http)
                 if r["dag_run_id"] != own and r.get("triggered_by") == "test"]
        for run_id in stale:
            self._api(http, "PATCH", f"/dags/{DAG_ID}/dagRuns/{run_id}", json={"state": "failed"})
        return stale

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
                "reviewer_name": names.get(user.get("id"), user.get("name")), "subject": hitl.get("subject"),
                "stale_runs_failed": self.stale_runs}

    def _wait(self, probe: Callable[[], T | None], deadline: float, what: str, ignore_exit: str = "") -> T:
        while True:
            dead = {n: p.returncode for n, p in self.procs.items() if n != ignore_exit and p.poll() is not None}
            if dead:
                raise RuntimeError(f"while waiting for {what}: {dead} exited (last saw: {self.last_seen}); "
                                   f"see {self.root}/approval-*.log")
            if value := probe():
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}; last saw: {self.last_seen}; "
                                   f"see {self.root}/approval-*.log")
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
        for name in self.procs:
            self.record.forget(name)
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

