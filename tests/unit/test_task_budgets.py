"""Token budgets per task type, validated at parse time, and what an agent task already spent."""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.task_router import build_graph
from airflow_aimod.core.budget import BudgetGuard, BudgetLimits, parse_token_budget
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.permissions import Envelope
from airflow_aimod.core.prompts import route_messages, sql_messages
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import BudgetExceeded, ConfigurationError
from tests.support.scripted import ScriptedChatModel

SCORES = {"scores": {"sql_agent": 0.95}, "rationale": "a count"}


def route(budget, *, prior=None, replies=(SCORES,)):
    spec = get_agent("task_router")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope.override({"token_budget": budget}),
                           llm=(model := ScriptedChatModel.of(replies)),
                           tracer=Tracer(trace_id="b1", agent=spec.name, sinks=[ListSink()]), prior_usage=prior or {})
    with open_checkpointer("memory://") as saver:
        runner = AgentRunner(build_graph(runtime), saver, thread_id="budget-test")
        state = runner.start(initial_state(request="how many orders last month", agent=spec.name, tier=1,
                                           trace_id="b1")).state
    return state, model


@pytest.mark.parametrize(("value", "parsed"), [
    (None, None), (500, 500), ({"route": 300, "total": 900}, {"route": 300, "total": 900}),
    ({"*": 1000}, {"*": 1000}),
])
def test_token_budget_forms(value, parsed):
    assert parse_token_budget(value) == parsed
    assert Envelope(allow=frozenset({"llm.call"}), token_budget=value).token_budget == parsed


@pytest.mark.parametrize(("value", "says"), [
    ({"nl2sq": 100}, r"unknown task type 'nl2sq' in the token_budget of sql_agent. Did you mean 'nl2sql'\?"),
    ({"route": 100}, r"unknown task type 'route' in the token_budget of sql_agent.* Known: \['\*', 'nl2sql', 'total'\]"),
    ({"route": 0}, r"token_budget\['route'\] must be a positive number of tokens, got 0"),
    ({"route": "many"}, r"token_budget\['route'\] must be a positive number"),
    ({}, "empty mapping"),
    (-5, "token_budget must be a positive number of tokens, got -5"),
    (True, "token_budget must be a positive int, a mapping of task type to tokens"),
    ("1000", "token_budget must be a positive int"),
])
def test_a_typo_in_a_token_budget_fails_with_what_to_fix(value, says):
    with pytest.raises(ConfigurationError, match=says):
        get_agent("sql_agent").envelope_with({"token_budget": value})


def test_an_int_is_the_total_and_a_mapping_caps_each_task_type():
    assert BudgetLimits.of(700) == BudgetLimits(total=700)
    limits = BudgetLimits.of({"nl2sql": 600, "*": 200, "total": 900})
    assert limits.total == 900 and limits.for_task("nl2sql") == 600 and limits.for_task("route") == 200
    assert BudgetLimits.of({"nl2sql": 600}).for_task("nl2sql") == 600 and BudgetLimits().for_task("x") is None
    with pytest.raises(BudgetExceeded, match=r"no entry for task type 'route' .*add 'route' or '\*'"):
        BudgetLimits.of({"nl2sql": 600}).for_task("route")


def test_the_guard_checks_the_task_type_cap_and_the_total():
    guard = BudgetGuard(BudgetLimits.of({"route": 300, "total": 1000}), used_total=600,
                        used_by_task={"route": 250})
    guard.admit("nl2sql", prompt_tokens=200, max_output_tokens=200)  # 600 + 400 = 1000: fits exactly
    with pytest.raises(BudgetExceeded, match="token budget exhausted: 600 of 1000"):
        guard.admit("nl2sql", prompt_tokens=201, max_output_tokens=200)
    with pytest.raises(BudgetExceeded, match="token budget for task type 'route' exhausted: 250 of 300 .* up to 60"):
        guard.admit("route", prompt_tokens=10, max_output_tokens=50)


def test_every_prompt_names_its_task_type():
    assert route_messages("x", []).task == "route"
    assert sql_messages("q", {"tables": []}, dialect="sqlite", today="2024-01-01").task == "nl2sql"


def test_an_llm_call_of_a_task_type_the_agent_does_not_declare_is_refused_before_it_is_made():
    spec = get_agent("task_router")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=(model := ScriptedChatModel.of([SCORES])),
                           tracer=Tracer(trace_id="b3", agent=spec.name, sinks=[ListSink()]))
    prompt = sql_messages("q", {"tables": []}, dialect="sqlite", today="2024-01-01")
    with pytest.raises(ConfigurationError, match="task type 'nl2sql', which its registry entry does not declare"):
        runtime.ask_json({"events": []}, prompt)
    assert model.prompts == []


def test_a_router_within_its_route_budget_dispatches():
    state, model = route({"route": 20_000})
    assert state["status"] == "answered" and len(model.prompts) == 1
    event = next(e for e in state["events"] if e["kind"] == "llm_call")
    assert event["data"]["task"] == "route"


def test_a_route_budget_too_small_stops_the_router_before_any_call():
    state, model = route({"route": 50, "nl2sql": 50_000})
    assert state["status"] == "budget_exceeded" and model.prompts == []
    assert "token budget for task type 'route' exhausted: 0 of 50" in state["reason"]
    assert state["work"]["escalate_to"] == "human"


def test_a_budget_for_other_task_types_only_refuses_the_route_call():
    state, model = route({"nl2sql": 50_000})
    assert state["status"] == "budget_exceeded" and model.prompts == []
    assert "no entry for task type 'route'" in state["reason"]


def test_earlier_tries_count_against_the_total_and_the_task_type():
    state, model = route(20_000, prior={"route": 19_500})
    assert state["status"] == "budget_exceeded" and model.prompts == []
    assert "19500 of 20000" in state["reason"]
    state, _ = route({"route": 5_000, "total": 100_000}, prior={"route": 4_500})
    assert "token budget for task type 'route' exhausted: 4500 of 5000" in state["reason"]


def test_usage_by_task_type_is_read_from_the_run_s_llm_call_events():
    spec = get_agent("sql_agent")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=None, prior_usage={"nl2sql": 1000},
                           tracer=Tracer(trace_id="b2", agent=spec.name, sinks=[ListSink()]))
    events = [runtime.tracer.event("llm_call", "chat", task="nl2sql", input_tokens=300, output_tokens=20),
              runtime.tracer.event("llm_call", "chat", task="route", input_tokens=40, output_tokens=2),
              runtime.tracer.event("transition", "draft", status="running")]
    guard = runtime.budget_guard({"events": events, "token_usage": {"total_tokens": 362}})
    assert guard.used_by_task == {"nl2sql": 1320, "route": 42} and guard.used_total == 1362
