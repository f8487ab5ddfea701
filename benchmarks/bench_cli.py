"""How fast the CLI's core-only commands answer, against a bare Python start in the same run.

``aimod sql check`` and ``aimod route --llm offline`` must answer in well under a second:
they load only the pure core (no Airflow, no LangChain). Baseline: ``python -c pass``.
Exit 1 when a median passes 1 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 7
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "aimod sql check": [sys.executable, "-m", "airflow_aimod.cli", "sql", "check", "--dialect", "postgres",
                        "--pii-tables", "customers", "WITH c AS (SELECT * FROM customers) SELECT count(*) FROM c"],
    "aimod route --llm offline": [sys.executable, "-m", "airflow_aimod.cli", "route",
                                  "what was the total revenue per country last quarter?"],
    "python -c 'import airflow' (for scale)": [sys.executable, "-c", "import airflow"],
}


def median_seconds(cmd: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    results = {name: median_seconds(cmd) for name, cmd in COMMANDS.items()}
    baseline = results["python -c pass (baseline)"]
    print(f"{'command':42} {'median s':>9} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:42} {seconds:9.3f} {seconds / baseline:11.1f}")
    slow = [n for n in ("aimod sql check", "aimod route --llm offline") if results[n] >= 1.0]
    print("FAIL: " + ", ".join(slow) if slow else "PASS: both answer in under a second")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
