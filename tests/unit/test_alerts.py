"""Alert policy and store state: dedup, throttle counts, severity routes, resolve, digest, escalation, ack."""

from __future__ import annotations

import threading

import pytest

from airflow_aimod.core.alerts import Alert, AlertPolicy, AlertState
from airflow_aimod.core.alerts.sources import alerts_from_health, alerts_from_outcome
from airflow_aimod.core.store import open_store
from airflow_aimod.exceptions import ConfigurationError

POLICY = AlertPolicy(throttle_s=600, escalate_after_s=900)
LOAD = Alert(title="orders load failed", severity="critical", source="orders_load")


@pytest.fixture
def state(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        yield AlertState(store)


def test_a_burst_of_1000_identical_alerts_sends_one_and_counts_every_one(state):
    actions = [state.observe(LOAD, POLICY, now=1000 + i * 0.1).action for i in range(1000)]
    assert actions.count("send") == 1 and actions.count("suppress") == 999
    row = state.get(LOAD.fingerprint)
    assert (row.occurrences, row.suppressed) == (1000, 999)
    after = state.observe(LOAD, POLICY, now=1000 + 601)  # the window has passed: the held-back ones are reported
    assert after.action == "send" and after.repeats == 999 and after.routes == ("chat", "mail")
    assert state.get(LOAD.fingerprint).suppressed == 0 and state.get(LOAD.fingerprint).occurrences == 1001


def test_two_writers_at_once_send_once_and_lose_no_count(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    decisions = []

    def raise_many():
        with open_store(url) as store:
            decisions.extend(AlertState(store).observe(LOAD, POLICY, now=5.0).action for _ in range(100))

    threads = [threading.Thread(target=raise_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(url) as store:
        assert AlertState(store).get(LOAD.fingerprint).occurrences == 200
    assert decisions.count("send") == 1


def test_severity_routes_and_an_upgrade_is_not_throttled(state):
    info = Alert(title="nightly vacuum done", severity="info")
    assert state.observe(info, POLICY, now=1).action == "digest"
    warn = Alert(title="late data", severity="warning", source="s")
    assert state.observe(warn, POLICY, now=1).routes == ("chat",)
    worse = Alert(title="late data", severity="critical", source="s")
    decision = state.observe(worse, POLICY, now=2)
    assert decision.action == "send" and decision.routes == ("chat", "mail")


def test_a_resolve_is_sent_once_and_a_new_episode_starts_fresh(state):
    state.observe(LOAD, POLICY, now=1)
    cleared = Alert(title=LOAD.title, severity="critical", source=LOAD.source, resolved=True)
    assert state.observe(cleared, POLICY, now=2).action == "resolve"
    assert state.observe(cleared, POLICY, now=3).action == "ignore"
    assert state.observe(LOAD, POLICY, now=4).action == "send"  # fires again: not throttled by the old episode


def test_escalation_is_due_only_after_the_timeout_and_only_once_and_never_when_acknowledged(state):
    other = Alert(title="disk full", severity="critical", source="db")
    state.observe(LOAD, POLICY, now=100)
    state.observe(other, POLICY, now=100)
    assert state.due_escalations(POLICY, now=999) == []
    assert state.acknowledge(other.fingerprint, by="ana", now=500)
    due = state.due_escalations(POLICY, now=1000)
    assert [row.fingerprint for row in due] == [LOAD.fingerprint]
    assert state.escalated(LOAD.fingerprint, now=1000) and not state.escalated(LOAD.fingerprint, now=1001)
    assert state.due_escalations(POLICY, now=5000) == []
    assert not state.escalated(other.fingerprint, now=1000)  # acknowledged: the claim is refused
    assert state.get(other.fingerprint).acked_by == "ana"


def test_a_claimed_escalation_no_channel_took_is_released_for_the_next_run(state):
    state.observe(LOAD, POLICY, now=100)
    assert state.escalated(LOAD.fingerprint, now=1000)
    state.unescalated(LOAD.fingerprint)
    assert [row.fingerprint for row in state.due_escalations(POLICY, now=1001)] == [LOAD.fingerprint]


def test_a_failed_send_is_counted_back_so_the_next_one_reports_it(state):
    decision = state.observe(LOAD, POLICY, now=1)
    state.unsent(LOAD.fingerprint, decision.repeats)
    again = state.observe(LOAD, POLICY, now=2)
    assert again.action == "send" and again.repeats == 1


def test_the_fingerprint_ignores_the_body_but_not_the_labels():
    assert Alert(title="t", body="3 rows").fingerprint == Alert(title="t", body="4 rows").fingerprint
    assert Alert(title="t", labels={"dag": "a"}).fingerprint != Alert(title="t", labels={"dag": "b"}).fingerprint


def test_bad_alerts_and_policies_fail_with_what_to_do():
    with pytest.raises(ConfigurationError, match="severity must be one of"):
        Alert(title="x", severity="urgent")
    with pytest.raises(ConfigurationError, match="unknown alert field"):
        Alert.of({"title": "x", "sevrity": "info"})
    with pytest.raises(ConfigurationError, match="unknown kinds"):
        AlertPolicy(routes={"critical": ("pager",)})


def test_outcomes_raise_and_resolve_alerts():
    bad = {"agent": "anomaly_detector", "status": "answered", "reason": "1 point",
           "result": {"subject": "orders", "assessment": {"verdict": "anomalous", "summary": "spike"}}}
    good = {**bad, "result": {"subject": "orders", "assessment": {"verdict": "normal"}}}
    raised, cleared = alerts_from_outcome(bad, source="check"), alerts_from_outcome(good, source="check")
    assert [(a.severity, a.resolved) for a in raised] == [("critical", True), ("warning", False)]
    assert raised[1].fingerprint == cleared[1].fingerprint and cleared[1].resolved
    etl = {"agent": "etl_monitor", "status": "answered", "result": {"failures": [
        {"dag_id": "d", "task_id": "t", "classification": "permanent", "try_number": 2, "evidence": ["KeyError"]}]}}
    assert [a.severity for a in alerts_from_outcome(etl, source="m")][1] == "critical"
    assert alerts_from_health([{"agent": "sql_agent", "success_rate": 0.8, "finished": 10}])[0].severity == "critical"
