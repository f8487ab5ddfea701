"""Unseen warehouses: example retrieval at 10,000 examples, routing cost with a schema, accuracy lift.

1. Retrieval: BM25 over 10,000 synthetic verified questions; p50/p95 of one search (index built
   once, as a long-lived process keeps it), next to the baseline of one linear scan that only
   lower-cases every stored question (the least any retrieval does).
2. Routing with the warehouse's words vs without, over the dev routing requests: ratio of times.
3. NL→SQL execution accuracy on the dev warehouses, cold and with the 15 verified examples; and on
   gigs (a schema whose users speak jargon its names do not spell), cold and with its 15 examples.

    .venv/bin/python benchmarks/bench_unseen.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.examples import ExampleIndex  # noqa: E402
from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier  # noqa: E402
from airflow_aimod.core.registry import routing_catalog  # noqa: E402
from airflow_aimod.core.schema_words import schema_words  # noqa: E402
from tests.unit.nl2sql_support import catalog_from_sqlite  # noqa: E402
from tests.unseen.cases import DEV  # noqa: E402
from tests.unseen.gigs import GIGS, GIGS_VERIFIED  # noqa: E402
from tests.unseen.harness import build, evaluate  # noqa: E402
from tests.unseen.routing import cases as routing_cases  # noqa: E402
from tests.unseen.verified import VERIFIED  # noqa: E402

_NOUNS = "trip vehicle depot driver invoice account plan user patient doctor ward course student teacher".split()
_SHAPES = ["how many {n}s per {m}", "total {m} amount for {v}", "average {m} of {n}s in {y}",
           "top {k} {n}s by {m}", "list the {n}s from {v}", "which {n} had the most {m}s"]


def _questions(count: int, rng: random.Random) -> list[str]:
    return [rng.choice(_SHAPES).format(n=rng.choice(_NOUNS), m=rng.choice(_NOUNS), v=f"city{rng.randint(1, 500)}",
                                       y=rng.randint(2015, 2025), k=rng.randint(2, 20)) for _ in range(count)]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def retrieval(rng: random.Random) -> None:
    stored, queries = _questions(10_000, rng), _questions(300, rng)
    started = time.perf_counter()
    index = ExampleIndex(stored)
    build_ms = (time.perf_counter() - started) * 1000
    search, scan = [], []
    for query in queries:
        t0 = time.perf_counter()
        index.search(query, 3)
        t1 = time.perf_counter()
        [q.lower() for q in stored]
        search.append(t1 - t0)
        scan.append(time.perf_counter() - t1)
    (p50, p95), (_, b95) = _percentiles(search), _percentiles(scan)
    print(f"retrieval at 10,000 examples: index built in {build_ms:.0f} ms; search p50 {p50:.2f} ms, p95 {p95:.2f} ms;"
          f" baseline scan p95 {b95:.2f} ms; search/scan p95 {p95 / b95:.2f}x")


def routing(directory: Path) -> None:
    agents, classifier = routing_catalog(), RouteClassifier()
    requests = routing_cases("dev")
    paths = build(directory, {w for w, _, _ in requests})
    words = {w: schema_words(catalog_from_sqlite(p).to_dict()) for w, p in paths.items()}
    timings = {}
    for label, use in (("without", False), ("with", True)):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for warehouse, request, _ in requests:
                classifier.classify(request, agents, schema=words[warehouse] if use else ())
            best = min(best, time.perf_counter() - t0)
        timings[label] = best
    print(f"routing {len(requests)} requests: without schema {timings['without'] * 1000:.0f} ms, with schema "
          f"{timings['with'] * 1000:.0f} ms; with/without {timings['with'] / timings['without']:.2f}x")


def accuracy(directory: Path) -> None:
    dev = {name: pairs for name, pairs in VERIFIED.items() if name in {c.warehouse for c in DEV}}
    cold, taught = evaluate(DEV, directory), evaluate(DEV, directory, verified=dev)
    print(f"NL->SQL dev: cold {cold.accuracy:.2f}, with {sum(map(len, dev.values()))} verified examples "
          f"{taught.accuracy:.2f} (lift {taught.accuracy - cold.accuracy:+.2f})")
    cold, taught = evaluate(GIGS, directory), evaluate(GIGS, directory, verified={"gigs": GIGS_VERIFIED})
    print(f"NL->SQL gigs (unseen jargon): cold {cold.accuracy:.2f}, with {len(GIGS_VERIFIED)} verified examples "
          f"{taught.accuracy:.2f} (lift {taught.accuracy - cold.accuracy:+.2f})")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        retrieval(random.Random(7))
        routing(Path(tmp))
        accuracy(Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
