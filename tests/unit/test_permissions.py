"""Envelopes: validated at construction, allow-lists that fail closed, SQL through the guard."""

from __future__ import annotations

import pytest

from airflow_aimod.core.permissions import Action, Envelope, PermissionValidator, SqlPolicy
from airflow_aimod.core.registry import REGISTRY, get_agent
from airflow_aimod.exceptions import ConfigurationError, PermissionDenied


def test_registry_has_the_fifteen_agents_with_tier_timeouts():
    assert len(REGISTRY) == 15
    tiers = {name: spec.tier for name, spec in REGISTRY.items()}
    assert [n for n, t in tiers.items() if t == 1] == ["task_router", "workflow_coordinator"]
    assert {n for n, t in tiers.items() if t == 2} == {"sql_agent", "data_profiler", "schema_validator",
                                                      "etl_monitor", "anomaly_detector"}
    assert all(REGISTRY[n].call_timeout_s == 30.0 for n, t in tiers.items() if t == 2)
    assert all(REGISTRY[n].call_timeout_s > 30.0 for n, t in tiers.items() if t == 3)


def test_design_defaults_for_sql_agent_and_etl_monitor():
    sql = get_agent("sql_agent").envelope
    assert sql.allow == {"llm.call", "db.introspect", "sql.read"} and "sql.write" in sql.deny
    assert sql.sql.allowed_statements == ("select", "with") and sql.sql.max_tables == 5
    assert set(sql.sql.denied_statements) == {"drop", "delete", "update", "insert"}
    etl = get_agent("etl_monitor").envelope
    assert "airflow.clear_task" in etl.allow and "airflow.clear_task" in etl.require_approval
    assert "airflow.modify_schedule" in etl.deny and etl.max_auto_retries == 3


@pytest.mark.parametrize("name", ["task_router", "workflow_coordinator"])
def test_orchestration_agents_never_touch_data(name):
    validator = PermissionValidator(get_agent(name).envelope)
    for kind in ("sql.read", "sql.write", "db.introspect"):
        assert not validator.check(Action(kind, params={"sql": "SELECT 1"})).allowed


def test_unknown_kinds_fail_closed_and_typos_fail_loudly():
    validator = PermissionValidator(get_agent("summarizer").envelope)
    assert not validator.check(Action("sql.read", params={"sql": "SELECT 1"})).allowed
    with pytest.raises(ConfigurationError, match="Did you mean 'sql.read'"):
        Envelope(allow=frozenset({"sql.raed"}))
    with pytest.raises(ConfigurationError, match="unknown envelope field"):
        get_agent("sql_agent").envelope.override({"max_tabels": 3})
    with pytest.raises(ConfigurationError, match="both allowed and denied"):
        Envelope(allow=frozenset({"llm.call"}), deny=frozenset({"llm.call"}))
    with pytest.raises(ConfigurationError, match="needs a SqlPolicy"):
        Envelope(allow=frozenset({"sql.read"}))
    with pytest.raises(ConfigurationError, match="agents never write"):
        SqlPolicy(allowed_statements=("select", "insert"))


def test_sql_actions_pass_the_guard_and_pii_needs_approval():
    env = get_agent("sql_agent").envelope.override({"sql": {"pii_tables": ["customers"]}})
    validator = PermissionValidator(env, dialect="postgres")
    assert validator.check(Action("sql.read", params={"sql": "SELECT count(*) FROM orders"})).to_dict()["allowed"]
    pii = validator.check(Action("sql.read", params={"sql": "SELECT email FROM public.Customers"}))
    assert pii.allowed and pii.requires_approval
    bad = validator.check(Action("sql.read", params={"sql": "DELETE FROM orders"}))
    assert not bad.allowed and bad.reasons
    with pytest.raises(PermissionDenied):
        validator.enforce(Action("sql.write", params={"sql": "DELETE FROM orders"}))


def test_high_impact_actions_require_approval():
    validator = PermissionValidator(get_agent("etl_monitor").envelope)
    verdict = validator.check(Action("airflow.clear_task", target="load/extract"))
    assert verdict.allowed and verdict.requires_approval
    assert not validator.check(Action("airflow.modify_schedule", target="load")).allowed


def test_envelope_overrides_keep_validation_and_serialise():
    env = get_agent("sql_agent").envelope.override({"sql": {"max_tables": 2, "pii_columns": ["customers.email"]},
                                                    "token_budget": 500})
    data = env.to_dict()
    assert data["sql"]["max_tables"] == 2 and data["sql"]["pii_columns"] == ["customers.email"]
    assert data["token_budget"] == 500 and data["allow"] == sorted(data["allow"])
    with pytest.raises(ConfigurationError, match="table.column"):
        env.override({"sql": {"pii_columns": ["email"]}})
