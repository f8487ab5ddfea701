"""Expectation specs, proposals from a profile, and the GX runner on frames with known violations."""

from __future__ import annotations

import pytest

from airflow_aimod.core.validation import SUPPORTED, ExpectationSpec, GxRunner, frame_from_rows, parse_suite
from airflow_aimod.core.validation.proposals import propose_expectations
from airflow_aimod.exceptions import ConfigurationError


def spec(kind, **kwargs):
    return ExpectationSpec(kind, kwargs)


# --- specs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("item, message", [
    ({"type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "id"}},
     "Did you mean 'expect_column_values_to_not_be_null'"),
    ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_vale": 1}},
     "no argument 'min_vale'. Did you mean 'min_value'"),
    ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a"}}, "needs value_set"),
    ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "a"}}, "needs min_value, max_value or both"),
    ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": 5, "max_value": 1}},
     "min_value 5 is above max_value 1"),
    ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": "2024-01-01"}},
     "must be a number"),
    ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 1.5}}, "in (0, 1]"),
    ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a", "value_set": []}}, "must not be empty"),
    ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a", "value_set": "ab"}}, "must be a list"),
    ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "a", "regex": "("}}, "not a valid regular"),
    ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": ""}}, "non-empty string"),
    ({"type": "expect_table_row_count_to_equal", "kwargs": {"value": -1}}, "whole number >= 0"),
    ({"expectation_type": "expect_column_to_exist", "kwargs": {"column": "a"}}, "calls it 'type'"),
    ({"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "meta": {}}, "unknown keys ['meta']"),
])
def test_bad_specs_fail_with_what_to_fix(item, message):
    with pytest.raises(ConfigurationError, match=r"expectation #2 \(index 1\): .*" + _escaped(message)):
        parse_suite([{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}, item])


def _escaped(text):
    import re

    return re.escape(text)


def test_a_spec_round_trips_as_json_and_names_its_gx_class():
    item = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "s", "value_set": ["a", "b"]}}
    (parsed,) = parse_suite([item])
    assert parsed.to_dict() == item and parsed.key == ("expect_column_values_to_be_in_set", "s")
    assert parsed.gx_class_name == "ExpectColumnValuesToBeInSet"
    pair = spec("expect_column_pair_values_a_to_be_greater_than_b", column_A="x", column_B="y")
    assert pair.gx_class_name == "ExpectColumnPairValuesAToBeGreaterThanB" and pair.column == "x"
    assert parse_suite(None) == () and ExpectationSpec.of(parsed) is parsed
    with pytest.raises(ConfigurationError, match="a list of"):
        parse_suite(item)


def test_every_supported_type_and_argument_exists_in_great_expectations():
    from airflow_aimod.core.validation.gx_runner import load_gx

    load_gx()
    import great_expectations.expectations as gxe

    for kind, (required, optional) in SUPPORTED.items():
        cls = getattr(gxe, spec_class(kind))
        assert set(required) | set(optional) <= set(cls.__fields__), kind  # GX 1.x models are pydantic v1-style


def spec_class(kind):
    return "".join(part.capitalize() for part in kind.split("_"))


# --- proposals ---------------------------------------------------------------------------------------------------

def column(name, kind, *, nulls=0, distinct=None, low=None, high=None, top=(), pii=False):
    return {"name": name, "declared_type": "", "inferred_type": kind, "null_count": nulls, "null_rate": nulls / 10,
            "distinct_count": distinct, "min": low, "max": high, "mean": None, "quantiles": None,
            "top_values": [{"value": v, "count": n} for v, n in top], "pii": pii}


PROFILE = {"table": "t", "row_count": 10, "profiled_rows": 10, "sampled": False, "columns": [
    column("id", "integer", distinct=10, low=1, high=10),
    column("amount", "float", nulls=2, distinct=8, low=2.0, high=12.0),
    column("status", "string", distinct=2, top=[("a", 6), ("b", 4)]),
    column("email", "string", distinct=10, pii=True),
    column("day", "date", nulls=1, distinct=9, low="2024-01-01", high="2024-01-09"),
    column("qty", "integer", distinct=3, low=1, high=5),
]}


def test_proposals_from_a_profile_worked_by_hand():
    found = [(p.spec.type, p.spec.to_dict()["kwargs"]) for p in propose_expectations(PROFILE)]
    ints, floats, text = ["int64", "Int64Dtype"], ["float64", "int64", "Int64Dtype"], ["str"]
    assert found == [
        ("expect_table_columns_to_match_set",
         {"column_set": ["id", "amount", "status", "email", "day", "qty"], "exact_match": True}),
        ("expect_column_values_to_not_be_null", {"column": "id"}),
        ("expect_column_values_to_be_in_type_list", {"column": "id", "type_list": ints}),
        ("expect_column_values_to_be_unique", {"column": "id"}),  # 10 distinct in 10 rows; no range: an id
        ("expect_column_values_to_be_in_type_list", {"column": "amount", "type_list": floats}),  # 2 nulls: no not-null
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 1.0, "max_value": 13.0}),  # ±10% of 10
        ("expect_column_values_to_not_be_null", {"column": "status"}),
        ("expect_column_values_to_be_in_type_list", {"column": "status", "type_list": text}),
        ("expect_column_values_to_be_in_set", {"column": "status", "value_set": ["a", "b"]}),  # 6 + 4 = all 10 rows
        ("expect_column_values_to_not_be_null", {"column": "email"}),
        ("expect_column_values_to_be_in_type_list", {"column": "email", "type_list": text}),  # PII: no unique, no set
        ("expect_column_values_to_match_regex", {"column": "day", "regex": r"^\d{4}-\d{2}-\d{2}"}),
        ("expect_column_values_to_not_be_null", {"column": "qty"}),
        ("expect_column_values_to_be_in_type_list", {"column": "qty", "type_list": ints}),
        ("expect_column_values_to_be_between", {"column": "qty", "min_value": 0, "max_value": 6}),  # 0.6→0, 5.4→6
    ]


def test_each_proposal_carries_its_evidence_and_a_confidence_from_the_row_count():
    proposals = {(p.spec.type, p.spec.column): p for p in propose_expectations(PROFILE)}
    in_set = proposals[("expect_column_values_to_be_in_set", "status")]
    assert in_set.evidence == "status: all 10 non-null values are one of 2: a (6), b (4)"
    assert in_set.confidence == 0.5  # 0.5 + 0.45 * 10/1000, rounded
    assert "observed min 2, max 12" in proposals[("expect_column_values_to_be_between", "amount")].evidence
    big = {**PROFILE, "profiled_rows": 5000, "row_count": 9000, "sampled": True}
    confidences = {(p.spec.type, p.spec.column): p.confidence for p in propose_expectations(big)}
    assert confidences[("expect_table_columns_to_match_set", None)] == 0.95
    assert confidences[("expect_column_values_to_not_be_null", "id")] == 0.8  # a sample can miss rows


def test_a_profile_that_skipped_columns_asks_only_for_the_profiled_ones():
    (first, *_) = propose_expectations({**PROFILE, "skipped_columns": ["notes"]})
    assert first.spec.kwargs["exact_match"] is False and "1 not profiled" in first.evidence


def test_checks_the_user_already_makes_are_not_proposed_again():
    mine = parse_suite([{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id", "mostly": 0.9}}])
    keys = [(p.spec.type, p.spec.column) for p in propose_expectations(PROFILE, exclude=mine)]
    assert ("expect_column_values_to_not_be_null", "id") not in keys and len(keys) == 14


def test_an_incomplete_or_tiny_value_set_is_not_proposed():
    partial = column("s", "string", distinct=3, top=[("a", 6), ("b", 3)])  # 9 of 10 rows listed
    spread = column("s", "string", distinct=6, top=[(v, 1) for v in "abcdef"] + [("g", 4)])
    for col in (partial, spread):
        kinds = [p.spec.type for p in propose_expectations({**PROFILE, "columns": [col]})]
        assert "expect_column_values_to_be_in_set" not in kinds


def test_an_empty_profile_proposes_nothing_and_a_wrong_shape_says_what_is_expected():
    assert propose_expectations({**PROFILE, "profiled_rows": 0}) == []
    with pytest.raises(ConfigurationError, match="TableProfile.to_dict"):
        propose_expectations({"table": "t", "columns": "id"})


# --- the GX runner -----------------------------------------------------------------------------------------------

ROWS = [  # id, status, amount, day
    (1, "a", 1.5, "2024-01-01"), (2, "b", 2, "2024-01-02"), (3, "a", 3.5, "2024-01-03"),
    (3, "x", 250.0, "2024-01-04"), (None, "y", -4.0, "not a date"), (6, "a", None, "2024-01-06"),
]


def test_frame_dtypes_are_predictable():
    frame = frame_from_rows(["id", "status", "amount", "day"], ROWS)
    assert [str(t) for t in frame.dtypes] == ["Int64", "object", "float64", "object"]
    assert str(frame_from_rows(["n", "b"], [(1, True), (2, False)]).dtypes["n"]) == "int64"
    assert str(frame_from_rows(["n", "b"], [(1, True), (2, False)]).dtypes["b"]) == "object"
    with pytest.raises(ConfigurationError, match="more than once"):
        frame_from_rows(["a", "a"], [(1, 2)])


def test_the_runner_counts_each_violation_exactly():
    frame = frame_from_rows(["id", "status", "amount", "day"], ROWS)
    suite = parse_suite([
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},           # 1 null of 6
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},             # 3, 3: 2 rows
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": ["a", "b"]}},  # x, y
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0,
                                                                  "max_value": 100}},          # 250, -4 of 5 non-null
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "day", "regex": r"^\d{4}-\d{2}-\d{2}$"}},
        {"type": "expect_column_values_to_be_in_type_list", "kwargs": {"column": "id", "type_list": ["int64",
                                                                                                  "Int64Dtype"]}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 7}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "missing"}},
    ])
    summary = GxRunner().validate(frame, suite)
    assert (summary["success"], summary["evaluated"], summary["successful"], summary["failed"], summary["rows"]) == \
        (False, 8, 1, 7, 6)
    assert [r["success"] for r in summary["results"]] == [False, False, False, False, False, True, False, False]
    failures = {f["index"]: f for f in summary["failures"]}
    counts = {i: (f["unexpected_count"], f["unexpected_percent"]) for i, f in failures.items() if i < 5}
    assert counts == {0: (1, pytest.approx(100 / 6, abs=1e-3)), 1: (2, 40.0), 2: (2, pytest.approx(100 / 3, abs=1e-3)),
                      3: (2, 40.0), 4: (1, pytest.approx(100 / 6, abs=1e-3))}  # shares of the non-null values
    assert failures[1]["unexpected_values"] == [3] and sorted(failures[2]["unexpected_values"]) == ["x", "y"]
    assert sorted(failures[3]["unexpected_values"]) == [-4.0, 250.0]
    assert failures[4]["unexpected_values"] == ["not a date"]
    assert failures[6]["observed_value"] == 6 and failures[6]["unexpected_count"] is None
    assert "missing" in failures[7]["error"]
    assert all(f["number"] == f["index"] + 1 for f in summary["failures"])  # "#N" as parse errors count


def test_parse_errors_name_the_expectation_by_number_and_index():
    with pytest.raises(ConfigurationError, match=r"expectation #2 \(index 1\)"):
        parse_suite([{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}, {"type": "nope"}])


def test_values_of_withheld_columns_are_never_reported():
    frame = frame_from_rows(["email"], [("a@example.com",), ("a@example.com",), ("b@example.com",)])
    suite = parse_suite([{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "email"}}])
    (failure,) = GxRunner(withheld_columns=["EMAIL"]).validate(frame, suite)["failures"]
    assert failure["unexpected_count"] == 2 and failure["unexpected_values"] == [] and failure["values_withheld"]


def test_an_empty_suite_evaluates_nothing():
    summary = GxRunner().validate(frame_from_rows(["a"], [(1,)]), ())
    assert (summary["evaluated"], summary["success"], summary["failures"]) == (0, True, [])
