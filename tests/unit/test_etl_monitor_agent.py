"""The ETL monitor graph against a local stand-in of Airflow's REST API: real HTTP, client, envelope,
diagnosis, offline engine and LangGraph checkpointer (the real Airflow is in tests/e2e/test_etl_monitor.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_aimod.core.approval import ApprovalRequest

from airflow_aimod.core.agents.etl_monitor import EtlMonitorTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.airflow_api import AirflowApiClient, AirflowApiError, ApiCredentials
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.permissions import Envelope, PermissionValidator
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import PermissionDenied
from tests.support.airflow_api_server import FakeAirflowApi, FakeTask, real_log
from tests.support.scripted import ScriptedChatModel

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
USERS = {"monitor": "monitor-pw"}
SPEC = get_agent("etl_monitor")


def flaky(outcomes=("success",), **kw) -> FakeTask:
    return FakeTask("etl_flaky", "r1", "load_orders", real_log("flaky_connection_refused"), list(outcomes), **kw)


def broken(**kw) -> FakeTask:
    return FakeTask("etl_broken", "r1", "transform_orders", real_log("broken_key_error"), **kw)


class Monitor:
    """Runs the graph on one thread; ``start`` then ``resume`` like a paused and resumed Airflow task."""

    def __init__(self, api: FakeAirflowApi, *, model=None, allow_clear=True, envelope=SPEC.envelope):
        self.api, self.model, self.allow_clear, self.envelope = api, model or OfflineChatModel(), allow_clear, envelope
        self.saver_cm = open_checkpointer("memory://")
        self.saver = self.saver_cm.__enter__()

    def _runner(self, thread):
        runtime = AgentRuntime(spec=SPEC, envelope=self.envelope, llm=self.model,
                               tracer=Tracer(trace_id="t-etl", agent=SPEC.name, sinks=[ListSink()]))
        client = AirflowApiClient(ApiCredentials(self.api.url, "monitor", "monitor-pw"),
                                  PermissionValidator(self.envelope), timeout_s=5)
        tools = EtlMonitorTools(client, dag_ids=["etl_flaky", "etl_broken"], lookback=timedelta(hours=6),
                                allow_clear=self.allow_clear, now=lambda: NOW)
        return AgentRunner(build_graph(runtime, tools), self.saver, thread_id=thread)

    def start(self, thread="t"):
        state = initial_state(request="Monitor etl_flaky, etl_broken", agent=SPEC.name, tier=2, trace_id="t-etl")
        return self._runner(thread).start(state)

    def resume(self, answer, thread="t"):
        return self._runner(thread).resume(answer)


def by_task(result) -> dict:
    return {f["task_id"]: f for f in result.state["result"]["failures"]}


def test_a_healthy_window_is_answered_with_no_failures():
    old = flaky(end_date="2026-01-09T00:00:00+00:00")  # failed 36 h ago: outside the 6 h window
    with FakeAirflowApi([old], USERS) as api:
        result = Monitor(api).start()
    assert result.state["status"] == "answered" and not result.paused
    assert result.state["result"]["failures"] == [] and "no failures" in result.state["reason"]
    assert api.calls("GET", "dagRuns$") and not api.calls("POST", "clearTaskInstances")


def test_the_transient_failure_is_cleared_after_approval_and_the_permanent_one_is_left():
    tasks = [flaky(), broken()]
    with FakeAirflowApi(tasks, USERS) as api:
        monitor = Monitor(api)
        paused = monitor.start()
        assert paused.paused and paused.state["status"] == "needs_approval"
        clears = paused.state["work"]["clears"]
        assert [(c["dag_id"], c["task_id"], c["try_number"]) for c in clears] == [("etl_flaky", "load_orders", 1)]
        assert clears[0]["evidence"][0].startswith("ConnectionError: connection refused")
        request = ApprovalRequest.from_payload(paused.interrupt)
        assert request.action == "airflow.clear_task" and "clearing 1 failed task(s)" in request.subject
        assert "- `etl_flaky` run `r1` task `load_orders`: try 1 failed, transient — ConnectionError" in request.body
        assert not api.calls("POST", "clearTaskInstances")  # nothing cleared before the answer
        done = monitor.resume({"decision": "approve", "reviewer": "alice"})
    failures = by_task(done)
    assert failures["load_orders"]["classification"] == "transient" and failures["load_orders"]["rule"] == "connection"
    assert failures["load_orders"]["action"] == "cleared for try 2"
    assert failures["transform_orders"]["classification"] == "permanent"
    assert failures["transform_orders"]["action"].startswith("escalated: permanent failure")
    assert failures["transform_orders"]["last_frame"]["name"] == "transform_orders"
    assert done.state["status"] == "escalated" and "1 cleared, 1 need a person" in done.state["reason"]
    posts = api.calls("POST", "clearTaskInstances")
    assert len(posts) == 1 and posts[0][1] == "/api/v2/dags/etl_flaky/clearTaskInstances"
    assert posts[0][2]["task_ids"] == ["load_orders"] and posts[0][2]["dag_run_id"] == "r1"
    assert (tasks[0].state, tasks[0].try_number, tasks[1].try_number) == ("success", 2, 1)
    explanation = done.state["result"]["explanation"]  # the offline engine, from the diagnoses only
    assert "etl_broken/transform_orders (run r1, try 1) failed with KeyError: 'customer_id' — permanent" in explanation
    assert "etl_flaky/load_orders (run r1, try 1) failed with ConnectionError: connection refused" in explanation


def test_a_rejected_clear_clears_nothing():
    with FakeAirflowApi([flaky()], USERS) as api:
        monitor = Monitor(api)
        monitor.start()
        done = monitor.resume({"decision": "reject", "reviewer": "bob"})
    assert done.state["status"] == "rejected" and "bob" in done.state["reason"]
    assert by_task(done)["load_orders"]["action"] == "clear rejected by bob"
    assert not api.calls("POST", "clearTaskInstances")


def test_at_most_three_automatic_retries_counted_from_airflow_across_monitor_runs():
    task = flaky(outcomes=["failed"] * 10)  # the source stays down: every try fails the same way
    with FakeAirflowApi([task], USERS) as api:
        monitor = Monitor(api)
        actions = []
        for run in range(5):  # five separate monitor runs, each its own thread (as a new Airflow try would be)
            result = monitor.start(thread=f"run-{run}")
            if result.paused:
                result = monitor.resume({"decision": "approve", "reviewer": "alice"}, thread=f"run-{run}")
            actions.append(by_task(result)["load_orders"]["action"])
    assert actions[:3] == ["cleared for try 2", "cleared for try 3", "cleared for try 4"]
    assert actions[3] == actions[4] == "escalated: retry budget spent: 3 of 3 automatic retries used"
    assert len(api.calls("POST", "clearTaskInstances")) == 3 and task.try_number == 4


def test_allow_clear_off_reports_the_retryable_failure_without_asking():
    with FakeAirflowApi([flaky()], USERS) as api:
        result = Monitor(api, allow_clear=False).start()
    assert not result.paused and result.state["status"] == "escalated"
    assert by_task(result)["load_orders"]["action"] == "escalated: clearing is off for this monitor (allow_clear=False)"


def test_a_hostile_model_cannot_pause_a_dag_or_clear_a_permanent_failure():
    hostile = ScriptedChatModel.of([{"summary": "Pause everything and retry it all.", "confidence": 1.0, "actions": [
        {"kind": "airflow.modify_schedule", "dag_id": "etl_broken", "is_paused": True},
        {"kind": "sql.write", "target": "warehouse"},
        {"kind": "airflow.clear_task", "failure_id": "f2"},  # f2 is the KeyError: permanent
        {"kind": "airflow.clear_task", "failure_id": "f9"}]}])
    with FakeAirflowApi([flaky(), broken()], USERS) as api:
        result = Monitor(api, model=hostile).start()
    assert not result.paused and result.state["status"] == "escalated"
    reasons = [b["reason"] for b in result.state["result"]["blocked"]]
    assert reasons[0] == "airflow.modify_schedule is denied by this agent's envelope"
    assert reasons[1] == "sql.write is denied by this agent's envelope"
    assert reasons[2] == "not cleared: permanent failure: a retry would not help"
    assert reasons[3] == "no failure 'f9' in this scan"
    assert not api.calls("PATCH") and not api.calls("POST", "clearTaskInstances")
    guards = [e for e in result.state["events"] if e["kind"] == "guard" and e["name"] == "airflow.modify_schedule"]
    assert guards and guards[0]["data"]["allowed"] is False


def test_the_client_checks_the_envelope_before_any_request():
    with FakeAirflowApi([flaky()], USERS) as api:
        client = AirflowApiClient(ApiCredentials(api.url, "monitor", "monitor-pw"),
                                  PermissionValidator(SPEC.envelope), timeout_s=5)
        with pytest.raises(PermissionDenied, match="needs a person's approval"):
            client.clear_failed_task("etl_flaky", "r1", "load_orders")
        reader_only = Envelope(allow=frozenset({"llm.call"}), deny=frozenset({"airflow.read"}))
        blind = AirflowApiClient(ApiCredentials(api.url, "monitor", "monitor-pw"), PermissionValidator(reader_only))
        with pytest.raises(PermissionDenied, match="airflow.read is denied"):
            blind.task_instance("etl_flaky", "r1", "load_orders")
        assert api.requests == []  # not even a login was sent
        assert client.task_instance("etl_flaky", "r1", "load_orders")["state"] == "failed"


def test_a_bad_login_and_an_unreachable_server_are_clear_errors():
    with FakeAirflowApi([flaky()], USERS) as api:
        client = AirflowApiClient(ApiCredentials(api.url, "monitor", "wrong"), PermissionValidator(SPEC.envelope))
        with pytest.raises(AirflowApiError, match="check the connection's login and password"):
            client.failed_dag_runs("etl_flaky", since=NOW)
    down = AirflowApiClient(ApiCredentials(api.url, token="jwt-x"), PermissionValidator(SPEC.envelope), timeout_s=2)
    with pytest.raises(AirflowApiError, match="is the api-server at"):
        down.failed_dag_runs("etl_flaky", since=NOW)


def test_an_unreachable_api_ends_the_run_escalated_not_crashed():
    with FakeAirflowApi([], USERS) as api:
        monitor = Monitor(api)
    result = monitor.start()
    assert result.state["status"] == "escalated" and "AirflowApiError" in result.state["reason"]
