"""The planner's pure parts: clauses of many phrasings, and the policy that bounds every plan."""

from __future__ import annotations

import pytest

from airflow_aimod.core.planning import HUMAN_REVIEW, RUN, UNSUPPORTED, PlanPolicy, Step, parse_steps, split_clauses
from airflow_aimod.exceptions import ConfigurationError

SPLITS = [
    # (request, [(clause, waits for the previous one)])
    ("check the payments table for nulls and outliers, then write a one-page report for finance",
     [("check the payments table for nulls and outliers", False), ("write a one-page report for finance", True)]),
    ("count orders by status and profile the customers table",
     [("count orders by status", False), ("profile the customers table", False)]),
    ("profile the invoices table; summarize what you found",
     [("profile the invoices table", False), ("summarize what you found", True)]),
    ("1. list the suppliers in Spain 2. profile the shipments table 3. summarize both",
     [("list the suppliers in Spain", False), ("profile the shipments table", True), ("summarize both", True)]),
    ("First validate the ledger table. After that, detect spikes in daily bookings and finally alert on-call",
     [("validate the ledger table", False), ("detect spikes in daily bookings", True), ("alert on-call", True)]),
    ("profile trips and then count rides by city, as well as show the top 5 drivers by fare",
     [("profile trips", False), ("count rides by city", True), ("show the top 5 drivers by fare", False)]),
    ("Compute total sales per region. Afterwards, summarise the numbers for the board",
     [("Compute total sales per region", False), ("summarise the numbers for the board", True)]),
    ("find late shipments followed by a profile of the carriers table",
     [("find late shipments", False), ("a profile of the carriers table", True)]),
    ("- profile patients\n- count visits per ward\n- summarize",
     [("profile patients", False), ("count visits per ward", True), ("summarize", True)]),
]
NO_SPLIT = ["list customers from Germany and France", "average price and quantity of products by category",
            "rows where status is shipped and total is above 100", "profile the orders and customers tables",
            "Then profile the orders table"]


@pytest.mark.parametrize(("request_text", "expected"), SPLITS, ids=[s[0][:40] for s in SPLITS])
def test_requests_split_into_clauses_with_their_order(request_text, expected):
    assert [(c.text, c.after_previous) for c in split_clauses(request_text)] == expected


@pytest.mark.parametrize("request_text", NO_SPLIT)
def test_and_between_nouns_never_splits(request_text):
    assert len(split_clauses(request_text)) == 1


def test_empty_and_limit():
    assert split_clauses("   ") == [] and split_clauses(None) == []
    many = "; ".join(f"profile table t{i}" for i in range(50))
    assert len(split_clauses(many, limit=6)) == 6


def steps(*specs):
    return [Step(sid, agent, f"do {sid}", tuple(deps), conf) for sid, agent, deps, conf in specs]


POLICY = PlanPolicy()


def test_a_confident_chain_runs_with_the_budget_split():
    check = POLICY.check(steps(("s1", "sql_agent", (), 0.99), ("s2", "data_profiler", ("s1",), 0.97),
                               ("s3", "summarizer", ("s1", "s2"), 0.95)))
    assert check.decision == RUN and {s.token_budget for s in check.steps} == {8000}


def test_one_unsure_step_sends_the_whole_plan_to_a_person():
    check = POLICY.check(steps(("s1", "sql_agent", (), 0.99), ("s2", "data_profiler", ("s1",), 0.4)))
    assert check.decision == HUMAN_REVIEW and "s2" in check.reason and "0.40" in check.reason
    assert POLICY.check(list(check.steps), reviewed=True).decision == RUN


@pytest.mark.parametrize(("plan", "needle"), [
    (steps(("s1", "sql_agent", ("s2",), 1.0), ("s2", "data_profiler", ("s1",), 1.0)), "cycle"),
    (steps(("s1", "sql_agent", (), 1.0), ("s2", "data_profiler", ("s1",), 1.0), ("s3", "sql_agent", ("s2",), 1.0)),
     "revisits sql_agent"),
    (steps(("s1", "sql_agent", ("s9",), 1.0)), "unknown step"),
    (steps(("s1", "sql_agent", (), 1.0), ("s1", "summarizer", (), 1.0)), "repeat"),
    (steps(*[(f"s{i}", "sql_agent", (), 1.0) for i in range(50)]), "50 steps"),
])
def test_structural_problems_go_to_a_person_with_the_reason(plan, needle):
    check = POLICY.check(plan)
    assert check.decision == HUMAN_REVIEW and needle in check.reason
    assert POLICY.check(plan, reviewed=True).decision == HUMAN_REVIEW  # a person cannot approve a loop either


def test_steps_come_back_in_dependency_order():
    check = POLICY.check(steps(("b", "summarizer", ("a",), 1.0), ("a", "sql_agent", (), 1.0)))
    assert [s.id for s in check.steps] == ["a", "b"] and check.decision == RUN


def test_depth_is_bounded():
    chain = [("s1", "sql_agent", (), 1.0), ("s2", "data_profiler", ("s1",), 1.0), ("s3", "summarizer", ("s2",), 1.0)]
    assert PlanPolicy(max_depth=2).check(steps(*chain)).decision == HUMAN_REVIEW
    assert PlanPolicy(max_depth=3).check(steps(*chain)).decision == RUN


def test_the_same_agent_twice_on_parallel_paths_is_fine():
    check = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", "sql_agent", (), 1.0),
                               ("s3", "summarizer", ("s1", "s2"), 1.0)))
    assert check.decision == RUN


@pytest.mark.parametrize(("agent", "needle"), [
    (None, "no agent can do"), ("wizard", "not an agent"),
    ("task_router", "not an agent"), ("etl_monitor", "cannot run as a plan step: it diagnoses"),
])
def test_capabilities_no_step_has_are_unsupported(agent, needle):
    check = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", agent, ("s1",), 1.0)))
    assert check.decision == UNSUPPORTED and needle in check.reason and check.steps[0].status == "ok"


def test_a_plan_that_calls_the_coordinator_again_is_a_loop():
    check = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", "workflow_coordinator", ("s1",), 1.0)))
    assert check.decision == HUMAN_REVIEW and "revisits workflow_coordinator" in check.reason


def test_an_agent_whose_envelope_forbids_the_step_is_unsupported_and_approval_needs_a_person():
    from airflow_aimod.core.registry import get_agent

    env = get_agent("sql_agent").envelope
    no_sql = PlanPolicy(envelopes={"sql_agent": env.override({"allow": ["llm.call", "db.introspect"], "sql": None})})
    assert no_sql.check(steps(("s1", "sql_agent", (), 1.0))).decision == UNSUPPORTED
    ask = PlanPolicy(envelopes={"sql_agent": env.override({"require_approval": ["sql.read"]})})
    check = ask.check(steps(("s1", "sql_agent", (), 1.0)))
    assert check.decision == HUMAN_REVIEW and check.steps[0].status == "needs_approval"
    assert ask.check(list(check.steps), reviewed=True).decision == RUN


@pytest.mark.parametrize("raw", ["not json", "[]", "{}", '[1, 2]', '[{"id": "a", "depends_on": "b"}]'])
def test_unparseable_plans_say_what_is_wrong(raw):
    with pytest.raises(ConfigurationError):
        parse_steps(raw, max_items=5)


def test_policy_validates_its_bounds():
    for bad in ({"max_steps": 0}, {"max_depth": 21}, {"threshold": 0}, {"token_budget": 10}):
        with pytest.raises(ConfigurationError):
            PlanPolicy(**bad)


def test_steps_that_read_upstream_outcomes_need_a_step_to_read():
    alone = POLICY.check(steps(("s1", "report_generator", (), 1.0)))
    assert alone.decision == UNSUPPORTED and "depends on none" in alone.reason
    no_profile = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", "schema_validator", ("s1",), 1.0)))
    assert no_profile.decision == UNSUPPORTED and "reads the outcome of a data_profiler step" in no_profile.reason
    report = POLICY.check(steps(("s1", "anomaly_detector", (), 1.0), ("s2", "report_generator", ("s1",), 1.0),
                                ("s3", "alert_manager", ("s1",), 1.0)))
    assert report.decision == RUN


def test_a_validator_step_after_a_profile_needs_the_plan_approved_and_then_runs():
    check = POLICY.check(steps(("s1", "data_profiler", (), 1.0), ("s2", "schema_validator", ("s1",), 1.0)))
    assert check.decision == HUMAN_REVIEW and "gx.update_suite by schema_validator" in check.reason
    approved = POLICY.check(list(check.steps), reviewed=True)
    assert approved.decision == RUN and approved.steps[1].status == "needs_approval"  # the step runs with it


def test_a_guess_below_the_floor_is_unsupported_not_a_question():
    check = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", "alert_manager", ("s1",), 0.05)))
    assert check.decision == UNSUPPORTED and "no agent can do" in check.reason and "0.05" in check.reason
    unsure = POLICY.check(steps(("s1", "sql_agent", (), 1.0), ("s2", "alert_manager", ("s1",), 0.5)))
    assert unsure.decision == HUMAN_REVIEW
    with pytest.raises(ConfigurationError, match="floor"):
        PlanPolicy(floor=0.9, threshold=0.85)


def test_a_person_may_set_step_budgets_and_the_plan_reserves_their_sum():
    raw = [{"id": "a", "agent": "sql_agent", "request": "count orders", "token_budget": 3000},
           {"id": "b", "agent": "summarizer", "request": "summarize", "depends_on": ["a"]}]
    check = PlanPolicy(token_budget=10_000).check(parse_steps(raw, max_items=5), reviewed=True)
    assert [s.token_budget for s in check.steps] == [3000, 5000] and check.total_tokens == 8000
    with pytest.raises(ConfigurationError, match="token_budget must be a whole number of tokens of at least 100"):
        parse_steps([{**raw[0], "token_budget": 5}], max_items=5)
