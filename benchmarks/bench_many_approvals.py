"""Many approvals waiting at once on a Postgres metadata DB: slots held, listing times, answers, resumes.

One real stack (api-server, scheduler, dag-processor; LocalExecutor; Postgres metadata DB, checkpoints
and AiMod store on Postgres too) runs ``benchmarks/dags/aimod_bench_many.py``: one DAG run whose task
is mapped over ``--count`` items, each a trivial agent asking a person through our HITL path. Mapped
task instances, not runs: one DAG run holds them all, so Airflow's per-DAG run limit does not apply
and every request sits on one run, as a batch job asking about each row would.

Once every instance awaits input (and the scheduler has processed each worker's exit):
- worker slots held: task instances ``running`` or ``queued`` (must be 0);
- listing times, p50 and max of ``--calls``: the Required Actions page's REST call (first page of
  pending HITL details, 50 rows), every pending request read page by page (100 a page), the AiMod page
  (``/aimod/``, HTML) and its pending-approvals API (``/aimod/api/approvals/pending?limit=1000``);
  each must be <= 2 s;
- then every request is answered Approve through ``PATCH .../hitlDetails`` (``--answerers`` threads),
  a second answer is tried on some of them (must be refused, 409), and every instance must end
  ``success``: lost = instances not succeeded, answered twice = requests with more than one accepted
  answer or a store trace with more than one approval event.
The baseline of the listing times is ``GET /api/v2/monitor/health`` in the same run.

    .venv/bin/python benchmarks/bench_many_approvals.py [--count 1000] [--parallelism 4] [--preload] [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from tests.pg import throwaway_database  # noqa: E402
from tests.support.stack import AirflowStack  # noqa: E402

DAG_ID, TASK, USER, RUN_ID = "aimod_bench_many", "ask", "reviewer", "many-1"
LIMIT_S = 2.0
RESULTS = Path(__file__).parent / "results" / "many_approvals.md"
PRELOAD = {"AIRFLOW__CORE__MP_START_METHOD": "forkserver",
           "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": "airflow,airflow.executors.local_executor,airflow_aimod.preload"}
RUN = f"/dags/{DAG_ID}/dagRuns/{RUN_ID}"


def get(stack: AirflowStack, path: str, **params) -> dict:
    """GET ``/api/v2{path}`` as the reviewer; ``{}`` when a starved api-server does not answer (poll again)."""
    try:
        resp = stack.api("GET", path, user=USER, timeout=60, params=params)
    except httpx.TimeoutException:
        return {}
    return resp.json() if resp.status_code == 200 else {}


def states(stack: AirflowStack) -> dict[int, str]:
    """map index -> state of every mapped instance of the task."""
    found, offset = {}, 0
    while True:
        page = get(stack, f"{RUN}/taskInstances/{TASK}/listMapped", limit=100, offset=offset)
        rows = page.get("task_instances", [])
        found.update({int(ti["map_index"]): str(ti["state"]) for ti in rows})
        offset += len(rows)
        if not rows or offset >= page.get("total_entries", 0):
            return found


def parked(stack: AirflowStack, count: int) -> dict[int, str] | None:
    """Every instance awaits input and the scheduler has processed the exit of the worker that parked it."""
    now = states(stack)
    if len(now) < count or any(s != "awaiting_input" for s in now.values()):
        return None
    pattern = re.compile(rf"TaskInstance Finished: dag_id={DAG_ID}, task_id={TASK}, run_id={RUN_ID}, "
                         r"map_index=(\d+).*state=awaiting_input")
    exited = {int(m.group(1)) for m in pattern.finditer(stack.log_text("scheduler"))}
    return now if len(exited) >= count else None


def timed(fn, calls: int) -> tuple[float, float]:
    """p50 and max seconds of ``calls`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


def listings(stack: AirflowStack, count: int, calls: int) -> dict[str, tuple[float, float]]:
    """Time each listing a person opens while the requests wait; each must really list them all."""
    headers = {"Authorization": f"Bearer {stack.token(USER)}"}
    http = httpx.Client(base_url=stack.base_url, timeout=120, trust_env=False, headers=headers)

    def ok(resp: httpx.Response) -> httpx.Response:
        if resp.status_code != 200:
            raise RuntimeError(f"{resp.request.url} answered {resp.status_code}: {resp.text[:500]}")
        return resp

    def first_page() -> None:
        page = ok(http.get("/api/v2/dags/~/dagRuns/~/hitlDetails", params={"response_received": False, "limit": 50}))
        if page.json()["total_entries"] != count:
            raise RuntimeError(f"Required Actions lists {page.json()['total_entries']} pending, expected {count}")

    def every_page() -> None:
        seen, offset = 0, 0
        while offset < count:
            rows = ok(http.get("/api/v2/dags/~/dagRuns/~/hitlDetails",
                               params={"response_received": False, "limit": 100, "offset": offset})).json()
            seen += len(rows["hitl_details"])
            offset += 100
        if seen != count:
            raise RuntimeError(f"paging through Required Actions found {seen} pending, expected {count}")

    listed: list[int] = []

    def aimod_pending() -> None:
        listed.append(len(ok(http.get("/aimod/api/approvals/pending", params={"limit": 1000})).json()))

    try:
        return {"health (baseline)": timed(lambda: ok(http.get("/api/v2/monitor/health")), calls),
                "Required Actions, first page": timed(first_page, calls),
                f"Required Actions, all {count} paged": timed(every_page, max(1, calls // 4)),
                "AiMod page": timed(lambda: ok(http.get("/aimod/")), calls),
                "AiMod pending approvals API": timed(aimod_pending, calls), "aimod_listed": listed[-1]}
    finally:
        http.close()


def answer_all(stack: AirflowStack, count: int, answerers: int, twice: int) -> dict[str, int]:
    """PATCH Approve on every request (in parallel), then a second answer on ``twice`` of them."""
    headers = {"Authorization": f"Bearer {stack.token(USER)}"}

    def patch(indexes: list[int]) -> list[int]:
        with httpx.Client(base_url=stack.base_url, timeout=120, trust_env=False, headers=headers) as http:
            return [http.patch(f"/api/v2{RUN}/taskInstances/{TASK}/{i}/hitlDetails",
                               json={"chosen_options": ["Approve"], "params_input": {}}).status_code for i in indexes]

    def spread(indexes: list[int]) -> list[int]:
        with ThreadPoolExecutor(answerers) as pool:
            return [code for codes in pool.map(patch, [indexes[k::answerers] for k in range(answerers)])
                    for code in codes]

    codes: dict[str, int] = {}
    for code in spread(list(range(count))):
        codes[f"first {code}"] = codes.get(f"first {code}", 0) + 1
    for code in spread(list(range(0, count, max(1, count // twice)))[:twice]):
        codes[f"again {code}"] = codes.get(f"again {code}", 0) + 1
    return codes


def store_approvals(url: str) -> dict[int, int]:
    """approval events per trace of the DAG in the AiMod store -> how many traces have that many."""
    from airflow_aimod.core.store import open_store

    with open_store(url) as store:
        rows = store.fetch("SELECT o.trace_id, (SELECT COUNT(*) FROM aimod_events e WHERE e.trace_id = o.trace_id "
                           "AND e.kind = 'approval') FROM aimod_outcomes o WHERE o.dag_id = ? AND o.status = ?",
                           (DAG_ID, "answered"))
    spread: dict[int, int] = {}
    for _, n in rows:
        spread[int(n)] = spread.get(int(n), 0) + 1
    return spread


def measure(root: Path, count: int, parallelism: int, calls: int, answerers: int, preload: bool) -> dict:
    with throwaway_database("aimod_bench_many") as metadata, throwaway_database("aimod_bench_ckpt") as checkpoints, \
            throwaway_database("aimod_bench_store") as store_url:
        env = {"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints, "AIRFLOW__AIMOD__STORE_URL": store_url,
               "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm",
                                                             "extra": {"backend": "offline"}}),
               "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(count + 10),
               "AIRFLOW__CORE__MAX_MAP_LENGTH": str(max(1024, count)),
               **(PRELOAD if preload else {})}
        stack = AirflowStack(home=root / "airflow", database_url=metadata, dags_folder=Path(__file__).parent / "dags",
                             users={USER: "bench-pw-1"}, env=env, parallelism=parallelism)
        try:
            started = time.perf_counter()
            stack.start(timeout=400)
            stack.wait_for(lambda: get(stack, f"/dags/{DAG_ID}"), timeout=300, every=1,
                           what=f"the dag-processor to parse {DAG_ID}")
            up = time.perf_counter() - started
            resp = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", user=USER, timeout=120,
                             json={"dag_run_id": RUN_ID, "logical_date": None, "conf": {"count": count}})
            if resp.status_code != 200:
                raise RuntimeError(f"triggering {DAG_ID} failed: {resp.status_code} {resp.text}")
            triggered = time.perf_counter()
            waiting = stack.wait_for(lambda: parked(stack, count), timeout=300 + 6 * count, every=3,
                                     what=f"{count} requests parked")
            parked_s = time.perf_counter() - triggered
            held = {s: sum(1 for v in states(stack).values() if v == s) for s in ("running", "queued")}
            times = listings(stack, count, calls)
            answered = time.perf_counter()
            codes = answer_all(stack, count, answerers, twice=min(count, 20))
            answer_s = time.perf_counter() - answered
            end = stack.wait_for(lambda: (s := states(stack)) and all(v in ("success", "failed") for v in s.values())
                                 and s or None, timeout=300 + 6 * count, every=3, what=f"{count} requests resumed")
            resumed_s = time.perf_counter() - answered
            responded = get(stack, "/dags/~/dagRuns/~/hitlDetails", response_received=True, limit=1)
            spread = store_approvals(store_url)
        finally:
            stack.stop()
    succeeded = sum(1 for v in end.values() if v == "success")
    listed = times.pop("aimod_listed")
    return {"count": count, "listed": listed, "up_s": up, "parked_s": parked_s, "waiting": len(waiting), "held": held,
            "times": times,
            "codes": codes, "answer_s": answer_s, "resumed_s": resumed_s, "succeeded": succeeded,
            "lost": count - succeeded, "responded": responded.get("total_entries"), "approvals_per_trace": spread,
            "twice": codes.get("again 200", 0) + sum(n for k, n in spread.items() if k > 1)}


def report(r: dict, parallelism: int, preload: bool) -> list[str]:
    count = r["count"]
    base = r["times"]["health (baseline)"][0]
    lines = [f"{count} approvals waiting at once (one DAG run, {count} mapped instances; LocalExecutor, parallelism "
             f"{parallelism}{', preloaded fork server' if preload else ''}; Postgres metadata DB)",
             f"stack up in {r['up_s']:.0f} s; all {r['waiting']} parked in {r['parked_s']:.0f} s "
             f"({r['waiting'] / max(r['parked_s'], 1e-6) * 60:.0f}/min); worker slots held while waiting: "
             f"{sum(r['held'].values())} (running {r['held']['running']}, queued {r['held']['queued']})"]
    listed = r["listed"]
    for name, (p50, worst) in r["times"].items():
        verdict = "" if name.startswith("health") else (" ok" if worst <= LIMIT_S else f" ABOVE {LIMIT_S:.0f} s")
        lines.append(f"  {name:<36} p50 {p50 * 1000:7.0f} ms  max {worst * 1000:7.0f} ms  "
                     f"p50/baseline {p50 / max(base, 1e-6):6.0f}x{verdict}")
    lines.append(f"  the AiMod pending approvals API lists {listed} of the {count} waiting")
    lines.append(f"answered {count} through PATCH hitlDetails in {r['answer_s']:.1f} s "
                 f"({count / max(r['answer_s'], 1e-6):.0f}/s); status codes {r['codes']}")
    lines.append(f"all resumed and ended {r['resumed_s']:.0f} s after the first answer "
                 f"({count / max(r['resumed_s'], 1e-6) * 60:.0f} resumes/min); succeeded {r['succeeded']}, "
                 f"responded {r['responded']}, approval events per trace {r['approvals_per_trace']}")
    lines.append(f"lost {r['lost']}, answered twice {r['twice']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--calls", type=int, default=10, help="timed calls per listing")
    parser.add_argument("--answerers", type=int, default=4, help="reviewers answering in parallel")
    parser.add_argument("--preload", action="store_true", help="workers forked from a preloaded fork server")
    parser.add_argument("--quick", action="store_true", help="8 approvals, 3 calls, preloaded (the suite's mode)")
    args = parser.parse_args()
    count, calls = (8, 3) if args.quick else (args.count, args.calls)
    root = Path(tempfile.mkdtemp(prefix="aimod-bench-many-"))
    preload = args.preload or args.quick
    result = measure(root, count, args.parallelism, calls, args.answerers, preload)  # an error keeps the logs
    shutil.rmtree(root, ignore_errors=True)
    lines = report(result, args.parallelism, preload)
    print("\n".join(lines))
    slow = [n for n, (_, worst) in result["times"].items() if not n.startswith("health") and worst > LIMIT_S]
    good = (not slow and result["listed"] == min(count, 1000) and result["lost"] == 0 and result["twice"] == 0
            and sum(result["held"].values()) == 0)
    if not args.quick:
        RESULTS.write_text("# Many approvals waiting at once (benchmarks/bench_many_approvals.py)\n\n"
                           f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n```\n"
                           + "\n".join(lines) + "\n```\n")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
