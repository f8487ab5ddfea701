"""More than one machine: Airflow's CeleryExecutor, two workers, everything an agent needs in Postgres.

The stack: a Postgres metadata DB, CeleryExecutor with the Redis broker on 127.0.0.1:6379 (a DB
number of its own, flushed before and after) and a Postgres result backend; api-server, scheduler,
dag-processor and triggerer; two ``airflow celery worker`` processes with their own node names and
working directories. The warehouse, the LangGraph checkpoints and the AiMod store are three more
throwaway Postgres databases, named by connection id (``[aimod] checkpoint_conn_id``,
``store_conn_id``), so nothing an agent needs sits on a worker's disk.

Twenty runs start at once: answerable, PII and vague requests through ``aimod_quickstart``, and PII
requests that wait for a person through ``aimod_approvals``. While tasks run, the worker that parked
at least one approval is killed with its task processes (a machine crash): its running tasks are
retried by Airflow on the other worker, and its parked tasks, answered afterwards through REST,
resume on the other worker from their Postgres checkpoints. Which worker ran what is read from the
workers' own logs ("Executing workload in Celery: ... ti=TaskInstance(...)").
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from airflow_aimod.core.approval import APPROVE_LABEL as APPROVE, REJECT_LABEL as REJECT
from tests.support.celery_stack import (
    USERS, ThrowawayDatabases, celery_environment, crash, dags_folder, executions, flush_broker, run_states,
    start_worker, task_instances, trigger,
)
from tests.support.stack import AirflowStack, StackError

# 15.5 min measured on two cores shared with other jobs (load average ~16): each task then takes ~50 s
pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(1500)]

WORKERS = ("w1", "w2")
QUICKSTART, APPROVALS = "aimod_quickstart", "aimod_approvals"
COUNT_2024 = "How many orders were placed in 2024?"
REVENUE = "What is the total revenue by country?"
TOP = "Show the top 5 product categories by revenue in 2024"
PII = "List the email addresses of customers in Germany"
VAGUE = "can you help me with the thing from yesterday"


@dataclass(frozen=True)
class Request:
    """One run: its DAG, request, the status its agent must end with, and the reviewer's answer."""

    dag_id: str
    text: str
    status: str
    answer: str | None = None


RUNS = {  # the approval runs first, so their pauses happen while the quickstart runs keep workers busy
    **{f"approve-{i}": Request(APPROVALS, PII, "answered", APPROVE) for i in range(5)},
    **{f"reject-{i}": Request(APPROVALS, PII, "rejected", REJECT) for i in range(3)},
    **{f"count-{i}": Request(QUICKSTART, COUNT_2024, "answered") for i in range(3)},
    **{f"revenue-{i}": Request(QUICKSTART, REVENUE, "answered") for i in range(3)},
    **{f"top-{i}": Request(QUICKSTART, TOP, "answered") for i in range(2)},
    **{f"pii-{i}": Request(QUICKSTART, PII, "needs_approval") for i in range(2)},
    **{f"vague-{i}": Request(QUICKSTART, VAGUE, "escalated") for i in range(2)},
}


# -- the scenario ------------------------------------------------------------------------------

@dataclass
class Scenario:
    """What happened: who was killed, what it was running and had parked, and the stack to inspect."""

    stack: AirflowStack
    databases: dict[str, str]
    victim: str = ""
    survivor: str = ""
    running_at_crash: list[tuple[str, str, int]] = field(default_factory=list)  # (run_id, task_id, try)
    parked_on_victim: list[str] = field(default_factory=list)
    seconds: float = 0.0


def is_parked(stack: AirflowStack, ti: dict) -> bool:
    """Awaiting input, and the scheduler has processed its worker's exit (answering earlier races 3.3.2)."""
    return ti["state"] == "awaiting_input" and stack.worker_exited(ti["dag_id"], ti["dag_run_id"], ti["task_id"])


def pick_victim(stack: AirflowStack) -> tuple[str, list[tuple[str, str, int]], list[str]] | None:
    """A worker that parked an approval and now runs tasks none of which has queried the warehouse yet."""
    running = [(ti["dag_run_id"], ti["task_id"], ti["try_number"]) for ti in task_instances(stack, state="running")]
    queued = {(ti["dag_run_id"], ti["task_id"], ti["try_number"]) for ti in task_instances(stack, state="queued")}
    parked = [ti["dag_run_id"] for ti in task_instances(stack, state="awaiting_input") if is_parked(stack, ti)]
    for worker in WORKERS:
        started = {(run, task, tries) for _, run, task, tries in executions(stack, worker)}
        if started & queued:  # a task the worker took but has not marked running: killed now, it stays in limbo
            continue
        mine = [key for key in running if key in started]
        parked_here = [run for run in parked if (run, "sql_agent", 1) in started]
        if mine and parked_here and not any(queried(stack, run, task, tries) for run, task, tries in mine):
            return worker, mine, parked_here
    return None


def queried(stack: AirflowStack, run_id: str, task_id: str, try_number: int) -> bool:
    return '"name": "sql.read"' in stack.task_log(RUNS[run_id].dag_id, run_id, task_id, try_number)


def play(stack: AirflowStack, databases: dict[str, str]) -> Scenario:
    started = time.monotonic()
    for run_id, req in RUNS.items():
        trigger(stack, req.dag_id, run_id, req.text)
    scenario = Scenario(stack, databases)
    scenario.victim, scenario.running_at_crash, scenario.parked_on_victim = stack.wait_for(
        lambda: pick_victim(stack), timeout=600, every=0.2,
        what="a worker that parked an approval to be running tasks that have not queried yet")
    crash(stack, scenario.victim)
    scenario.survivor = next(w for w in WORKERS if w != scenario.victim)
    for run_id, req in RUNS.items():
        if req.answer:
            answer_when_parked(stack, run_id, req.answer, victim=scenario.victim)
    done = ("success", "failed")
    stack.wait_for(lambda: all(s in done for s in run_states(stack, {QUICKSTART, APPROVALS}).values())
                   and len(run_states(stack, {QUICKSTART, APPROVALS})) == len(RUNS),
                   timeout=900, every=2, what="every run to finish")
    scenario.seconds = time.monotonic() - started
    return scenario


def answer_when_parked(stack: AirflowStack, run_id: str, option: str, *, victim: str = "") -> None:
    """Answer once the task is parked: its worker's exit processed by the scheduler, or the worker killed (a
    task that parked on the killed worker just before the kill has no exit the scheduler will ever process)."""
    path = f"/dags/{APPROVALS}/dagRuns/{run_id}/taskInstances/sql_agent"

    seen: dict[str, Any] = {}

    def parked_ti():
        resp = stack.api("GET", path, user="reviewer")
        seen.update(resp.json() if resp.status_code == 200 else {"status_code": resp.status_code})
        if resp.status_code != 200:
            return False
        ti = resp.json()
        on_victim = bool(victim) and (APPROVALS, run_id, "sql_agent", ti["try_number"]) in executions(stack, victim)
        return is_parked(stack, ti) or (ti["state"] == "awaiting_input" and on_victim)

    try:
        stack.wait_for(parked_ti, timeout=600, what=f"{run_id}/sql_agent to be parked")
    except StackError as exc:  # name the state it last had, and which try
        raise StackError(f"{run_id}/sql_agent last seen as state={seen.get('state')!r} "
                         f"try={seen.get('try_number')!r} hostname={seen.get('hostname')!r}\n{exc}") from None
    resp = stack.api("PATCH", f"{path}/-1/hitlDetails", user="reviewer", json={"chosen_options": [option]})
    assert resp.status_code == 200, resp.text


@pytest.fixture(scope="module")
def scenario(warehouse, tmp_path_factory):
    from tests.support.pg_warehouse import load_into_postgres

    home = tmp_path_factory.mktemp("celery-airflow")
    names = ("metadata", "results", "checkpoints", "store", "warehouse")
    flush_broker()
    with ThrowawayDatabases(names) as databases:
        load_into_postgres(databases["warehouse"], warehouse)
        env = celery_environment(result_backend=databases["results"], checkpoints=databases["checkpoints"],
                                 store=databases["store"], warehouse=databases["warehouse"])
        stack = AirflowStack(home=home, database_url=databases["metadata"], users=USERS, env=env,
                             dags_folder=dags_folder(home, "aimod_quickstart.py", "aimod_approvals.py"),
                             components=("api-server", "scheduler", "dag-processor", "triggerer"), parallelism=4)
        try:
            with stack:
                for name in WORKERS:
                    start_worker(stack, name)
                for dag_id in (QUICKSTART, APPROVALS):
                    stack.wait_for(lambda d=dag_id: stack.api("GET", f"/dags/{d}", user="reviewer").status_code == 200,
                                   timeout=120, what=f"the dag-processor to parse {dag_id}")
                yield play(stack, databases)
        finally:
            flush_broker()


def outcome(stack: AirflowStack, run_id: str) -> dict:
    req = RUNS[run_id]
    task_id = "human_review" if req.status == "escalated" else "sql_agent"
    resp = stack.api("GET", f"/dags/{req.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                     user="reviewer")
    assert resp.status_code == 200, f"{run_id}: {resp.text}"
    return resp.json()["value"]


def store_rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


# -- the assertions ----------------------------------------------------------------------------

def test_every_request_ends_with_the_right_outcome(scenario):
    stack, wh = scenario.stack, scenario.databases["warehouse"]
    assert run_states(stack, {QUICKSTART, APPROVALS}) == {run_id: "success" for run_id in RUNS}
    outcomes = {run_id: outcome(stack, run_id) for run_id in RUNS}
    assert {run_id: out["status"] for run_id, out in outcomes.items()} == {r: req.status for r, req in RUNS.items()}
    orders_2024 = store_rows(wh, "SELECT count(*) FROM orders WHERE order_date >= '2024-01-01' "
                                 "AND order_date < '2025-01-01'")[0][0]
    countries = store_rows(wh, "SELECT count(DISTINCT country) FROM customers")[0][0]
    categories = store_rows(wh, "SELECT count(DISTINCT category) FROM products")[0][0]
    german_emails = {email for (email,) in store_rows(wh, "SELECT email FROM customers WHERE country = 'Germany'")}
    germans = len(german_emails)
    for run_id, out in outcomes.items():
        if run_id.startswith("count-"):
            assert out["result"]["rows"] == [[orders_2024]], run_id
        elif run_id.startswith("revenue-"):
            assert len(out["result"]["rows"]) == countries, run_id
        elif run_id.startswith("top-"):
            assert len(out["result"]["rows"]) == min(5, categories), run_id
        elif run_id.startswith("approve-"):  # the agent's own LIMIT, under the DAG's max_rows (200)
            limit = int(re.search(r"LIMIT (\d+)", out["result"]["sql"], re.I).group(1))
            emails = {email for (email,) in out["result"]["rows"]}
            assert len(out["result"]["rows"]) == min(200, limit, germans) and emails <= german_emails, run_id
            assert out["approvals"][0]["decision"] == "approve"
        elif run_id.startswith(("reject-", "pii-")):  # nothing was read: every result key is there, empty
            assert out["result"]["rows"] is None, run_id
    print(f"\n20 runs on two Celery workers, {scenario.victim} killed mid-run: {scenario.seconds:.0f} s")


def test_a_paused_task_resumes_on_the_other_worker(scenario):
    stack, victim, survivor = scenario.stack, scenario.victim, scenario.survivor
    assert scenario.parked_on_victim, "no approval was parked on the killed worker"
    for run_id in scenario.parked_on_victim:
        key = (APPROVALS, run_id, "sql_agent", 1)
        assert key in executions(stack, victim) and key in executions(stack, survivor)  # paused there, resumed here
        log = stack.task_log(APPROVALS, run_id, "sql_agent")
        assert log.count("waiting for a person") == 1 and f"finished with status {RUNS[run_id].status}" in log


def try_states(stack: AirflowStack, run_id: str, task_id: str) -> dict[int, str]:
    """{try_number: state} of every try of one task instance (history and current)."""
    path = f"/dags/{RUNS[run_id].dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
    resp = stack.api("GET", path, user="reviewer")
    assert resp.status_code == 200, resp.text
    return {ti["try_number"]: ti["state"] for ti in resp.json()["task_instances"]}


def test_tasks_running_on_the_killed_worker_are_retried_on_the_other(scenario):
    """A try that was listed as running but had really finished just before the kill (its state reached the
    API a moment late) is not a killed task: only tries that did not succeed count, and there must be one."""
    stack = scenario.stack
    assert scenario.running_at_crash
    killed = [(run_id, task_id, tries) for run_id, task_id, tries in scenario.running_at_crash
              if try_states(stack, run_id, task_id).get(tries) != "success"]
    assert killed, f"every task listed as running at the kill had already succeeded: {scenario.running_at_crash}"
    tis = {(ti["dag_run_id"], ti["task_id"]): ti for ti in task_instances(stack)}
    for run_id, task_id, tries in killed:
        ti = tis.get((run_id, task_id))
        assert ti is not None, f"{run_id}/{task_id} is not among the {len(tis)} task instances the API listed"
        assert ti["state"] == "success" and ti["try_number"] > tries, ti
        assert (RUNS[run_id].dag_id, run_id, task_id, ti["try_number"]) in executions(stack, scenario.survivor)


def test_each_answered_request_ran_its_query_exactly_once(scenario):
    rows = store_rows(scenario.databases["store"], "SELECT run_id, count(*) FROM aimod_events "
                                                    "WHERE kind = 'tool_call' AND name = 'sql.read' GROUP BY run_id")
    reads = Counter(dict(rows))
    assert {run_id: reads[run_id] for run_id in RUNS} == {
        run_id: 1 if req.status == "answered" else 0 for run_id, req in RUNS.items()}
    outcomes = store_rows(scenario.databases["store"], "SELECT run_id, status FROM aimod_outcomes "
                                                       "WHERE agent = 'sql_agent'")
    assert {run_id: status for run_id, status in outcomes} == {
        run_id: req.status for run_id, req in RUNS.items() if req.status != "escalated"}


def test_nothing_an_agent_needs_was_written_to_a_workers_disk(scenario):
    home = scenario.stack.home
    assert not (home / "aimod").exists()  # no embedded SQLite checkpoints or store
    for worker in WORKERS:
        assert list((home / f"cwd-{worker}").iterdir()) == []
    threads = store_rows(scenario.databases["checkpoints"], "SELECT DISTINCT thread_id FROM checkpoints")
    paused = {run_id for run_id, req in RUNS.items() if req.answer}
    assert paused <= {thread.split("/")[1] for (thread,) in threads}


def test_the_dashboard_on_the_api_server_reads_the_same_postgres_store(scenario):
    import httpx

    stack = scenario.stack
    resp = httpx.get(f"{stack.base_url}/aimod/api/traces", params={"limit": 200}, timeout=60,
                     headers={"Authorization": f"Bearer {stack.token('reviewer')}"})
    assert resp.status_code == 200, resp.text
    stored = store_rows(scenario.databases["store"], "SELECT DISTINCT trace_id FROM aimod_outcomes")
    assert {row["trace_id"] for row in resp.json()} == {trace for (trace,) in stored} and len(stored) >= len(RUNS)


def test_stopping_the_stack_leaves_no_process_behind(scenario):
    scenario.stack.stop()
    assert scenario.stack.stray_pids() == []
