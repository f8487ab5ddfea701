"""A real multi-process Airflow driven through REST: api-server, scheduler, dag-processor (and any
other component, e.g. a triggerer or Celery workers) on a Postgres metadata DB. Used by the
end-to-end tests and the benchmarks (a test harness: it is not shipped in the wheel).

Each component runs as its own process in its own process group, logging to a file under the
stack's home. ``stop()`` sends SIGTERM to every group, SIGKILL after a grace period, then sweeps
task runners (they start process groups of their own) found by the stack's AIRFLOW_HOME in their
environment. Users come from the simple auth manager with passwords fixed in a file, so a test
can act as a named reviewer through ``POST /auth/token``.
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

import httpx

from airflow_aimod.demo.processes import free_port, kill_pid, signal_group

T = TypeVar("T")
COMPONENTS = ("api-server", "scheduler", "dag-processor")


class StackError(RuntimeError):
    """Raised when a component dies or a wait runs out; the message carries the log tails."""


class AirflowStack:
    """Start, talk to (REST, as a named user) and stop a multi-process Airflow."""

    def __init__(self, *, home: Path, database_url: str, dags_folder: Path, users: Mapping[str, str],
                 env: Mapping[str, str] | None = None, components: tuple[str, ...] = COMPONENTS,
                 parallelism: int = 2) -> None:
        if not database_url.startswith("postgresql://"):
            raise ValueError(f"database_url must be a postgresql:// URL (tests/pg.py), got {database_url!r}")
        self.home, self.database_url = home, database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.users = dict(users)
        self.components = components
        self.env = self._environment(database_url, dags_folder, parallelism, env or {})
        self.procs: dict[str, subprocess.Popen] = {}
        self._commands: dict[str, tuple[list[str], Path | None, dict[str, str]]] = {}
        self._tokens: dict[str, str] = {}
        # Loopback: no proxy. 120 s: an api-server sharing two cores with several stacks has answered a plain GET
        # in over 30 s (a ReadTimeout inside a probe ends the whole wait, so the bound is the worst case, not p99).
        self._http = httpx.Client(base_url=self.base_url, timeout=120, trust_env=False)

    def _environment(self, database_url: str, dags_folder: Path, parallelism: int,
                     extra: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url.replace("postgresql://", "postgresql+psycopg://", 1),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:admin" for user in self.users),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",  # parse once: the CPU is for the tasks
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "2",
        })
        env.update(extra)
        return env

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> AirflowStack:
        """Migrate the DB (an empty one becomes a copy of the run's migrated template), start every component,
        wait until the API answers."""
        from tests.support.metadata_template import fill_from_template

        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps(self.users))
        if not fill_from_template(self.database_url, airflow_executable()):
            migrate = subprocess.run([airflow_executable(), "db", "migrate"], env=self.env, capture_output=True,
                                     text=True)
            if migrate.returncode:
                raise StackError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
        for name in self.components:
            self.spawn(name)
        self.wait_for(self._healthy, timeout=timeout, what="the api-server to answer")
        return self

    def restart(self, name: str, grace: float = 15) -> None:
        """Stop one component as ``stop()`` would, and start it again (its log continues)."""
        self._terminate([self.procs.pop(name)], grace)
        args, cwd, env = self._commands[name]
        self.spawn(name, args, cwd=cwd, env=env)

    def kill(self, name: str) -> None:
        """SIGKILL one component's process group at once (a crash), without restarting it."""
        proc = self.procs.pop(name)
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self, grace: float = 15) -> None:
        """SIGTERM every component's process group, SIGKILL what is left after ``grace``, sweep task runners."""
        self._terminate(list(self.procs.values()), grace)
        self.procs.clear()
        for pid in self.stray_pids():
            kill_pid(pid)
        self._http.close()

    def spawn(self, name: str, args: list[str] | None = None, *, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> None:
        """Start component ``name`` in its own process group, logging to ``<home>/<name>.log``.

        ``args`` default to ``airflow <name>``; ``env`` adds to the stack's environment (e.g. a
        worker's own settings); ``cwd`` gives a process its own working directory.
        """
        if args is None:
            args = [airflow_executable(), name] + (["--workers", "1"] if name == "api-server" else [])
        extra = dict(env or {})
        self._commands[name] = (list(args), cwd, extra)
        with open(self.log_path(name), "ab") as log:
            self.procs[name] = subprocess.Popen(args, env={**self.env, **extra}, cwd=cwd, stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)

    @staticmethod
    def _terminate(procs: list[subprocess.Popen], grace: float) -> None:
        for proc in procs:
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> AirflowStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stray_pids(self) -> list[int]:
        """Processes (task runners included) whose environment names this stack's AIRFLOW_HOME."""
        marker = f"AIRFLOW_HOME={self.home}".encode() + b"\0"
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes() + b"\0"
            except OSError:
                continue
            if b"\0" + marker in b"\0" + environ:
                found.append(int(entry.name))
        return found

    # -- REST --------------------------------------------------------------------------------

    def token(self, user: str) -> str:
        """A JWT for ``user`` from ``POST /auth/token`` (cached)."""
        if user not in self._tokens:
            resp = self._http.post("/auth/token", json={"username": user, "password": self.users[user]})
            if resp.status_code != 201:
                raise StackError(f"login as {user} failed: {resp.status_code} {resp.text}")
            self._tokens[user] = resp.json()["access_token"]
        return self._tokens[user]

    def api(self, method: str, path: str, *, user: str, **kwargs: Any) -> httpx.Response:
        """Call ``/api/v2{path}`` as ``user``."""
        headers = {"Authorization": f"Bearer {self.token(user)}", **kwargs.pop("headers", {})}
        return self._http.request(method, f"/api/v2{path}", headers=headers, **kwargs)

    def wait_for(self, probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.5) -> T:
        """Poll ``probe`` until it returns something truthy; fail with the log tails when a component dies."""
        deadline = time.monotonic() + timeout
        while True:
            if dead := {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}:
                raise StackError(f"while waiting for {what}: {dead} exited\n{self.log_tails()}")
            if value := probe():
                return value
            if time.monotonic() > deadline:
                raise StackError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tails()}")
            time.sleep(every)

    # -- logs --------------------------------------------------------------------------------

    def log_path(self, component: str) -> Path:
        return self.home / f"{component}.log"

    def log_text(self, component: str) -> str:
        path = self.log_path(component)
        return path.read_text(errors="replace") if path.exists() else ""

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log file as written by its supervisor."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        path = folder / f"attempt={try_number}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_exited(self, dag_id: str, run_id: str, task_id: str, state: str = "awaiting_input",
                      try_number: int | None = None) -> bool:
        """Whether the scheduler has processed the exit of the worker that left the task in ``state`` (on try
        ``try_number``, when given).

        Answer a HITL request only after this: on Airflow 3.3.2 an answer that lands earlier can fail
        the run ("task state changed externally"; see ARCHITECTURE.md).
        """
        line = f"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, run_id={run_id},"
        tried = f"try_number={try_number}," if try_number is not None else ""
        return any(line in row and f"state={state}" in row and tried in row
                   for row in self.log_text("scheduler").splitlines())

    def agent_events(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> list[dict[str, Any]]:
        """The agent's JSON events (``AIMOD_EVENT {...}`` lines) from one attempt's task log, in order."""
        found = []
        for line in self.task_log(dag_id, run_id, task_id, try_number).splitlines():
            message = json.loads(line).get("event", "") if line.startswith("{") else ""
            if message.startswith("AIMOD_EVENT "):
                found.append(json.loads(message[len("AIMOD_EVENT "):]))
        return found

    def log_tails(self, chars: int = 2500) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_text(name)[-chars:]}" for name in self._commands)

    def _healthy(self) -> bool:
        try:
            return self._http.get("/api/v2/monitor/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def count_events(events: list[dict[str, Any]], kind: str, name: str) -> int:
    """How many of ``events`` (``AirflowStack.agent_events``) are of ``kind`` and ``name``."""
    return sum(1 for e in events if e["kind"] == kind and e["name"] == name)


def airflow_executable() -> str:
    """The ``airflow`` command of this interpreter's environment."""
    return str(Path(sys.executable).with_name("airflow"))
