"""``aimod plan``: the coordinator's plan as JSON, nothing run (offline engine, no Airflow loaded)."""

from __future__ import annotations

import json
import subprocess
import sys


def plan(text: str, *extra: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", "plan", *extra, text], capture_output=True,
                          text=True)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}


def test_plan_prints_steps_with_dependencies_and_unsupported_steps():
    code, out = plan("count orders by status; then profile the customers table; finally bake a cake")
    assert code == 0 and out["decision"] == "unsupported"
    assert [(s["id"], s["agent"], s["depends_on"]) for s in out["steps"]] == [
        ("s1", "sql_agent", []), ("s2", "data_profiler", ["s1"]), ("s3", None, ["s2"])]
    assert {"id", "agent", "request", "depends_on", "confidence"} <= set(out["steps"][0])
    assert "bake a cake" in out["reason"]
    code, bad = plan("count orders", "--max-steps", "0")
    assert code != 0 and "max_steps" in bad["stderr"] and "Traceback" not in bad["stderr"]
