"""Every light benchmark runs in its quick mode, so none can rot (``make bench`` runs them in full).

The Airflow-stack benchmarks (approval, scaling) are exercised piece by piece by the e2e tests that
share their helpers, except ``bench_many_approvals``, whose quick mode starts its own small stack (8 approvals
waiting at once); here each quick run must exit 0 and print its ratio against its own baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script, args, prints", [
    ("bench_classifier.py", ["--quick"], "classify/split"),
    ("bench_cli.py", ["--quick"], "x import airflow"),
    ("bench_sqlguard.py", ["--quick"], "guard/parse"),
    ("bench_schema_selection.py", [], "smaller"),
    ("bench_dashboard.py", ["--quick"], "SQLite"),
    ("bench_parse_cost.py", ["--quick"], "parse-cost ratio"),
    ("bench_drift.py", ["--quick"], "time ratio aimod/scipy"),
    ("bench_training.py", ["--runs", "1"], "ratio agent/direct"),
    ("bench_unseen.py", [], "with/without"),
    ("bench_overhead.py", ["--quick"], "warm extra beyond the model call"),
    ("bench_store_scale.py", ["--quick"], "slowest page call p95"),
    ("bench_many_approvals.py", ["--quick"], "lost 0, answered twice 0"),  # a real stack, 8 approvals
])
def test_the_benchmark_runs_and_prints_its_ratio(script, args, prints):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert prints in proc.stdout, proc.stdout[-2000:]
