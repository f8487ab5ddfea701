"""A CeleryExecutor stack for the e2e scenario and the scaling benchmark: environment, workers, broker, probes.

Built on :class:`tests.support.stack.AirflowStack`: every component (and each ``airflow celery worker``, in a
working directory of its own) is a process the stack started and stops. Which worker ran what is read from the
workers' own logs ("Executing workload in Celery: ... ti=TaskInstance(...)").
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

from tests.pg import throwaway_database
from tests.support.stack import AirflowStack, airflow_executable

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"
BROKER_URL = "redis://127.0.0.1:6379/7"
USERS = {"reviewer": "reviewer-pw-1"}
WORKLOAD = re.compile(r"Executing workload in Celery: .*?task_id='(?P<task>[^']+)', dag_id='(?P<dag>[^']+)', "
                      r"run_id='(?P<run>[^']+)', try_number=(?P<try>\d+)")


def celery_environment(*, result_backend: str, checkpoints: str, store: str, warehouse: str,
                       broker_url: str = BROKER_URL) -> dict[str, str]:
    """Environment of every component: CeleryExecutor, Redis broker, retries, the [aimod] conn ids."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + result_backend,
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
        "AIRFLOW__AIMOD__CHECKPOINT_CONN_ID": "aimod_checkpoints",
        "AIRFLOW__AIMOD__STORE_CONN_ID": "aimod_store",
        "AIRFLOW_CONN_AIMOD_CHECKPOINTS": checkpoints.replace("postgresql://", "postgres://", 1),
        "AIRFLOW_CONN_AIMOD_STORE": store.replace("postgresql://", "postgres://", 1),
        "AIRFLOW_CONN_AIMOD_WAREHOUSE": warehouse.replace("postgresql://", "postgres://", 1),
        "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": '{"conn_type": "aimod_llm", "extra": {"backend": "offline"}}',
    }


def start_worker(stack: AirflowStack, name: str, *, concurrency: int = 2) -> Path:
    """``airflow celery worker`` as component ``name`` (node ``name@host``) in a working directory of its own."""
    cwd = stack.home / f"cwd-{name}"
    cwd.mkdir(exist_ok=True)
    stack.spawn(name, [airflow_executable(), "celery", "worker", "--celery-hostname", f"{name}@%h",
                       "--queues", "default", "--concurrency", str(concurrency), "--skip-serve-logs",
                       "--without-mingle", "--without-gossip"], cwd=cwd)
    stack.wait_for(lambda: " ready." in stack.log_text(name), timeout=120, what=f"celery worker {name} to be ready")
    return cwd


def flush_broker(url: str = BROKER_URL) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def dags_folder(home: Path, *dag_files: str) -> Path:
    """A folder with links to just these DAG files of the repository (parsing the rest costs CPU)."""
    folder = home / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    for name in dag_files:
        (folder / name).symlink_to(REPO_DAGS / name)
    return folder


def crash(stack: AirflowStack, name: str) -> list[int]:
    """SIGKILL component ``name`` and every process below it (task runners have groups of their own)."""
    below = descendants(stack.procs[name].pid)
    stack.kill(name)
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return below


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def executions(stack: AirflowStack, worker: str) -> list[tuple[str, str, str, int]]:
    """(dag_id, run_id, task_id, try_number) of every task this worker started, in order."""
    return [(m["dag"], m["run"], m["task"], int(m["try"])) for m in WORKLOAD.finditer(stack.log_text(worker))]


def trigger(stack: AirflowStack, dag_id: str, run_id: str, request: str) -> None:
    resp = stack.api("POST", f"/dags/{dag_id}/dagRuns", user="reviewer",
                     json={"dag_run_id": run_id, "logical_date": None, "conf": {"request": request}})
    assert resp.status_code == 200, resp.text


def run_states(stack: AirflowStack, dag_ids: set[str]) -> dict[str, str]:
    states = {}
    for dag_id in dag_ids:
        resp = stack.api("GET", f"/dags/{dag_id}/dagRuns", user="reviewer", params={"limit": 100})
        states.update({r["dag_run_id"]: r["state"] for r in resp.json()["dag_runs"]})
    return states


def task_instances(stack: AirflowStack, **params: Any) -> list[dict]:
    """Every matching task instance: the API caps a page at ``[api] maximum_page_limit`` (100), so read them all."""
    found: list[dict] = []
    while True:
        resp = stack.api("GET", "/dags/~/dagRuns/~/taskInstances", user="reviewer",
                         params={"limit": 100, "offset": len(found), "order_by": "id", **params})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        found += page["task_instances"]
        if not page["task_instances"] or len(found) >= page["total_entries"]:
            return found


class ThrowawayDatabases:
    """Several throwaway databases at once, dropped together."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.contexts = {name: throwaway_database(f"aimod_celery_{name}") for name in names}

    def __enter__(self) -> dict[str, str]:
        return {name: ctx.__enter__() for name, ctx in self.contexts.items()}

    def __exit__(self, *exc: Any) -> None:
        for ctx in self.contexts.values():
            ctx.__exit__(None, None, None)
