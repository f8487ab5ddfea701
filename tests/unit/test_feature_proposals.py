"""Feature proposals derived from a profile, the offline skill that makes them, and the lift rule's arithmetic."""

from __future__ import annotations

import pytest

from airflow_aimod.core.llm.engine import answer_context
from airflow_aimod.core.ml.feature_lift import LiftRule
from airflow_aimod.core.ml.feature_proposals import parse_proposals, propose
from airflow_aimod.exceptions import ConfigurationError


def col(name, kind, **stats):
    return {"name": name, "inferred_type": kind, "null_rate": 0.0, "distinct_count": 50, **stats}


PROFILE = [
    col("id", "integer", unique=True, primary_key=True, min=1, max=500),
    col("amount", "float", min=1.0, max=900.0, mean=60.0, quantiles={"p50": 20.0, "p95": 300.0}),
    col("quantity", "integer", min=0, max=9, mean=3.1, quantiles={"p50": 3, "p95": 8}, null_rate=0.1),
    col("placed_on", "date"),
    col("segment", "string", distinct_count=3, top_values=[{"value": "O'Brien & co", "count": 9}]),
    col("email", "string", pii=True, distinct_count=499),
    col("churned", "integer", distinct_count=2, min=0, max=1),
]


def by_name(proposals):
    return {p.name: p for p in proposals}


def test_proposals_follow_the_profile_and_never_touch_target_pii_or_identifiers():
    found = by_name(propose(PROFILE, target="churned", dialect="sqlite", max_proposals=50))
    used = {c for p in found.values() for c in p.columns}
    assert used == {"amount", "quantity", "placed_on", "segment"}
    assert found["log_amount"].sql == 'LN("amount")'                       # skewed: mean 3× the median
    assert "log_quantity" not in found                                      # not skewed
    tail_only = propose([col("wait", "float", min=0.0, max=90.0, quantiles={"p50": 2.0, "p95": 40.0}),
                         PROFILE[-1]], target="churned")
    assert [(p.sql, p.kind) for p in tail_only[-1:]] == [('LN("wait" + 1)', "log")]   # no mean: p95 decides
    assert found["quantity_is_null"].sql == 'CASE WHEN "quantity" IS NULL THEN 1 ELSE 0 END'
    assert found["amount_per_quantity"].sql == 'CAST("amount" AS REAL) / NULLIF("quantity", 0)'
    assert found["placed_on_month"].sql == "CAST(strftime('%m', \"placed_on\") AS INTEGER)"
    assert found["segment_is_O_Brien_co"].sql == "CASE WHEN \"segment\" = 'O''Brien & co' THEN 1 ELSE 0 END"
    assert found["segment_frequency"].sql == 'COUNT(*) OVER (PARTITION BY "segment")'


def test_postgres_gets_its_own_date_parts_and_casts():
    found = by_name(propose(PROFILE, target="churned", dialect="postgres", max_proposals=50))
    assert found["placed_on_day_of_week"].sql == 'EXTRACT(DOW FROM CAST("placed_on" AS DATE))'
    assert found["amount_per_quantity"].sql == 'CAST("amount" AS DOUBLE PRECISION) / NULLIF("quantity", 0)'


def test_the_offline_skill_proposes_from_the_context_and_abstains_without_a_target():
    context = {"task": "propose_features", "columns": PROFILE, "target": "churned", "dialect": "sqlite",
               "max_proposals": 5}
    reply = answer_context(context)
    assert len(reply["proposals"]) == 5 and reply["confidence"] > 0
    missing = answer_context({**context, "target": "revenue"})
    assert missing["proposals"] == [] and "no target column 'revenue'" in missing["refusal"]
    only_pii = answer_context({**context, "columns": [PROFILE[0], PROFILE[5], PROFILE[6]]})
    assert only_pii["proposals"] == [] and "no profiled column" in only_pii["refusal"]


def test_a_reply_is_read_defensively():
    reply = {"proposals": [{"sql": "  "}, "DROP TABLE x", {"name": "a b;c", "sql": "x" * 5000, "kind": "evil"},
                           {"sql": '"a" + 1', "columns": ["a", 3]}]}
    got = parse_proposals(reply, max_proposals=10)
    assert [(p.name, p.kind, len(p.sql)) for p in got] == [("a_b_c", "other", 2000), ("feature_2", "other", 7)]
    assert got[1].columns == ("a",)
    assert parse_proposals({"proposals": "nope"}, max_proposals=3) == []


@pytest.mark.parametrize("lifts, helps, why", [
    ([0.05, 0.06, 0.04, 0.05], True, "≥ 0.01"),
    ([0.005, 0.006, 0.004], False, "below the minimum"),
    ([0.09, -0.05, 0.08, -0.04], False, "CV noise"),      # mean 0.02, spread 0.075
])
def test_the_lift_rule_asks_for_a_minimum_and_more_than_the_fold_noise(lifts, helps, why):
    decided, reason = LiftRule(min_lift=0.01, noise_k=1.0).judge(lifts)
    assert decided is helps and why in reason


def test_the_lift_rule_is_validated_when_declared():
    for bad in ({"min_lift": 2}, {"folds": 1}, {"estimator": "svm"}, {"max_seconds": 0}):
        with pytest.raises(ConfigurationError):
            LiftRule(**bad)
