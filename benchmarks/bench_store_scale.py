"""The AiMod store and its page at production volume: cost of every page API call against volume.

For each volume (events, outcomes = events / 10, spread over 30 days) a fresh store is bulk-filled
(``tests/support/store_volume.py``) on SQLite and on a throwaway Postgres database, then every call
the page makes is timed ``--calls`` times through ``DashboardQueries`` exactly as ``plugins/api.py``
composes it (24 h window; ``page`` is the whole HTML page, rendered). p95 must be <= 300 ms. Then
``StoreRetention`` keeps 7 days of the largest store, timed. The baseline of each row is
``SELECT COUNT(*) FROM aimod_outcomes`` on the same store, so rows compare across machines as ratios.
Results go to ``benchmarks/results/store_scale.md``. ``--keep DIR`` keeps each filled store (SQLite files in
``DIR``, Postgres databases ``aimod_bench_keep_<events>``) and reuses it on the next run instead of filling
it again (a minute or two per dialect at 1,000,000 events); retention, which would empty it, is then skipped.

    .venv/bin/python benchmarks/bench_store_scale.py [--volumes 10000,100000,1000000] [--calls 20] [--quick]
                                                     [--dialects sqlite,postgres] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.store import DashboardQueries, open_store  # noqa: E402
from airflow_aimod.core.store.pricing import nearest_rank  # noqa: E402
from airflow_aimod.core.store.retention import RetentionPolicy, StoreRetention  # noqa: E402
from airflow_aimod.plugins.page import PageData, render_page  # noqa: E402
from tests.pg import admin_connection, database_url, throwaway_database  # noqa: E402
from tests.support.store_volume import generate  # noqa: E402

NOW = 1_800_000_000.0
WINDOW = 86400.0
LIMIT_MS = 300.0
RESULTS = Path(__file__).parent / "results" / "store_scale.md"


def page_calls(q: DashboardQueries, trace_id: str) -> dict:
    """Each page API call, composed as ``plugins/api.py`` composes it."""
    def page() -> str:
        runs = q.view(window=WINDOW, now=NOW)
        recent = q.requests(window=WINDOW, now=NOW, runs=runs, limit=100)
        return render_page(PageData(
            window="24h", now=NOW, user="bench", base="http://localhost:8080",
            agents=q.agent_health(window=WINDOW, now=NOW, runs=runs),
            series=q.series(window=WINDOW, now=NOW, buckets=24, runs=runs),
            business=q.business(window=WINDOW, now=NOW, runs=runs),
            approvals=[{**a, "url": "http://localhost:8080/required_actions"}
                       for a in q.pending_approvals(limit=50, now=NOW)], recent=recent,
            trace=q.trace(recent[0]["trace_id"], limit=500) if recent else None,
            attention=q.attention(window=WINDOW, now=NOW, runs=runs, limit=50)))

    return {
        "health": lambda: health(q),
        "business": lambda: q.business(window=WINDOW, now=NOW),
        "traces": lambda: q.requests(window=WINDOW, now=NOW, limit=50),
        "attention": lambda: q.attention(window=WINDOW, now=NOW),
        "trace": lambda: q.trace(trace_id),
        "approvals/pending": lambda: q.pending_approvals(limit=100),
        "page": page,
    }


def health(q: DashboardQueries) -> tuple:
    runs = q.view(window=WINDOW, now=NOW)
    return q.agent_health(window=WINDOW, now=NOW, runs=runs), q.series(window=WINDOW, now=NOW, buckets=24, runs=runs)


def p95_ms(fn, calls: int) -> float:
    fn()  # a first call warms the caches, as a page that is open is
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return nearest_rank(sorted(samples), 95)


def measure(url: str, events: int, calls: int, purge: bool) -> dict:
    with open_store(url) as store:
        started = time.perf_counter()
        traces = reuse(store, events) or generate(store, events=events, outcomes=events // 10, now=NOW)
        filled = time.perf_counter() - started
        q = DashboardQueries(store)
        base = p95_ms(lambda: store.fetch("SELECT COUNT(*) FROM aimod_outcomes"), calls)
        row = {"fill_s": filled, "baseline": base,
               **{name: p95_ms(fn, calls) for name, fn in page_calls(q, traces[-1]).items()}}
        if purge:
            started = time.perf_counter()
            deleted = StoreRetention(store, RetentionPolicy(7)).purge(now=NOW)
            row["purge"] = (time.perf_counter() - started, sum(deleted.values()))
        return row


def reuse(store, events: int) -> list[str]:
    """The trace ids ``generate`` returns, when the store already holds exactly its rows (else [])."""
    store.migrate()
    (have,), = store.fetch("SELECT COUNT(*) FROM aimod_events")
    if have != events:
        with store.transaction() as conn:  # a partial fill (an interrupted run): start again
            conn.execute("DELETE FROM aimod_events")
            conn.execute("DELETE FROM aimod_outcomes")
        return []
    ids = tuple(f"t{i:08d}" for i in range(50))
    rows = store.fetch(f"SELECT trace_id FROM aimod_outcomes WHERE trace_id IN ({', '.join('?' for _ in ids)}) "
                       "ORDER BY ended_at", ids)
    return [r[0] for r in rows]


@contextmanager
def store_url(dialect: str, events: int, keep: Path | None) -> Iterator[str]:
    """Where the store of ``events`` lives: throwaway, or kept under ``keep`` for the next run."""
    if keep is not None and dialect == "sqlite":
        keep.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{keep / f'store-{events}.sqlite'}"
    elif keep is not None:
        name = f"aimod_bench_keep_{events}"
        with admin_connection() as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                admin.execute(f"CREATE DATABASE {name}")
        yield database_url(name)
    elif dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="aimod-bench-scale-") as tmp:
            yield f"sqlite:///{tmp}/store.sqlite"
    else:
        with throwaway_database("aimod_bench_scale") as url:
            yield url


def describe(dialect: str, events: int, row: dict, calls_ms: dict[str, float]) -> str:
    """One result line: volume, fill time, p95 per call, the baseline and the purge."""
    text = (f"{dialect:<8} {events:>9,} events {events // 10:>8,} outcomes | fill {row['fill_s']:6.1f} s | p95 ms: "
            + ", ".join(f"{k} {v:.0f}" for k, v in calls_ms.items())
            + f" | baseline COUNT(*) {row['baseline']:.1f} ms, "
              f"page/baseline {calls_ms['page'] / max(row['baseline'], 1e-3):.0f}x")
    if "purge" in row:
        seconds, deleted = row["purge"]
        rate = deleted / max(seconds, 1e-6)
        text += f" | retention 7 d: {deleted:,} rows deleted in {seconds:.1f} s ({rate:,.0f} rows/s)"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", default="10000,100000,1000000", help="event counts (outcomes: a tenth)")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10,000 events, 5 calls (the suite's mode)")
    parser.add_argument("--dialects", default="sqlite,postgres")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the filled stores and reuse them (no retention)")
    args = parser.parse_args()
    volumes = [10_000] if args.quick else [int(v) for v in args.volumes.split(",")]
    calls = 5 if args.quick else args.calls
    lines, worst = [], 0.0
    for dialect in args.dialects.split(","):
        for events in volumes:
            purge = events == volumes[-1] and args.keep is None
            with store_url(dialect, events, args.keep) as url:
                row = measure(url, events, calls, purge)
            calls_ms = {k: v for k, v in row.items() if k not in ("fill_s", "baseline", "purge")}
            worst = max(worst, *calls_ms.values())
            text = describe(dialect, events, row, calls_ms)
            print(text, flush=True)
            lines.append(text)
    verdict = "PASS" if worst <= LIMIT_MS else "ABOVE LIMIT"
    print(f"slowest page call p95: {worst:.0f} ms (limit {LIMIT_MS:.0f} ms): {verdict}")
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text("# AiMod store at volume (benchmarks/bench_store_scale.py)\n\n"
                           f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {calls} calls per figure, "
                           "24 h window over 30 days of data.\n\n```\n" + "\n".join(lines)
                           + f"\nslowest page call p95: {worst:.0f} ms (limit {LIMIT_MS:.0f} ms): {verdict}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
