"""Offline route classifier throughput, as a ratio against a baseline measured in the same run.

Corpus: the labelled routing requests of tests/unit/routing_cases.py, plus one 100,000-character
noise request (oversized input must stay cheap). Baseline: lower-casing and splitting each
request into words (the least any classifier reading the text does). Each figure is the best of
N passes over the corpus.

    .venv/bin/python benchmarks/bench_classifier.py [--passes 5]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier  # noqa: E402
from airflow_aimod.core.registry import routing_catalog  # noqa: E402
from tests.unit.routing_cases import CASES  # noqa: E402

_WORDS = re.compile(r"\w+")


def best_seconds(fn: Callable[[str], object], requests: list[str], passes: int) -> float:
    """Seconds for one pass over ``requests``, best of ``passes``."""
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for request in requests:
            fn(request)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one pass (the suite runs this)")
    args = parser.parse_args()
    if args.quick:
        args.passes = 1
    agents, classifier = routing_catalog(), RouteClassifier()
    noise = " ".join(f"qz{i * 7919 % 10007:x}vk" for i in range(20_000))[:100_000]
    print(f"{'corpus':<10} {'requests':>8} {'split req/s':>12} {'classify req/s':>15} {'classify/split':>15}")
    for name, requests in (("labelled", [c.request for c in CASES]), ("oversized", [noise])):
        baseline = best_seconds(lambda text: _WORDS.findall(text.lower()), requests, args.passes)
        measured = best_seconds(lambda text: classifier.classify(text, agents), requests, args.passes)
        print(f"{name:<10} {len(requests):>8} {len(requests) / baseline:>12.0f} {len(requests) / measured:>15.1f} "
              f"{baseline / measured:>14.4f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
