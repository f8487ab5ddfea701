"""Loop guards: handoff chains (revisits, depth) and the automatic-retry budget."""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.loops import AutoRetryPolicy, HandoffGuard
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import ConfigurationError, LoopDetected, PermissionDenied


def chain(*agents: str) -> list[dict[str, str]]:
    return [{"from": a, "to": b, "reason": "r"} for a, b in zip(agents, agents[1:])]


def test_a_fresh_handoff_is_recorded():
    record = HandoffGuard(max_depth=4).check([], source="task_router", target="sql_agent", reason="a count")
    assert record == {"from": "task_router", "to": "sql_agent", "reason": "a count"}


@pytest.mark.parametrize(("handoffs", "source", "target"), [
    (chain("a", "b", "c"), "c", "a"),
    (chain("a", "b", "c"), "c", "b"),
    (chain("a", "b"), "b", "a"),
    ([], "a", "a"),
    (chain("a", "b"), "b", "b"),
])
def test_revisiting_an_agent_of_the_chain_is_refused(handoffs, source, target):
    with pytest.raises(LoopDetected, match=f"revisits {target}") as info:
        HandoffGuard(max_depth=10).check(handoffs, source=source, target=target)
    assert "→" in str(info.value) and "person" in str(info.value)


def test_the_chain_is_read_in_order():
    assert HandoffGuard.chain(chain("a", "b", "c")) == ["a", "b", "c"]
    assert HandoffGuard.chain([]) == []


@pytest.mark.parametrize(("depth", "allowed"), [(0, 0), (1, 1), (3, 3), (4, 4)])
def test_depth_is_bounded(depth, allowed):
    guard, agents = HandoffGuard(max_depth=depth), [f"agent{i}" for i in range(10)]
    handoffs: list[dict[str, str]] = []
    for i in range(allowed):
        handoffs.append(guard.check(handoffs, source=agents[i], target=agents[i + 1]))
    with pytest.raises(LoopDetected, match=f"maximum depth {depth}"):
        guard.check(handoffs, source=agents[allowed], target=agents[allowed + 1])


@pytest.mark.parametrize("handoffs", [
    [{"from": "a", "to": "b"}, {"from": "c", "to": "d"}],
    [{"from": "a"}],
    ["a->b"],
    [{"from": "", "to": "b"}],
])
def test_a_malformed_chain_fails_closed(handoffs):
    with pytest.raises(ConfigurationError):
        HandoffGuard(max_depth=9).check(handoffs, source="b", target="z")


def test_only_the_end_of_the_chain_may_hand_off():
    with pytest.raises(ConfigurationError, match="chain ends at 'c'"):
        HandoffGuard(max_depth=9).check(chain("a", "b", "c"), source="b", target="z")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_limits_are_configuration_errors(bad):
    with pytest.raises(ConfigurationError):
        HandoffGuard(max_depth=bad)
    with pytest.raises(ConfigurationError):
        AutoRetryPolicy(max_retries=bad)


def test_guard_and_policy_come_from_the_envelope():
    etl = get_agent("etl_monitor").envelope
    assert HandoffGuard.from_envelope(etl).max_depth == etl.max_handoff_depth
    assert AutoRetryPolicy.from_envelope(etl).max_retries == 3


def test_etl_monitor_retries_three_times_then_a_person_decides():
    policy = AutoRetryPolicy.from_envelope(get_agent("etl_monitor").envelope, base_delay_s=10, max_delay_s=25)
    decisions = [policy.decide(n, target="load.extract") for n in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.delay_s for d in decisions[:3]] == [10, 20, 25]
    assert "3 time(s)" in decisions[3].reason and "load.extract" in decisions[3].reason
    with pytest.raises(LoopDetected, match="a person decides"):
        policy.enforce(3)
    assert policy.enforce(2).allowed


def test_agents_without_auto_retries_never_retry_on_their_own():
    policy = AutoRetryPolicy.from_envelope(get_agent("sql_agent").envelope)
    assert policy.max_retries == 0 and not policy.decide(0).allowed


def test_bad_delays_are_refused():
    with pytest.raises(ConfigurationError):
        AutoRetryPolicy(max_retries=1, base_delay_s=10, max_delay_s=5)


def _runtime(agent: str, **override) -> AgentRuntime:
    spec = get_agent(agent)
    envelope = spec.envelope.override(override) if override else spec.envelope
    return AgentRuntime(spec=spec, envelope=envelope, llm=None, tracer=Tracer(trace_id="t", agent=agent,
                                                                               sinks=[ListSink()]))


def test_runtime_handoff_records_the_chain_and_an_event():
    state = initial_state(request="q", agent="task_router", tier=1, trace_id="t")
    update = _runtime("task_router").handoff(state, "sql_agent", "a count over orders")
    assert update["handoffs"] == [{"from": "task_router", "to": "sql_agent", "reason": "a count over orders"}]
    assert update["events"][0]["kind"] == "handoff" and update["events"][0]["data"]["depth"] == 1


def test_runtime_handoff_refuses_loops_and_agents_without_the_permission():
    state = initial_state(request="q", agent="workflow_coordinator", tier=1, trace_id="t",
                          handoffs=chain("task_router", "workflow_coordinator"))
    with pytest.raises(LoopDetected, match="revisits task_router"):
        _runtime("workflow_coordinator").handoff(state, "task_router")
    with pytest.raises(PermissionDenied, match="handoff"):
        _runtime("sql_agent").handoff(initial_state(request="q", agent="sql_agent", tier=2, trace_id="t"), "summarizer")
