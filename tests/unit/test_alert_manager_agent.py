"""The alert manager graph with a real checkpointer and store: routing, the channel envelope, failed sends,
and acknowledgement through a paused run (approve acknowledges, reject escalates)."""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.alert_manager import AlertTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.alerts import Alert, AlertPolicy, AlertState
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.store import open_store
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import NotificationFailed
from tests.support.scripted import ScriptedChatModel

CHANNELS = {"chat": ["chat"], "mail": ["mail"], "digest": ["chat"], "escalation": ["pager"]}
CRITICAL = {"title": "orders load failed", "severity": "critical", "source": "orders_load", "body": "KeyError"}


class Outbox:
    def __init__(self, failing=()):
        self.sent, self.failing = [], set(failing)

    def __call__(self, channel, message):
        if channel in self.failing:
            raise NotificationFailed(f"{channel} is down")
        self.sent.append((channel, message))


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as s:
        yield s


def runner(store, saver, alerts, outbox, *, now=1000.0, allowed=("chat", "mail", "pager"), ack=False, model=None,
           thread="t", flush=False):
    spec = get_agent("alert_manager")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope.override({"channels": list(allowed)}),
                           llm=model or OfflineChatModel(), tracer=Tracer(trace_id="t-a", agent=spec.name,
                                                                           sinks=[ListSink()]))
    tools = AlertTools(alerts=alerts, state=AlertState(store), policy=AlertPolicy(throttle_s=600, escalate_after_s=900),
                       channels=CHANNELS, send=outbox, now=lambda: now, flush_digest=flush, ask_ack=ack)
    return AgentRunner(build_graph(runtime, tools), saver, thread_id=thread)


def start(r):
    return r.start(initial_state(request="route alerts", agent="alert_manager", tier=4, trace_id="t-a"))


def test_a_burst_goes_out_once_per_channel_with_counts_from_the_store(store):
    outbox = Outbox()
    with open_checkpointer("memory://") as saver:
        state = start(runner(store, saver, [CRITICAL] * 1000, outbox)).state
    assert state["status"] == "answered"
    assert [c for c, _ in outbox.sent] == ["chat", "mail"] and state["result"]["suppressed"] == 999
    assert AlertState(store).get(Alert.of(CRITICAL).fingerprint).occurrences == 1000


def test_the_model_writes_headlines_but_cannot_drop_an_alert(store):
    liar = ScriptedChatModel.of([{"headlines": {"0": "All quiet, nothing to see."}, "confidence": 1.0}])
    outbox = Outbox()
    with open_checkpointer("memory://") as saver:
        start(runner(store, saver, [CRITICAL], outbox, model=liar))
    text = outbox.sent[0][1].text
    assert text.startswith("All quiet") and "critical: orders load failed: KeyError" in text


def test_a_channel_outside_the_envelope_is_blocked_and_named(store):
    outbox = Outbox()
    with open_checkpointer("memory://") as saver:
        state = start(runner(store, saver, [CRITICAL], outbox, allowed=("chat",))).state
    assert state["status"] == "refused" and [c for c, _ in outbox.sent] == ["chat"]
    assert state["result"]["blocked"][0]["channel"] == "mail" and "not in this agent's envelope" in state["reason"]


def test_a_failed_send_fails_the_run_and_the_next_run_reports_what_was_held(store):
    with open_checkpointer("memory://") as saver:
        first = start(runner(store, saver, [CRITICAL], Outbox(failing={"chat", "mail"}), thread="a")).state
        assert first["status"] == "failed" and first["result"]["failed"]
        outbox = Outbox()
        start(runner(store, saver, [CRITICAL], outbox, now=1001.0, thread="b"))
    assert [c for c, _ in outbox.sent] == ["chat", "mail"] and "+1 repeat held back" in outbox.sent[0][1].text


def test_unacknowledged_critical_alerts_escalate_on_a_later_run_after_the_timeout(store):
    with open_checkpointer("memory://") as saver:
        start(runner(store, saver, [CRITICAL], Outbox(), thread="a"))
        early = Outbox()
        start(runner(store, saver, [], early, now=1000.0 + 899, thread="b"))
        late = Outbox()
        state = start(runner(store, saver, [], late, now=1000.0 + 900, thread="c")).state
    assert early.sent == [] and [c for c, _ in late.sent] == ["pager"]
    assert late.sent[0][1].subject.startswith("[ESCALATED] [CRITICAL]") and len(state["result"]["escalated"]) == 1


@pytest.mark.parametrize("answer,channels", [("approve", []), ("reject", ["pager"])])
def test_acknowledgement_is_asked_and_a_refusal_escalates_at_once(store, answer, channels):
    with open_checkpointer("memory://") as saver:
        outbox = Outbox()
        paused = start(runner(store, saver, [CRITICAL], outbox, ack=True))
        assert paused.interrupt and paused.interrupt["subject"].startswith("alert_manager: acknowledge 1 critical")
        assert [c for c, _ in outbox.sent] == ["chat", "mail"]
        done = runner(store, saver, [CRITICAL], outbox, ack=True).resume({"decision": answer, "reviewer": "ana"}).state
    assert [c for c, _ in outbox.sent[2:]] == channels and done["status"] == "answered"
    row = AlertState(store).due_escalations(AlertPolicy(escalate_after_s=900), now=10**6)
    assert row == []  # acknowledged or already escalated: nothing left to escalate
    assert (done["result"]["acknowledged"] != []) == (answer == "approve")


def test_the_request_timeout_escalates_at_once_saying_nobody_answered(store):
    with open_checkpointer("memory://") as saver:
        outbox = Outbox()
        start(runner(store, saver, [CRITICAL], outbox, ack=True))
        done = runner(store, saver, [CRITICAL], outbox, ack=True, now=1900.0).resume(
            {"decision": "reject", "reviewer": "timeout"}).state
    row = AlertState(store).get(Alert.of(CRITICAL).fingerprint)
    assert [c for c, _ in outbox.sent[2:]] == ["pager"] and row.escalated_at == 1900.0
    assert "no acknowledgement in time: escalated to pager" in done["reason"]


def test_an_alert_acknowledged_or_escalated_meanwhile_is_not_escalated_again(store):
    fingerprint = Alert.of(CRITICAL).fingerprint
    with open_checkpointer("memory://") as saver:
        outbox = Outbox()
        start(runner(store, saver, [CRITICAL], outbox, ack=True, thread="a"))
        start(runner(store, saver, [], outbox, now=1000.0 + 900, thread="b"))  # a later run's triage escalates
        assert [c for c, _ in outbox.sent[2:]] == ["pager"]
        done = runner(store, saver, [CRITICAL], outbox, ack=True, thread="a", now=1000.0 + 901).resume(
            {"decision": "reject", "reviewer": "timeout"}).state
    assert [c for c, _ in outbox.sent[2:]] == ["pager"] and done["result"]["escalated"] == []
    assert "meanwhile" in done["reason"] and AlertState(store).get(fingerprint).escalated_at == 1000.0 + 900


def test_info_alerts_wait_for_the_digest(store):
    outbox = Outbox()
    infos = [{"title": f"table t{i} vacuumed", "severity": "info"} for i in range(3)]
    with open_checkpointer("memory://") as saver:
        start(runner(store, saver, infos, outbox, thread="a"))
        assert outbox.sent == []
        start(runner(store, saver, [], outbox, thread="b", flush=True))
    assert len(outbox.sent) == 1 and outbox.sent[0][1].subject.startswith("[DIGEST] [INFO] 3 alerts")
