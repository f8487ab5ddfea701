"""``aimod demo`` end to end, as the README's demo command runs it (one request, to keep it short)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.airflow


def test_demo_answers_a_request_and_finds_the_injected_spike(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", "demo", "--workdir", str(tmp_path / "demo"),
                           "--request", "How many orders were placed in 2024?"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "1 requests: 1 dispatched to an agent" in out and "all runs succeeded" in out
    assert "status     : answered" in out
    spike = next(line for line in out.splitlines() if line.strip().startswith("whole_series"))
    assert "anomalous" in spike and "2024-06-15 (327)" in spike
    assert "arbitration      : agree -> anomalous (decided by rule)" in out
    assert "investigate=success" in out and "publish=skipped" in out
