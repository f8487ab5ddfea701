"""Drift detection time and verdicts: ``core.ml.drift`` against Evidently's ``DataDriftPreset`` on the same data.

Two datasets, generated with a fixed seed: ``large`` (20 000 reference and 20 000 current rows; ``amount``,
``tenure`` and ``channel`` drifted, ``age``, ``score`` and ``region`` not) and ``tiny`` (the same reference,
25 current rows of undrifted data). Each detector runs ``--repeat`` times per dataset (imports and data
loading outside the timer); the medians and their ratio are printed with each detector's drifted columns.

Evidently 0.7.23 does not import with pandas 3, so it runs in its own throwaway venv:

    .venv/bin/uv venv /tmp/aimod-evidently --python 3.11
    .venv/bin/uv pip install --python /tmp/aimod-evidently/bin/python "evidently==0.7.23" "pandas<3"
    .venv/bin/python benchmarks/bench_drift.py [--evidently-python /tmp/aimod-evidently/bin/python] [--repeat 3]

``--quick`` (what the suite runs, no Evidently venv needed): one repeat, and the baseline is the bare scipy
test per column on the same data (``ks_2samp`` for numbers, ``chi2_contingency`` for categories) — what any
per-column drift check costs at least.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from airflow_aimod.core.ml.drift import DriftDetector  # noqa: E402

CATEGORICAL = ["channel", "region"]
EVIDENTLY = r"""
import json, statistics, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur, repeat = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2]), int(sys.argv[3])
for c in ("channel", "region"):
    ref[c], cur[c] = ref[c].astype(str), cur[c].astype(str)
times = []
for _ in range(repeat):
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    times.append(time.perf_counter() - started)
drifted = []
for m in snapshot.dict()["metrics"]:
    cfg = m["config"]
    if cfg.get("type", "").endswith("ValueDrift"):
        value, threshold = float(m["value"]), float(cfg["threshold"])
        if (value < threshold) if "p_value" in cfg["method"] else (value >= threshold):
            drifted.append(cfg["column"])
print(json.dumps({"seconds": statistics.median(times), "drifted": sorted(drifted)}))
"""


def datasets(seed: int = 11) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    rng = np.random.default_rng(seed)

    def frame(n: int, drift: bool) -> pd.DataFrame:
        return pd.DataFrame({
            "amount": rng.lognormal(4 + (0.3 if drift else 0), 0.5, n),
            "tenure": rng.normal(24 + (6 if drift else 0), 10, n),
            "age": rng.normal(40, 12, n), "score": rng.beta(2, 5, n),
            "channel": rng.choice(["web", "app", "store"], n, p=[0.3, 0.5, 0.2] if drift else [0.5, 0.3, 0.2]),
            "region": rng.choice(["n", "s", "e", "w"], n)})

    reference = frame(20_000, False)
    return {"large": (reference, frame(20_000, True)), "tiny": (reference, frame(25, False))}


def ours(ref: pd.DataFrame, cur: pd.DataFrame, repeat: int) -> dict:
    as_columns = lambda f: {c: f[c].tolist() for c in f.columns}  # noqa: E731
    ref_cols, cur_cols = as_columns(ref), as_columns(cur)
    DriftDetector().compare(ref_cols, cur_cols, categorical=CATEGORICAL)  # warm-up: scipy imports
    times, report = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        report = DriftDetector().compare(ref_cols, cur_cols, categorical=CATEGORICAL)
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "drifted": sorted(report.drifted), "verdict": report.verdict}


def bare_scipy(ref: pd.DataFrame, cur: pd.DataFrame, repeat: int) -> dict:
    """One scipy test per column and nothing else: the floor of any per-column drift check."""
    from scipy.stats import chi2_contingency, ks_2samp

    def run() -> list[str]:
        drifted = []
        for c in ref.columns:
            if c in CATEGORICAL:
                table = pd.crosstab(pd.concat([ref[c], cur[c]]), np.r_[np.zeros(len(ref)), np.ones(len(cur))])
                p = chi2_contingency(table.to_numpy())[1]
            else:
                p = ks_2samp(ref[c].to_numpy(), cur[c].to_numpy()).pvalue
            if p < 0.05:
                drifted.append(c)
        return drifted

    run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        drifted = run()
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "drifted": sorted(drifted)}


def evidently(python: str, ref: pd.DataFrame, cur: pd.DataFrame, repeat: int, tmp: Path) -> dict:
    ref.to_csv(tmp / "ref.csv", index=False)
    cur.to_csv(tmp / "cur.csv", index=False)
    out = subprocess.run([python, "-c", EVIDENTLY, str(tmp / "ref.csv"), str(tmp / "cur.csv"), str(repeat)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise SystemExit(f"Evidently failed (see the venv recipe in this file's docstring):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidently-python", default="/tmp/aimod-evidently/bin/python")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat against bare scipy tests (the suite)")
    args = parser.parse_args()
    if args.quick:
        for name, (ref, cur) in datasets().items():
            a, b = ours(ref, cur, 1), bare_scipy(ref, cur, 1)
            print(f"{name:>5}: aimod {a['seconds']:.3f} s {a['verdict']} {a['drifted']} | bare scipy "
                  f"{b['seconds']:.3f} s {b['drifted']} | time ratio aimod/scipy {a['seconds'] / b['seconds']:.2f}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, (ref, cur) in datasets().items():
            a, b = ours(ref, cur, args.repeat), evidently(args.evidently_python, ref, cur, args.repeat, Path(tmp))
            print(f"{name:>5}: aimod {a['seconds']:.3f} s {a['verdict']} {a['drifted']} | evidently "
                  f"{b['seconds']:.3f} s {b['drifted']} | time ratio aimod/evidently {a['seconds'] / b['seconds']:.2f}")


if __name__ == "__main__":
    main()
