"""dags/aimod_profiling.py in real Airflow (dag.test), offline engine, on SQLite and on Postgres.

The warehouse is a copy of the demo's with 300 extra orders on 2024-06-15
(``demo.anomalies.with_order_spike``). The profiler judges the orders table normal (no
NULLs, unique ids) either way. Over January–March the detector agrees (normal) and the run
ends without a person; over April–June it flags the spike, the rule ``profile_vs_detector``
sees a conflict, and ``arbitrate`` waits for a person, who answers through Airflow's own REST
API (``PATCH .../hitlDetails``, the api-server app in process on the same metadata DB); the DAG
follows the choice.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_aimod.demo.anomalies import with_order_spike
from tests.conftest import REPO
from tests.pg import warehouse_copy

pytestmark = pytest.mark.airflow
CLEAN = {"table": "orders", "start": "2024-01-01", "end": "2024-04-01"}
SPIKE = {"table": "orders", "start": "2024-04-01", "end": "2024-07-01"}
REVIEWER = {"steward": "steward-pw-1"}


@pytest.fixture(scope="module")
def profiling_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("aimod_profiling")


@pytest.fixture(scope="module")
def spiked(warehouse, tmp_path_factory):
    return with_order_spike(warehouse, tmp_path_factory.mktemp("spike") / "spiked.db", day="2024-06-15")


def sqlite_conn(path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


def xcoms(dag, run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return {r.task_id: r.value for r in session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")}


def states(run) -> dict:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def assert_agreement_without_a_person(dag, conf):
    run = dag.test(run_conf=conf)
    assert states(run) == {"profile_orders": "success", "daily_orders": "success", "arbitrate": "success",
                           "publish": "success", "investigate": "skipped"}
    out = xcoms(dag, run)
    judged = out["arbitrate"]
    assert (judged["outcome"], judged["verdict"], judged["decided_by"]) == ("agree", "normal", "rule")
    return out


def check_profile(profile):
    assert (profile["table"], profile["row_count"], profile["sampled"]) == ("orders", 20300, False)  # 20000 + 300
    by_name = {c["name"]: c for c in profile["columns"]}
    assert by_name["id"]["unique"] and by_name["id"]["distinct_count"] == 20300
    assert by_name["order_date"]["inferred_type"] == "date" and by_name["order_date"]["max"] == "2024-12-31"
    assert by_name["status"]["distinct_count"] == 5 and by_name["total_amount"]["inferred_type"] == "float"


def test_agreement_on_sqlite_continues_without_a_person(profiling_dag, spiked, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", sqlite_conn(spiked))
    out = assert_agreement_without_a_person(profiling_dag, CLEAN)
    check_profile(out["profile_orders"]["result"]["profile"])
    assert out["profile_orders"]["result"]["assessment"]["verdict"] == "normal"
    assert out["publish"] == {"verdict": "normal", "decided_by": "rule"}


@pytest.mark.postgres
def test_the_same_agreement_on_postgres(profiling_dag, spiked, monkeypatch):
    with warehouse_copy(spiked, "aimod_test_profiler") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        out = assert_agreement_without_a_person(profiling_dag, CLEAN)
    profile = out["profile_orders"]["result"]["profile"]
    check_profile(profile)
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", sqlite_conn(spiked))
    lite = xcoms(profiling_dag, profiling_dag.test(run_conf=CLEAN))["profile_orders"]["result"]["profile"]
    same = ("name", "inferred_type", "null_count", "distinct_count", "min", "max", "mean", "quantiles")
    assert [{k: c[k] for k in same} for c in profile["columns"]] == [{k: c[k] for k in same} for c in lite["columns"]]


class Reviewer(threading.Thread):
    """A person on Required Actions: waits until ``arbitrate`` is parked, reads the request, chooses a verdict
    through Airflow's REST API (the api-server app, in process, on the same metadata DB)."""

    def __init__(self, dag_id: str, choice: str, timeout_s: float = 180.0) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.choice, self.timeout_s = dag_id, choice, timeout_s
        self.detail: dict = {}
        self.response: dict = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._review()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _review(self) -> None:
        from fastapi.testclient import TestClient

        from airflow.api_fastapi.app import create_app

        run_id = self._parked_run()
        with TestClient(create_app("core")) as client:
            login = client.post("/auth/token", json={"username": "steward", "password": REVIEWER["steward"]})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            path = f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/arbitrate/-1/hitlDetails"
            self.detail = client.get(path, headers=auth).json()
            answer = client.patch(path, headers=auth, json={"chosen_options": [self.choice], "params_input": {}})
            self.response = {"status": answer.status_code, **answer.json()}

    def _parked_run(self) -> str:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = session.query(TaskInstance).filter(
                    TaskInstance.dag_id == self.dag_id, TaskInstance.task_id == "arbitrate",
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT).one_or_none()
                if ti is not None:
                    return ti.run_id
            time.sleep(0.5)
        raise TimeoutError(f"arbitrate never waited for a person within {self.timeout_s:g} s")


@pytest.fixture()
def reviewer_login(tmp_path, monkeypatch):
    """A simple-auth-manager user ``steward`` with a known password, and a JWT secret for its tokens."""
    (tmp_path / "passwords.json").write_text(json.dumps(REVIEWER))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "steward:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(tmp_path / "passwords.json"))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "aimod-test-secret-" + "0123456789abcdef" * 4)


def test_a_conflict_waits_for_a_person_and_the_dag_follows_the_choice(profiling_dag, spiked, monkeypatch,
                                                                       reviewer_login):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", sqlite_conn(spiked))
    reviewer = Reviewer(profiling_dag.dag_id, "anomalous")
    reviewer.start()
    run = profiling_dag.test(run_conf=SPIKE)  # returns once the person has answered and the branch has run
    reviewer.join(timeout=30)
    assert reviewer.error is None, reviewer.error
    assert "data_profiler says normal but anomaly_detector says anomalous" in reviewer.detail["subject"]
    assert reviewer.detail["options"] == ["normal", "anomalous"] and reviewer.detail["defaults"] == ["anomalous"]
    assert "profile_orders" in reviewer.detail["body"] and "daily_orders" in reviewer.detail["body"]
    assert reviewer.response["status"] == 200 and reviewer.response["chosen_options"] == ["anomalous"]
    assert states(run) == {"profile_orders": "success", "daily_orders": "success", "arbitrate": "success",
                           "investigate": "success", "publish": "skipped"}
    out = xcoms(profiling_dag, run)
    judged = out["arbitrate"]
    assert (judged["outcome"], judged["verdict"], judged["decided_by"]) == ("arbitrate", "anomalous", "steward")
    assert judged["left"]["verdict"] == "normal" and judged["right"]["verdict"] == "anomalous"
    assert "2024-06-15T00:00:00" in out["investigate"]["findings"]


def test_the_operator_validates_at_parse_time_and_pins_its_template_fields():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.base import AgentOperator
    from airflow_aimod.operators.profiler import DataProfilerOperator

    assert DataProfilerOperator.template_fields == (*AgentOperator.template_fields, "table", "request", "conn_id")
    op = DataProfilerOperator(task_id="p", conn_id="w", request="profile the orders table",
                              pii_tables=["customers"], thresholds={"max_null_rate": 0.1})
    assert op.spec.name == "data_profiler" and op.spec.call_timeout_s == 30.0
    assert op.envelope.sql.pii_tables == frozenset({"customers"}) and op.thresholds["max_null_rate"] == 0.1
    assert op.request_text() == "profile the orders table"
    assert DataProfilerOperator(task_id="q", conn_id="w", table="orders").request_text() == "Profile the orders table"
    for kwargs, message in [({}, "exactly one of table"), ({"table": "a", "request": "b"}, "exactly one of table"),
                            ({"table": "a", "sample_rows": 0}, "sample_rows must be an integer >= 1"),
                            ({"table": "a", "thresholds": {"max_null": 1}}, "unknown threshold"),
                            ({"table": "a", "thresholds": {"max_null_rate": 2}}, "share between 0 and 1"),
                            ({"table": "a", "columns": "id"}, "columns must be a list"),
                            ({"table": "a", "pii_columns": ["email"]}, "must be written 'table.column'")]:
        with pytest.raises(ConfigurationError, match=message):
            DataProfilerOperator(task_id="x", conn_id="w", **kwargs)


def test_the_dag_file_parses_without_loading_an_llm_sdk():
    import subprocess
    import sys

    code = ("import sys, json, runpy\nrunpy.run_path('dags/aimod_profiling.py')\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'langchain_core', 'langgraph', 'openai', 'great_expectations', 'sqlglot'})))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
