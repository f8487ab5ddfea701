"""AgentOperator's budget, deadline and escalation arguments: parse-time validation and branch choice."""

from __future__ import annotations

import pendulum
import pytest

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._budget import configured_run_budget
from airflow_aimod.operators._escalation import branches, escalation_target
from airflow_aimod.operators.sql import SQLAgentOperator


def sql_op(**kwargs):
    return SQLAgentOperator(task_id="ask", question="how many orders?", conn_id="warehouse", **kwargs)


def test_new_arguments_are_applied_without_io():
    op = sql_op(token_budget={"nl2sql": 5000, "total": 8000}, dag_run_token_budget=30_000, call_timeout_s=4,
                fallback_task_id="fb", human_task_id="person")
    assert op.envelope.token_budget == {"nl2sql": 5000, "total": 8000}
    assert op.dag_run_token_budget == 30_000 and op.spec.call_timeout_s == 4.0
    assert (op.fallback_task_id, op.human_task_id) == ("fb", "person")
    assert sql_op().spec.call_timeout_s == 30.0  # Tier 2 default from the registry


def test_default_args_give_every_agent_task_of_a_dag_the_run_budget():
    from airflow.sdk import DAG

    with DAG("budgeted", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
             default_args={"dag_run_token_budget": 12_345}):
        op = sql_op()
    assert op.dag_run_token_budget == 12_345


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"token_budget": {"nl2sqll": 5}}, "Did you mean 'nl2sql'"),
    ({"dag_run_token_budget": 0}, "dag_run_token_budget must be a positive number of tokens"),
    ({"dag_run_token_budget": "lots"}, "dag_run_token_budget must be a positive number of tokens"),
    ({"call_timeout_s": -1}, "call_timeout_s must be a positive number of seconds"),
    ({"fallback_task_id": ""}, "fallback_task_id must be a task id"),
    ({"fallback_task_id": "x", "human_task_id": "x"}, "must be different tasks"),
])
def test_bad_arguments_fail_the_parse_with_a_fix(kwargs, says):
    with pytest.raises(ConfigurationError, match=says):
        sql_op(**kwargs)


def test_configured_run_budget(monkeypatch):
    assert configured_run_budget() is None
    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", "9000")
    assert configured_run_budget() == 9000
    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", "-3")
    with pytest.raises(ConfigurationError, match=r"\[aimod\] dag_run_token_budget must be a positive"):
        configured_run_budget()


@pytest.mark.parametrize(("escalate_to", "routes", "follow"), [
    (None, ("fb", "person"), ["next", "report"]),
    ("workflow_coordinator", ("fb", "person"), ["fb"]),
    ("human", ("fb", "person"), ["person"]),
    ("human", ("fb", None), ["fb"]),  # no human route: the fallback task takes it
    ("workflow_coordinator", (None, "person"), ["person"]),
])
def test_the_branch_follows_who_the_agent_handed_off_to(escalate_to, routes, follow):
    downstream = {"next", "report", *filter(None, routes)}
    out = {"escalate_to": escalate_to}
    assert branches(out, fallback_task_id=routes[0], human_task_id=routes[1], downstream=downstream,
                    task_id="ask") == follow
    assert escalation_target(out, fallback_task_id=None, human_task_id=None) is None


def test_a_route_that_is_not_downstream_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"ask: branch target\(s\) \['fb'\] must be direct downstream "
                                                 r"tasks .*ask >> fb"):
        branches({}, fallback_task_id="fb", human_task_id=None, downstream={"next"}, task_id="ask")
