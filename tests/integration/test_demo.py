"""``aimod demo`` end to end, as the README's demo command runs it (one request, to keep it short).

The demo ends with one approval: a PII request waits under ``airflow dags test`` and a named
reviewer approves it through an api-server's REST API; the approved query's row count is checked
against the warehouse.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


def run_demo(args: list[str], timeout: float = 840) -> subprocess.CompletedProcess:
    """Run ``aimod demo``; on a timeout interrupt it (SIGINT) so it stops the processes it started."""
    proc = subprocess.Popen([sys.executable, "-m", "airflow_aimod.cli", "demo", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        pytest.fail(f"aimod demo took over {timeout:.0f}s:\n{out[-3000:]}\n{err[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_demo_answers_a_request_and_finds_the_injected_spike(tmp_path):
    proc = run_demo(["--workdir", str(tmp_path / "demo"), "--request", "How many orders were placed in 2024?"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "1 requests: 1 dispatched to an agent" in out and "all runs succeeded" in out
    assert "status     : answered" in out
    spike = next(line for line in out.splitlines() if line.strip().startswith("whole_series"))
    assert "anomalous" in spike and "2024-06-15 (327)" in spike
    assert "arbitration      : agree -> anomalous (decided by rule)" in out
    assert "investigate=success" in out and "publish=skipped" in out
    approved = next(line for line in out.splitlines() if line.strip().startswith("approved   :"))
    assert "['Approve'] by Data steward (user reviewer) through the REST API" in approved
    block = out[out.index("[approval]"):]
    sql = re.search(r"sql        : (.+)", block).group(1)
    rows = int(re.search(r"answered - (\d+) row\(s\) from the approved query; agent recorded approve by reviewer",
                         block).group(1))
    expected = len(sqlite3.connect(tmp_path / "demo" / "warehouse.db").execute(sql).fetchall())
    assert "email" in sql.lower() and rows == expected > 0
    assert "dag run    : success" in block
