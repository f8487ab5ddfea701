"""SQL guard throughput on a fixed corpus, as a ratio against a baseline measured in the same run.

Corpus: the guard's own test corpus (tests/unit/test_sqlguard.py: accepted, rejected, PII and
function-allow-list statements) for sqlite and postgres, a few hundred statements in all.
Baseline: bare ``sqlglot.parse`` of the same statements in the same dialect (what any parse-based
check costs at least). Each figure is the best of N passes over the corpus.

    .venv/bin/python benchmarks/bench_sqlguard.py [--passes 5]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlglot  # noqa: E402

from airflow_aimod.core.sqlguard import SqlGuard  # noqa: E402
from tests.unit import test_sqlguard as corpus  # noqa: E402

DIALECTS = ("sqlite", "postgres")


def statements(dialect: str) -> list[str]:
    """The fixed corpus for ``dialect`` (accepted and rejected statements)."""
    rows = [sql for sql, d, _ in corpus.ACCEPTED + corpus.REJECTED if d == dialect]
    rows += [sql for sql, d, _ in corpus.PII_CASES + corpus.UNKNOWN_FUNCTIONS if d == dialect]
    rows += corpus.ANALYTICS[dialect]
    return rows


def parse_only(dialect: str) -> Callable[[str], object]:
    def parse(sql: str) -> object:
        try:
            return sqlglot.parse(sql, read=dialect)
        except (sqlglot.errors.SqlglotError, RecursionError):  # the guard survives both, so must the baseline
            return None
    return parse


def best_rate(fn: Callable[[str], object], sqls: list[str], passes: int) -> float:
    """Statements per second, best of ``passes`` full passes."""
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for sql in sqls:
            fn(sql)
        best = min(best, time.perf_counter() - started)
    return len(sqls) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" warnings
    print(f"{'dialect':<9} {'statements':>10} {'accepted':>8} {'parse st/s':>11} {'guard st/s':>11} "
          f"{'guard/parse':>11}")
    for dialect in DIALECTS:
        sqls, guard = statements(dialect), SqlGuard(dialect=dialect, pii_tables=corpus.PII_TABLES,
                                                     pii_columns=corpus.PII_COLUMNS)
        accepted = sum(guard.check(sql).allowed for sql in sqls)
        baseline = best_rate(parse_only(dialect), sqls, args.passes)
        guarded = best_rate(guard.check, sqls, args.passes)
        print(f"{dialect:<9} {len(sqls):>10} {accepted:>8} {baseline:>11.0f} {guarded:>11.0f} "
              f"{guarded / baseline:>10.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
