"""Approval resume latency and worker slots while waiting: our agent against Airflow's ApprovalOperator.

One real stack (api-server, scheduler, dag-processor; LocalExecutor; Postgres metadata DB) runs
the two DAGs of ``benchmarks/dags/aimod_bench_approval.py`` ``--runs`` times each:
``SQLAgentOperator(hitl=True)`` (asks about a PII query; on approval resumes its LangGraph graph
from the checkpoint and runs the query) and the baseline, Airflow's own ``ApprovalOperator`` (asks;
returns on approval). All of them wait at once with ``parallelism=2``; the task instances counted
``running``/``queued`` then are the worker slots held by waiting tasks (must be 0). Then each
request is answered, one at a time, alternating agent and baseline, once its worker is gone (the
Airflow 3.3.2 race, ARCHITECTURE.md). Per answer: seconds from the PATCH to the task running again
(the PATCH itself sets ``scheduled``; ``running`` means a worker resumed it) and to ``success``.
Medians, and the agent/baseline ratio.

    .venv/bin/python benchmarks/bench_approval.py [--runs 3]   # needs Postgres on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from tests.support.stack import AirflowStack  # noqa: E402
from airflow_aimod.demo.warehouse import build_warehouse  # noqa: E402
from tests.pg import throwaway_database  # noqa: E402

DAGS = {"agent": "aimod_bench_agent", "baseline": "aimod_bench_native"}
TASK, USER = "ask", "reviewer"
DONE = {"success", "failed", "skipped", "upstream_failed"}


def get(stack: AirflowStack, path: str, **kwargs) -> dict:
    """GET ``path`` as the reviewer; ``{}`` when a starved api-server does not answer in time (poll again)."""
    try:
        resp = stack.api("GET", path, user=USER, timeout=60, **kwargs)
    except httpx.TimeoutException:
        return {}
    return resp.json() if resp.status_code == 200 else {}


def ti_path(dag_id: str, run_id: str) -> str:
    return f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{TASK}"


def task_states(stack: AirflowStack) -> dict[tuple[str, str], str]:
    """(dag id, run id) -> state of its task, for every task instance of the stack, in one call."""
    listing = get(stack, "/dags/~/dagRuns/~/taskInstances", params={"limit": 500})
    return {(ti["dag_id"], ti["dag_run_id"]): str(ti["state"]) for ti in listing.get("task_instances", [])}


def all_parked(stack: AirflowStack, order: list[tuple[str, str]]) -> dict[str, int] | None:
    """Counts per state once every request awaits input and the scheduler has processed its worker's exit."""
    states = task_states(stack)
    if not states or any(states.get((DAGS[kind], run_id)) != "awaiting_input" for kind, run_id in order):
        return None
    if not all(stack.worker_exited(DAGS[kind], run_id, TASK) for kind, run_id in order):
        return None
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return counts


def answer_and_time(stack: AirflowStack, dag_id: str, run_id: str, timeout: float = 300) -> tuple[float, float]:
    """PATCH Approve; seconds until the task is running again, and until it has finished."""
    started = time.perf_counter()
    resp = stack.api("PATCH", f"{ti_path(dag_id, run_id)}/-1/hitlDetails", user=USER, timeout=120,
                     json={"chosen_options": ["Approve"], "params_input": {}})
    if resp.status_code != 200:
        raise RuntimeError(f"answering {dag_id}/{run_id} failed: {resp.status_code} {resp.text}")
    resumed = None
    while time.perf_counter() - started < timeout:
        state = get(stack, ti_path(dag_id, run_id)).get("state")
        now = time.perf_counter() - started
        if resumed is None and (state == "running" or state in DONE):
            resumed = now
        if state in DONE:
            if state != "success":
                raise RuntimeError(f"{dag_id}/{run_id} ended {state}:\n{stack.task_log(dag_id, run_id, TASK)[-3000:]}")
            return resumed, now
        time.sleep(0.1)
    raise RuntimeError(f"{dag_id}/{run_id} did not finish within {timeout:.0f}s")


def answer_early(stack: AirflowStack, kind: str, run_id: str, timeout: float = 300) -> tuple[str, bool]:
    """Trigger ``run_id``, answer Approve as soon as its task awaits input (before the scheduler may have
    processed the exit of the worker that parked it); its end state (with the try it ended on), and whether
    that exit was processed. Our agent's task retries once by default and carries on the decided thread."""
    dag_id = DAGS[kind]
    resp = stack.api("POST", f"/dags/{dag_id}/dagRuns", user=USER, timeout=120,
                     json={"dag_run_id": run_id, "logical_date": None})
    assert resp.status_code == 200, resp.text
    stack.wait_for(lambda: get(stack, ti_path(dag_id, run_id)).get("state") == "awaiting_input" or None,
                   timeout=timeout, every=0.2, what=f"{dag_id}/{run_id} awaiting input")
    exited = stack.worker_exited(dag_id, run_id, TASK)
    resp = stack.api("PATCH", f"{ti_path(dag_id, run_id)}/-1/hitlDetails", user=USER, timeout=120,
                     json={"chosen_options": ["Approve"], "params_input": {}})
    if resp.status_code != 200:
        return f"answer refused {resp.status_code}", exited
    def ended_or_asks_again():
        t = get(stack, ti_path(dag_id, run_id))
        return (t.get("state") in DONE or (t.get("state") == "awaiting_input" and t.get("try_number", 1) > 1)) and t

    ti = stack.wait_for(ended_or_asks_again, timeout=timeout, every=0.2,
                        what=f"{dag_id}/{run_id} to finish after the answer")
    again = ""
    if ti["state"] == "awaiting_input":  # the race failed the try before it resumed; its retry asks again
        stack.wait_for(lambda: stack.worker_exited(dag_id, run_id, TASK, try_number=ti["try_number"]),
                       timeout=timeout, what=f"{dag_id}/{run_id} try {ti['try_number']} parked, its worker gone")
        stack.api("PATCH", f"{ti_path(dag_id, run_id)}/-1/hitlDetails", user=USER, timeout=120,
                  json={"chosen_options": ["Approve"], "params_input": {}})
        again = ", asked again and answered"
        ti = stack.wait_for(lambda: (t := get(stack, ti_path(dag_id, run_id))).get("state") in DONE and t or None,
                            timeout=timeout, every=0.2, what=f"{dag_id}/{run_id} to finish after the second answer")
    return f"{ti['state']} on try {ti['try_number']}{again}", exited


def resume_phases(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, float]:
    """Milliseconds per phase of the resumed agent task, from the ``timing`` event it logged."""
    for event in reversed(stack.agent_events(dag_id, run_id, TASK)):
        if event.get("kind") == "timing" and (event.get("data") or {}).get("resumed"):
            return dict(event["data"]["phases_ms"])
    return {}


PRELOAD = {"AIRFLOW__CORE__MP_START_METHOD": "forkserver",
           "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": "airflow,airflow.executors.local_executor,airflow_aimod.preload"}


def run(runs: int, parallelism: int, preload: bool = False, early_runs: int = 0) -> dict:
    root = Path(tempfile.mkdtemp(prefix="aimod-bench-approval-"))
    result = measure(root, runs, parallelism, PRELOAD if preload else {}, early_runs)  # an error keeps the logs
    shutil.rmtree(root, ignore_errors=True)
    return result


def measure(root: Path, runs: int, parallelism: int, extra_env: dict[str, str], early_runs: int = 0) -> dict:
    """Start the stack under ``root``, park ``runs`` requests per DAG, answer them one by one."""
    build_warehouse(root / "warehouse.db")
    with throwaway_database("aimod_bench") as metadata, throwaway_database("aimod_bench_ckpt") as checkpoints:
        env = {"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints,
               "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(root / "warehouse.db")}),
               "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm",
                                                             "extra": {"backend": "offline"}}),
               **extra_env}
        stack = AirflowStack(home=root / "airflow", database_url=metadata, dags_folder=Path(__file__).parent / "dags",
                             users={USER: "bench-pw-1"}, env=env, parallelism=parallelism)
        try:
            stack.start(timeout=400)
            for dag_id in DAGS.values():
                stack.wait_for(lambda d=dag_id: get(stack, f"/dags/{d}"), timeout=300, every=2,
                               what=f"the dag-processor to parse {dag_id}")
            order = [(kind, f"run-{i}") for i in range(runs) for kind in DAGS]
            for kind, run_id in order:
                resp = stack.api("POST", f"/dags/{DAGS[kind]}/dagRuns", user=USER, timeout=120,
                                 json={"dag_run_id": run_id, "logical_date": None})
                assert resp.status_code == 200, resp.text
            held = stack.wait_for(lambda: all_parked(stack, order), timeout=900, every=3,
                                  what=f"{len(order)} requests parked")
            times: dict[str, list[tuple[float, float]]] = {kind: [] for kind in DAGS}
            phases: list[dict[str, float]] = []
            for kind, run_id in order:
                times[kind].append(answer_and_time(stack, DAGS[kind], run_id))
                if kind == "agent":
                    phases.append(resume_phases(stack, DAGS[kind], run_id))
            early: dict[str, list[tuple[str, bool]]] = {kind: [] for kind in DAGS}
            for i in range(early_runs):  # alternating, like the timed answers
                for kind in DAGS:
                    early[kind].append(answer_early(stack, kind, f"early-{i}"))
        finally:
            stack.stop()
    return {"held": held, "times": times, "waiting": len(order), "phases": phases, "early": early}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per DAG (default 3)")
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--preload", action="store_true",
                        help="LocalExecutor workers forked from a fork server that imported airflow_aimod.preload")
    parser.add_argument("--early", type=int, default=0, metavar="N",
                        help="then N more runs per DAG answered as soon as they await input (the 3.3.2 race)")
    args = parser.parse_args()
    result = run(args.runs, args.parallelism, args.preload, args.early)
    held = result["held"]
    slots = held.get("running", 0) + held.get("queued", 0)
    print(f"while {result['waiting']} requests waited (parallelism {args.parallelism}): states {held}; "
          f"worker slots held: {slots}")
    medians = {kind: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
               for kind, ts in result["times"].items()}
    print(f"{'operator':<34} {'answers':>7} {'to running s':>12} {'to success s':>12}")
    labels = {"agent": "SQLAgentOperator(hitl=True)", "baseline": "ApprovalOperator (baseline)"}
    for kind, (resumed, done) in medians.items():
        print(f"{labels[kind]:<34} {len(result['times'][kind]):>7} {resumed:>12.2f} {done:>12.2f}")
    if phases := [p for p in result["phases"] if p]:
        names = list(dict.fromkeys(name for p in phases for name in p))
        print("resumed agent task, median ms per phase: " + ", ".join(
            f"{name} {statistics.median(p.get(name, 0.0) for p in phases):.0f}" for name in names))
    agent, base = medians["agent"], medians["baseline"]
    print(f"{'agent/baseline':<34} {'':>7} {agent[0] / base[0]:>11.2f}x {agent[1] / base[1]:>11.2f}x")
    for kind, ends in result["early"].items():
        if ends:
            print(f"answered on parking, {labels[kind]}: " + ", ".join(
                f"{state}{'' if exited else ' (worker exit not yet processed)'}" for state, exited in ends))
    return 0 if slots == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
