"""Operator contracts: template fields, cheap validation at parse time, messages that say how to fix."""

from __future__ import annotations

import pytest

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator
from airflow_aimod.operators.router import TaskRouterOperator
from airflow_aimod.operators.sql import SQLAgentOperator


def sql_op(**kwargs):
    return SQLAgentOperator(task_id="ask", question="how many orders?", conn_id="does_not_exist_yet", **kwargs)


def test_template_fields_are_pinned():
    assert AgentOperator.template_fields == ("llm_conn_id", "trace_id")
    assert SQLAgentOperator.template_fields == ("llm_conn_id", "trace_id", "question", "conn_id")
    assert TaskRouterOperator.template_fields == ("llm_conn_id", "trace_id", "request", "warehouse_conn_id")


def test_constructors_do_no_io_and_apply_envelope_overrides():
    op = sql_op(pii_tables=["customers"], pii_columns=["orders.notes"], max_tables=3, token_budget=900)
    sql = op.envelope.sql
    assert sql.pii_tables == {"customers"} and sql.pii_columns == {"orders.notes"} and sql.max_tables == 3
    assert op.envelope.token_budget == 900 and op.spec.name == "sql_agent"


@pytest.mark.parametrize("kwargs, message", [
    ({"envelope": {"max_tabels": 2}}, "unknown envelope field"),
    ({"envelope": {"allow": ["sql.raed"]}}, "Did you mean 'sql.read'"),
    ({"pii_columns": ["email"]}, "table.column"),
    ({"max_rows": 0}, "max_rows"),
    ({"max_tables": 0}, "max_tables"),
    ({"fail_on_status": ["exploded"]}, "unknown statuses"),
    ({"token_budget": -5}, "token_budget"),
    ({"envelope": {"sql": {"allowed_statements": ["select", "delete"]}}}, "agents never write"),
])
def test_bad_configuration_fails_the_parse_with_a_fix(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        sql_op(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"agent_tasks": {"sql_agnet": "sql"}}, "Did you mean sql_agent"),
    ({"agent_tasks": {}}, "agent_tasks is empty"),
    ({"agent_tasks": {"task_router": "x"}}, "cannot route to itself"),
    ({"agent_tasks": {"sql_agent": "sql"}, "threshold": 1.5}, "threshold"),
    ({"agent_tasks": {"sql_agent": "sql"}, "warehouse_conn_id": " "}, "warehouse_conn_id"),
])
def test_router_validation(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        TaskRouterOperator(task_id="route", request="x", **kwargs)


def test_router_branches_by_decision():
    op = TaskRouterOperator(task_id="route", request="x", agent_tasks={"sql_agent": "sql"},
                            human_review_task_id="review", fallback_task_id="unavailable")
    assert op.branch_for({"decision": "dispatch", "agent": "sql_agent"}) == "sql"
    assert op.branch_for({"decision": "dispatch", "agent": "data_profiler"}) == "unavailable"
    assert op.branch_for({"decision": "human_review", "agent": "sql_agent"}) == "review"
    no_fallback = TaskRouterOperator(task_id="r2", request="x", agent_tasks={"sql_agent": "sql"})
    assert no_fallback.branch_for({"decision": "dispatch", "agent": "etl_monitor"}) == "human_review"


def test_provider_info_declares_the_connection_type_and_modules():
    import importlib

    from airflow_aimod.get_provider_info import get_provider_info

    info = get_provider_info()
    assert info["connection-types"][0]["connection-type"] == "aimod_llm"
    for group in ("operators", "hooks"):
        for entry in info[group]:
            for module in entry["python-modules"]:
                importlib.import_module(module)


def test_the_connection_form_has_one_source_the_hook_and_provider_info_agree():
    from airflow_aimod.get_provider_info import get_provider_info
    from airflow_aimod.hooks.llm import EXTRA_FIELDS, AimodLLMHook

    declared = get_provider_info()["connection-types"][0]
    form = declared["ui-field-behaviour"]
    hook = AimodLLMHook.get_ui_field_behaviour()
    assert hook == {"hidden_fields": form["hidden-fields"], "relabeling": form["relabeling"],
                    "placeholders": form["placeholders"]}
    assert set(declared["conn-fields"]) == set(EXTRA_FIELDS)  # every extra key the hook accepts, no other
    import json
    assert set(json.loads(form["placeholders"]["extra"])) == set(EXTRA_FIELDS)
    assert declared["hook-class-name"] == f"{AimodLLMHook.__module__}.{AimodLLMHook.__name__}"
    assert declared["connection-type"] == AimodLLMHook.conn_type and declared["hook-name"] == AimodLLMHook.hook_name


def test_envelopes_from_airflow_configuration_layer_under_the_task(monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__ENVELOPES",
                       '{"sql_agent": {"sql": {"max_tables": 3, "pii_tables": ["customers"]}, "token_budget": 7000}}')
    op = sql_op(max_tables=2)
    assert op.envelope.sql.max_tables == 2 and op.envelope.sql.pii_tables == {"customers"}
    assert op.envelope.token_budget == 7000


@pytest.mark.parametrize("value, message", [
    ('{"sql_agnet": {}}', "Did you mean sql_agent"),
    ('{"sql_agent": {"max_tabels": 1}}', "unknown envelope field"),
    ("{not json", "not valid JSON"),
    ('{"sql_agent": 5}', "must map agent names"),
])
def test_a_typo_in_the_configured_envelopes_fails_the_parse(monkeypatch, value, message):
    monkeypatch.setenv("AIRFLOW__AIMOD__ENVELOPES", value)
    for _ in range(2):  # the check is cached per setting value, its failure is not: every task fails on it
        with pytest.raises(ConfigurationError, match=message):
            sql_op()


def test_anomaly_operator_template_fields_and_parse_time_validation():
    from airflow_aimod.operators.anomaly import AnomalyDetectorOperator

    assert AnomalyDetectorOperator.template_fields == ("llm_conn_id", "trace_id", "metric_name", "metric_sql",
                                                       "conn_id")
    ok = AnomalyDetectorOperator(task_id="a", metric_name="m", series=[1, 2, 3], sensitivity="high")
    assert ok.spec.name == "anomaly_detector" and ok.spec.call_timeout_s == 30.0
    for kwargs, message in [({}, "exactly one of metric_sql"),
                            ({"metric_sql": "SELECT 1", "series": [1]}, "exactly one of metric_sql"),
                            ({"metric_sql": "SELECT 1"}, "needs conn_id"),
                            ({"series": [1], "method": "prophet"}, "unknown anomaly method"),
                            ({"series": [1], "sensitivity": "max"}, "unknown sensitivity"),
                            ({"series": [1], "max_points": 0}, "max_points")]:
        with pytest.raises(ConfigurationError, match=message):
            AnomalyDetectorOperator(task_id="a", metric_name="m", **kwargs)
