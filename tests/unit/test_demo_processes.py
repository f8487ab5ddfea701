"""The demo's pid record: what an interrupted demo left running is stopped, a recycled pid never is."""

from __future__ import annotations

import json
import sys

from airflow_aimod.demo.processes import ProcessRecord, loopback_env

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_reap_stops_a_recorded_process_group_and_empties_the_record(tmp_path):
    record = ProcessRecord(tmp_path / "pids.json")
    with open(tmp_path / "log", "wb") as log:
        proc = record.spawn("sleeper", SLEEPER, env={}, log=log, die_with_parent=False)
    assert set(json.loads((tmp_path / "pids.json").read_text())) == {"sleeper"}
    assert ProcessRecord(tmp_path / "pids.json").reap(grace=4) == ["sleeper"]  # a new demo's own reader
    assert proc.wait(timeout=10) is not None
    assert json.loads((tmp_path / "pids.json").read_text()) == {}


def test_a_pid_that_now_belongs_to_another_process_is_left_alone(tmp_path):
    record = ProcessRecord(tmp_path / "pids.json")
    with open(tmp_path / "log", "wb") as log:
        proc = record.spawn("sleeper", SLEEPER, env={}, log=log, die_with_parent=False)
    try:
        entries = json.loads((tmp_path / "pids.json").read_text())
        entries["sleeper"]["started"] = "1"  # as if the recorded process died and its pid was reused
        (tmp_path / "pids.json").write_text(json.dumps(entries))
        assert record.reap(grace=1) == [] and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_loopback_is_added_to_no_proxy_without_dropping_what_was_there():
    env = loopback_env({"NO_PROXY": "internal.example", "HTTP_PROXY": "http://proxy:3128"})
    assert env["NO_PROXY"] == "internal.example,127.0.0.1,localhost" and env["no_proxy"] == "127.0.0.1,localhost"
    assert env["HTTP_PROXY"] == "http://proxy:3128"
