"""How fast the CLI's core-only commands answer, against a bare Python start in the same run.

``aimod sql check`` and ``aimod route --llm offline`` load only the pure core (no Airflow, no
LangChain). Baseline: ``python -c pass``; the bar, measured in the same run: each must answer faster
than ``python -c 'import airflow'`` alone (exit 1 otherwise). ``--quick`` runs each command once.
"""

from __future__ import annotations

import argparse
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


def median_seconds(cmd: list[str], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per command, exit 0 whatever the ratio (the suite runs this)")
    args = parser.parse_args(argv)
    results = {name: median_seconds(cmd, 1 if args.quick else RUNS) for name, cmd in COMMANDS.items()}
    baseline = results["python -c pass (baseline)"]
    airflow = results["python -c 'import airflow' (for scale)"]
    print(f"{'command':42} {'median s':>9} {'x baseline':>11} {'x import airflow':>17}")
    for name, seconds in results.items():
        print(f"{name:42} {seconds:9.3f} {seconds / baseline:11.1f} {seconds / airflow:17.2f}")
    slow = [n for n in ("aimod sql check", "aimod route --llm offline") if results[n] >= airflow]
    print("FAIL: slower than importing Airflow: " + ", ".join(slow) if slow
          else "PASS: both answer faster than importing Airflow alone")
    return 1 if slow and not args.quick else 0  # quick (in the suite): it must run; the verdict is make bench's


if __name__ == "__main__":
    sys.exit(main())
