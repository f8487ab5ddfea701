"""dags/aimod_summaries.py under dag.test(): the anomaly outcome summarized for a stakeholder, checked claim by claim."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import example_dag

pytestmark = pytest.mark.airflow


def xcom(dag, run, task_id):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == task_id, XComModel.key == "return_value").one()
    return row.value


def test_the_summary_of_a_real_run_is_faithful_to_the_upstream_outcome(airflow_db):
    from airflow_aimod.core.summaries import FaithfulnessChecker, source_text

    dag = example_dag("aimod_summaries")
    run = dag.test(run_conf={"note": "The spike came after the 09:00 marketing e-mail."})
    assert str(run.state) == "success"
    upstream, brief = xcom(dag, run, "orders_check"), xcom(dag, run, "brief")
    result = brief["result"]
    assert brief["status"] == "answered" and result["faithful"] and 0 < result["words"] <= 60
    assert "410" in result["summary"]  # the flagged value, taken from the detector's outcome
    source = source_text("The spike came after the 09:00 marketing e-mail.") + "\n" + source_text(upstream)
    assert FaithfulnessChecker().check(source, result["summary"]).faithful


def test_the_cli_checks_a_summary_and_names_the_changed_number(tmp_path):
    (tmp_path / "src.json").write_text(json.dumps({"rows_loaded": 1284311, "failed_tasks": 3}))
    (tmp_path / "ok.txt").write_text("About 1.28 million rows were loaded; 3 tasks failed.")
    (tmp_path / "bad.txt").write_text("About 1.38 million rows were loaded; 3 tasks failed.")
    cli = [sys.executable, "-m", "airflow_aimod.cli", "summarize", "--check", "--source", str(tmp_path / "src.json")]
    ok = subprocess.run([*cli, "--summary", str(tmp_path / "ok.txt")], capture_output=True, text=True)
    bad = subprocess.run([*cli, "--summary", str(tmp_path / "bad.txt")], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["faithful"] is True
    out = json.loads(bad.stdout)
    assert bad.returncode == 1 and out["faithful"] is False
    assert [u["text"] for u in out["unsupported"]] == ["1.38 million"]
    made = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", "summarize", "--source",
                           str(tmp_path / "src.json"), "--max-words", "12"], capture_output=True, text=True)
    assert made.returncode == 0 and set(json.loads(made.stdout)) == {"summary", "faithful", "unsupported"}
