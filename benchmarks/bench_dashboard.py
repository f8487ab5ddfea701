"""Dashboard query latency at 10k and 100k events, as ratios against a baseline measured in the same run.

Baseline: ``SELECT COUNT(*) FROM aimod_events`` on the same store. Data: synthetic requests of
~10 events each (router + sql_agent outcomes, LLM calls, tool calls, transitions, some errors and
approvals) spread over 7 days; queries use a 24 h window. Each figure is the median of N runs.

    .venv/bin/python benchmarks/bench_dashboard.py            # SQLite
    .venv/bin/python benchmarks/bench_dashboard.py --postgres # also a throwaway Postgres DB
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.store import DashboardQueries, Outcome, open_store  # noqa: E402

NOW = 1_700_000_000.0
SPAN = 7 * 86400
DAY = 86400.0
KINDS = ("llm_call", "tool_call", "guard", "transition", "transition", "llm_call", "tool_call", "handoff")


def fill(store, events: int, seed: int = 7) -> str:
    """Write ``events`` events (~10 per request) and their outcomes; return one trace id."""
    rng, batch, trace = random.Random(seed), [], ""
    for r in range(events // 10):
        trace, start = f"trace{r:07d}", NOW - rng.random() * SPAN
        status = rng.choice(["answered"] * 17 + ["failed", "needs_approval", "refused"])
        for k in range(10):
            kind = "error" if k == 9 and status == "failed" else KINDS[k % len(KINDS)]
            batch.append({"event_id": f"{trace}-{k}", "trace_id": trace, "agent": "sql_agent" if k > 1 else "task_router",
                          "kind": kind, "name": "step", "ts": start + k * 0.4,
                          "data": {"model": "gpt-4o-mini", "input_tokens": 300, "output_tokens": 40,
                                   "latency_ms": 350.0, "error_type": "AgentTimeout" if kind == "error" else None}})
        store.record_outcome(Outcome(trace_id=trace, agent="task_router", status="answered", started_at=start,
                                     ended_at=start + 0.5, dag_id="aimod_quickstart", task_id="route", model="offline"))
        store.record_outcome(Outcome(trace_id=trace, agent="sql_agent", status=status, started_at=start + 0.5,
                                     ended_at=start + 1 + rng.random() * 8, dag_id="aimod_quickstart", task_id="sql",
                                     model="gpt-4o-mini", input_tokens=1200, output_tokens=160, llm_calls=4,
                                     needed_human=status == "needs_approval"))
        if len(batch) >= 5000:
            store.append(batch, scope={"dag_id": "aimod_quickstart"})
            batch = []
    store.append(batch, scope={"dag_id": "aimod_quickstart"})
    return trace


def median_ms(fn, runs: int) -> float:
    fn()  # warm caches
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def measure(store, trace: str, runs: int) -> dict[str, float]:
    q, dags = DashboardQueries(store), {"aimod_quickstart", "aimod_approvals"}
    cases = {
        "baseline: SELECT COUNT(*) events": lambda: store.fetch("SELECT COUNT(*) FROM aimod_events"),
        "agent_health (24h)": lambda: q.agent_health(window=DAY, now=NOW, dag_ids=dags),
        "series (24h, 24 buckets)": lambda: q.series(window=DAY, now=NOW, buckets=24, dag_ids=dags),
        "business (24h)": lambda: q.business(window=DAY, now=NOW, dag_ids=dags),
        "trace timeline (1 trace)": lambda: q.trace(trace, dag_ids=dags),
        "pending approvals": lambda: q.pending_approvals(dag_ids=dags),
        "whole page (all of the above)": lambda: (q.agent_health(window=DAY, now=NOW, dag_ids=dags),
                                                   q.series(window=DAY, now=NOW, dag_ids=dags),
                                                   q.business(window=DAY, now=NOW, dag_ids=dags),
                                                   q.trace(trace, dag_ids=dags), q.pending_approvals(dag_ids=dags),
                                                   q.recent_traces(dag_ids=dags)),
    }
    return {name: median_ms(fn, runs) for name, fn in cases.items()}


def report(title: str, results: dict[int, dict[str, float]]) -> None:
    sizes = sorted(results)
    print(f"\n{title}")
    head = "query".ljust(34) + "".join(f"{f'{n:,} ev (ms)':>16}{'× baseline':>12}" for n in sizes)
    print(head + "\n" + "-" * len(head))
    for name in results[sizes[0]]:
        cells = ""
        for n in sizes:
            base = results[n]["baseline: SELECT COUNT(*) events"]
            cells += f"{results[n][name]:>16.2f}{results[n][name] / base:>12.2f}"
        print(name.ljust(34) + cells)


def run(open_url, sizes: list[int], runs: int) -> dict[int, dict[str, float]]:
    results = {}
    for n in sizes:
        url, cleanup = open_url(n)
        try:
            with open_store(url) as store:
                t = time.perf_counter()
                trace = fill(store, n)
                print(f"  loaded {n:,} events in {time.perf_counter() - t:.1f} s", file=sys.stderr)
                results[n] = measure(store, trace, runs)
        finally:
            cleanup()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", action="store_true", help="also measure a throwaway DB on 127.0.0.1:5432")
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 rows, 3 runs (the suite runs this)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "1000,5000", 3
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="aimod-bench-"))
    report("SQLite (embedded store)", run(lambda n: (f"sqlite:///{tmp / f'{n}.sqlite'}", lambda: None), sizes, args.runs))
    if args.postgres:
        from contextlib import ExitStack

        from tests.pg import throwaway_database

        def pg(n):
            stack = ExitStack()
            return stack.enter_context(throwaway_database("aimod_bench")), stack.close

        report("PostgreSQL", run(pg, sizes, args.runs))


if __name__ == "__main__":
    main()
