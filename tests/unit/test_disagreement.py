"""Disagreement rules: conflicts and missing verdicts go to a person; agreement is explained."""

from __future__ import annotations

import pytest

from airflow_aimod.core.disagreement import DisagreementRule
from airflow_aimod.exceptions import ConfigurationError

RULE = DisagreementRule.of("quality_vs_anomaly", "data_profiler", "anomaly_detector")


def outcome(verdict, summary="s", status="answered"):
    return {"status": status, "result": {"assessment": {"subject": "orders", "verdict": verdict, "confidence": 0.8,
                                                        "summary": summary, "findings": []}}}


@pytest.mark.parametrize(("left", "right", "decision", "verdict"), [
    ("normal", "normal", "agree", "normal"),
    ("anomalous", "anomalous", "agree", "anomalous"),
    ("normal", "anomalous", "arbitrate", None),
    ("anomalous", "normal", "arbitrate", None),
    ("unknown", "anomalous", "arbitrate", None),
    ("normal", "unknown", "arbitrate", None),
    ("unknown", "unknown", "agree", "unknown"),
])
def test_default_rule(left, right, decision, verdict):
    judged = RULE.evaluate(outcome(left), outcome(right))
    assert (judged.outcome, judged.verdict) == (decision, verdict)
    assert judged.reason and judged.left["verdict"] == left and judged.right["verdict"] == right


def test_conflict_reason_names_both_agents():
    judged = RULE.evaluate(outcome("normal"), outcome("anomalous"))
    assert judged.reason == "data_profiler says normal but anomaly_detector says anomalous"


def test_deferring_on_unknown_lets_the_other_verdict_stand():
    rule = DisagreementRule.of("r", "data_profiler", "anomaly_detector", on_unknown="defer")
    assert rule.evaluate(outcome("unknown"), outcome("anomalous")).verdict == "anomalous"
    assert rule.evaluate(outcome("normal"), outcome("unknown")).verdict == "normal"


def test_undeclared_differences_keep_the_more_cautious_verdict():
    rule = DisagreementRule.of("lenient", "data_profiler", "anomaly_detector", conflicts=[])
    judged = rule.evaluate(outcome("normal"), outcome("anomalous"))
    assert (judged.outcome, judged.verdict) == ("agree", "anomalous")


def test_an_agent_without_an_assessment_is_never_counted_as_agreeing():
    refused = {"status": "refused", "reason": "the table does not exist", "result": {}}
    judged = RULE.evaluate(refused, outcome("normal"))
    assert judged.outcome == "arbitrate" and "refused" in judged.reason and "does not exist" in judged.reason


def test_bare_assessments_work_too():
    bare = outcome("anomalous")["result"]["assessment"]
    assert RULE.evaluate(bare, bare).outcome == "agree"


@pytest.mark.parametrize(("args", "message"), [
    (("r", "data_profilr", "anomaly_detector"), "Did you mean data_profiler"),
    (("r", "data_profiler", "anomaly_detector", [("normal", "weird")]), "unknown verdicts"),
])
def test_bad_rules_fail_with_a_fix(args, message):
    with pytest.raises(ConfigurationError, match=message):
        DisagreementRule.of(*args)


def test_on_unknown_is_validated():
    with pytest.raises(ConfigurationError, match="on_unknown"):
        DisagreementRule.of("r", "data_profiler", "anomaly_detector", on_unknown="guess")


def test_judgement_is_json():
    import json

    json.dumps(RULE.evaluate(outcome("normal"), outcome("anomalous")).to_dict())
