"""AgentApprovalSensor end to end: api-server, scheduler, dag-processor and triggerer on Postgres.

``dags/aimod_approval_wait.py`` runs four times at once: in each run the SQL agent asks on
Required Actions (``awaiting_input``) and ``wait_for_approval`` waits beside it on the triggerer
(``deferred``) — eight waiting tasks with ``parallelism=2``, so none holds a worker slot. The
triggerer and the scheduler are restarted while all of them wait; then every request is answered
through ``PATCH .../hitlDetails`` (after the agent is parked and its worker gone, see
ARCHITECTURE.md) and every task finishes: no answer lost, none applied twice, one LLM call per run.
The pure translation of the trigger's reads and events is tested first, without Airflow processes.
"""

from __future__ import annotations

import json

import httpx
import pytest

from airflow_aimod.core.approval import ApprovalRequest, EditableField

from tests.support.stack import AirflowStack, count_events
from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.core.approval import APPROVE_LABEL as APPROVE, REJECT_LABEL as REJECT
from airflow_aimod.sensors.approval import AgentApprovalSensor, decision_of
from airflow_aimod.triggers.approval import AgentApprovalTrigger, decide
from tests.conftest import REPO
from tests.pg import throwaway_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(900)]

DAG_ID, AGENT, SENSOR = "aimod_approval_wait", "sql_agent", "wait_for_approval"
USERS = {"reviewer": "reviewer-pw-1"}
EDITED = "SELECT count(*) AS n FROM customers WHERE country = 'Germany'"
ANSWERS = {"approve-1": ([APPROVE], {}), "approve-2": ([APPROVE], {}), "edit": ([APPROVE], {"sql": EDITED}),
           "reject": ([REJECT], {})}  # run id -> what the reviewer answers
SQL_REQUEST = ApprovalRequest(agent="sql_agent", action="sql.read", action_id="sql-1", trace_id="t-1",
                              subject="sql_agent: approve a query on customers?", body="**Proposed SQL:** ...",
                              editable=(EditableField("sql", "SELECT email FROM customers"),))
REQUEST = {"ti_id": "0199a1b2-0000-7000-8000-000000000001", "action_id": "sql-1", "trace_id": "t-1",
           "subject": SQL_REQUEST.subject, "request": SQL_REQUEST.to_payload()}


# -- the pure pieces -------------------------------------------------------------------------

def test_the_trigger_waits_until_the_request_is_answered():
    unanswered = {"response_received": False, "chosen_options": None, "responded_by_user": None}
    assert decide("running", None, None) is None  # not asked yet
    assert decide("awaiting_input", REQUEST, unanswered) is None
    answered = {"response_received": True, "chosen_options": [APPROVE], "params_input": {"sql": "SELECT 1"},
                "responded_by_user": {"id": "reviewer", "name": "Data steward"}, "responded_at": "2026-01-01T10:00:00Z"}
    event = decide("awaiting_input", REQUEST, answered)
    assert event["status"] == "answered" and event["request"] == REQUEST and not event["timedout"]
    assert json.loads(json.dumps(event)) == event  # a trigger event crosses processes as JSON
    assert decide("success", None, None) == {"status": "not_asked", "task_state": "success"}


def test_events_become_decisions_and_anything_odd_is_a_rejection():
    approved = {"status": "answered", "request": REQUEST, "chosen_options": [APPROVE], "timedout": False,
                "params_input": {"sql": "SELECT email\n FROM customers"},
                "responded_by_user": {"id": "reviewer", "name": "Data steward"}, "responded_at": "x"}
    result = decision_of(approved, AGENT)
    assert (result["decision"], result["reviewer"], result["action_id"]) == ("approve", "Data steward", "sql-1")
    edited = decision_of({**approved, "params_input": {"sql": EDITED}}, AGENT)
    assert edited["decision"] == "edit" and edited["sql"] == EDITED
    timed_out = decision_of({**approved, "chosen_options": [REJECT], "responded_by_user": None, "timedout": True},
                            AGENT)
    assert (timed_out["decision"], timed_out["reviewer"], timed_out["timed_out"]) == ("reject", "timeout", True)
    assert decision_of({**approved, "chosen_options": ["Maybe"]}, AGENT)["decision"] == "reject"


class PushedXCom:
    """Just enough task instance for ``execute_complete`` outside a worker: it records what is pushed."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def test_a_rejection_fails_after_pushing_the_decision_and_odd_endings_fail_or_skip():
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    rejected = {"status": "answered", "request": REQUEST, "chosen_options": [REJECT], "timedout": False,
                "responded_by_user": {"id": "reviewer", "name": "Data steward"}, "responded_at": "x"}
    ti = PushedXCom()
    with pytest.raises(AirflowFailException, match="rejected by Data steward"):
        AgentApprovalSensor(task_id="w", approval_task_id=AGENT).execute_complete({"ti": ti}, rejected)
    assert ti.pushed["return_value"]["decision"] == "reject"
    lenient = AgentApprovalSensor(task_id="w", approval_task_id=AGENT, fail_on_reject=False)
    assert lenient.execute_complete({"ti": PushedXCom()}, rejected)["reviewer"] == "Data steward"
    not_asked = {"status": "not_asked", "task_state": "success", "agent_status": "answered"}
    assert lenient.execute_complete({"ti": PushedXCom()}, not_asked)["decision"] == "not_asked"
    with pytest.raises(AirflowFailException, match="hitl=True"):
        lenient.execute_complete({"ti": PushedXCom()}, {**not_asked, "agent_status": "needs_approval"})
    with pytest.raises(AirflowFailException, match="ended failed"):
        lenient.execute_complete({"ti": PushedXCom()}, {**not_asked, "task_state": "failed"})
    with pytest.raises(AirflowSkipException):
        lenient.execute_complete({"ti": PushedXCom()}, {**not_asked, "task_state": "skipped"})


def test_the_trigger_round_trips_through_serialize_with_primitives_only():
    trigger = AgentApprovalTrigger(dag_id="d", run_id="manual__1", approval_task_id=AGENT, map_index=3,
                                   poke_interval=2)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_aimod.triggers.approval.AgentApprovalTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert AgentApprovalTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_the_sensor_refuses_settings_it_cannot_honour():
    with pytest.raises(ConfigurationError, match="always defers"):
        AgentApprovalSensor(task_id="w", approval_task_id=AGENT, deferrable=False)
    with pytest.raises(ConfigurationError, match="own task id"):
        AgentApprovalSensor(task_id="w", approval_task_id="w")
    with pytest.raises(ConfigurationError, match="map_index"):
        AgentApprovalSensor(task_id="w", approval_task_id=AGENT, map_index=-2)
    sensor = AgentApprovalSensor(task_id="w", approval_task_id=AGENT)
    assert "approval_task_id" in sensor.template_fields and sensor.poke_interval == 5


# -- the stack ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-sensor")
    with throwaway_database("aimod_e2e_sensor") as metadata, throwaway_database("aimod_ckpt_sensor") as checkpoints:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=REPO / "dags", users=USERS,
                               components=("api-server", "scheduler", "dag-processor", "triggerer"),
                               env={"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints, **log_server_ports(),
                                    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"})  # only ours runs
        try:
            airflow.start(timeout=400)  # a busy machine: the api-server can take minutes to come up
            airflow.wait_for(lambda: api(airflow, "GET", f"/dags/{DAG_ID}").status_code == 200, timeout=180,
                             what=f"the dag-processor to parse {DAG_ID}", every=2)
            assert api(airflow, "PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).status_code == 200
            for run_id in ANSWERS:
                resp = api(airflow, "POST", f"/dags/{DAG_ID}/dagRuns",
                           json={"dag_run_id": run_id, "logical_date": None, "conf": {}})
                assert resp.status_code == 200, resp.text
            yield airflow
        finally:
            airflow.stop()


def api(stack: AirflowStack, method: str, path: str, **kwargs) -> httpx.Response:
    """Call the REST API as the reviewer; a GET that times out (a starved api-server) answers 504."""
    try:
        return stack.api(method, path, user="reviewer", timeout=120, **kwargs)
    except httpx.TimeoutException:
        if method != "GET":
            raise
        return httpx.Response(504)


def log_server_ports() -> dict[str, str]:
    """Free ports for the worker and triggerer log servers (other stacks on this machine use the defaults)."""
    import socket

    def free() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return str(sock.getsockname()[1])

    return {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": free(), "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": free()}


def ti_path(run_id: str, task_id: str) -> str:
    return f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}"


def states(stack: AirflowStack) -> dict[tuple[str, str], str]:
    """(run id, task id) -> state of every task instance of the DAG, in one call (the machine is busy)."""
    resp = api(stack, "GET", f"/dags/{DAG_ID}/dagRuns/~/taskInstances", params={"limit": 100})
    if resp.status_code != 200:
        return {}
    return {(ti["dag_run_id"], ti["task_id"]): ti["state"] for ti in resp.json().get("task_instances", [])}


def all_waiting(stack: AirflowStack) -> bool:
    now = states(stack)
    return all(now.get((run, AGENT)) == "awaiting_input" and now.get((run, SENSOR)) == "deferred"
               for run in ANSWERS) and all(stack.worker_exited(DAG_ID, run, AGENT) for run in ANSWERS)


def wait_until_all_wait(stack: AirflowStack, what: str) -> None:
    stack.wait_for(lambda: all_waiting(stack), timeout=360, what=what, every=3)


def all_finished(stack: AirflowStack) -> dict[tuple[str, str], str]:
    done = ("success", "failed", "skipped", "upstream_failed")
    now = states(stack)
    expected = [(run, task) for run in ANSWERS for task in (AGENT, SENSOR, "approved")]
    return now if all(now.get(key) in done for key in expected) else {}


def xcom(stack: AirflowStack, run_id: str, task_id: str, key: str = "return_value"):
    resp = api(stack, "GET", f"{ti_path(run_id, task_id)}/xcomEntries/{key}")
    assert resp.status_code == 200, resp.text
    return resp.json()["value"]


def events(stack: AirflowStack, run_id: str) -> list[dict]:
    return stack.agent_events(DAG_ID, run_id, AGENT)


def test_each_sensor_waits_deferred_beside_its_parked_agent(stack):
    wait_until_all_wait(stack, "4 agents parked and 4 sensors deferred")
    # eight waiting tasks with parallelism=2: neither the HITL request nor the sensor holds a worker slot
    now = states(stack)
    assert [now[(run, AGENT)] for run in ANSWERS] == ["awaiting_input"] * 4
    assert [now[(run, SENSOR)] for run in ANSWERS] == ["deferred"] * 4
    request = xcom(stack, "approve-1", AGENT, "aimod_approval")
    hitl = api(stack, "GET", f"{ti_path('approve-1', AGENT)}/-1/hitlDetails").json()
    assert request["ti_id"] == hitl["task_instance"]["id"] and request["subject"] == hitl["subject"]
    proposed = {f.name: f.value for f in ApprovalRequest.from_payload(request["request"]).editable}
    assert "email" in proposed["sql"].lower()


def test_restarting_the_triggerer_and_the_scheduler_loses_no_waiting_task(stack):
    wait_until_all_wait(stack, "every task waiting")
    stack.restart("triggerer")
    stack.restart("scheduler")
    now = states(stack)
    for run in ANSWERS:
        detail = api(stack, "GET", f"{ti_path(run, AGENT)}/-1/hitlDetails").json()
        assert not detail["response_received"]
        assert (now[(run, AGENT)], now[(run, SENSOR)]) == ("awaiting_input", "deferred")


def test_every_answer_reaches_its_agent_and_its_sensor_exactly_once(stack, warehouse):
    import sqlite3

    wait_until_all_wait(stack, "every task waiting after the restarts")
    for run, (options, params) in ANSWERS.items():
        resp = api(stack, "PATCH", f"{ti_path(run, AGENT)}/-1/hitlDetails",
                         json={"chosen_options": options, "params_input": params})
        assert resp.status_code == 200, resp.text
    now = stack.wait_for(lambda: all_finished(stack), timeout=360, what="every task to finish", every=3)
    expected_germany = sqlite3.connect(warehouse).execute(EDITED).fetchone()[0]
    for run in ANSWERS:
        decision, outcome, found = xcom(stack, run, SENSOR), xcom(stack, run, AGENT), events(stack, run)
        assert now[(run, AGENT)] == "success"
        assert count_events(found, "llm_call", "chat") == 1 and outcome["token_usage"]["llm_calls"] == 1  # 0 extra calls
        assert stack.task_log(DAG_ID, run, AGENT).count("waiting for a person") == 1  # asked once
        assert stack.task_log(DAG_ID, run, SENSOR).count("decision on sql_agent: ") == 1  # answered once
        assert decision["reviewer"] == "reviewer" and decision["action_id"] == outcome["approvals"][0]["action_id"]
        assert decision["decision"] == outcome["approvals"][0]["decision"]
        if run == "reject":
            assert (now[(run, SENSOR)], now[(run, "approved")]) == ("failed", "upstream_failed")
            assert decision["decision"] == "reject" and outcome["status"] == "rejected"
            assert count_events(found, "tool_call", "sql.read") == 0
        else:
            assert (now[(run, SENSOR)], now[(run, "approved")]) == ("success", "success")
            assert outcome["status"] == "answered" and count_events(found, "tool_call", "sql.read") == 1
        if run == "edit":
            assert decision["decision"] == "edit" and decision["sql"] == EDITED
            assert outcome["result"]["rows"] == [[expected_germany]]
    assert api(stack, "PATCH", f"{ti_path('approve-1', AGENT)}/-1/hitlDetails",
                     json={"chosen_options": [REJECT]}).status_code == 409


def test_stopping_the_stack_leaves_no_process_behind(stack):
    stack.stop()
    assert stack.stray_pids() == []
