"""The faithfulness checker on (source, summary) pairs, and the extractive summarizer that passes it."""

from __future__ import annotations

import pytest

from airflow_aimod.core.summaries import ExtractiveSummarizer, FaithfulnessChecker, source_text
from tests.unit.faithfulness_cases import CASES, HELD_OUT, NEW_HELD_OUT


def scores(cases):
    checker = FaithfulnessChecker()
    tp = fp = fn = 0
    for source, summary, faithful, _kind in cases:
        flagged = not checker.check(source_text(source), summary).faithful
        tp += flagged and not faithful
        fp += flagged and faithful
        fn += (not flagged) and not faithful
    return tp / max(1, tp + fp), tp / max(1, tp + fn), fp


@pytest.mark.parametrize("source,summary,faithful,kind", CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_each_pair_is_judged_right(source, summary, faithful, kind):
    report = FaithfulnessChecker().check(source_text(source), summary)
    assert report.faithful is faithful, (kind, report.unsupported)


def test_the_held_out_sets_keep_precision_and_recall_with_no_false_alarm():
    for name, cases in (("held-out", HELD_OUT), ("number words and contradictions", NEW_HELD_OUT)):
        precision, recall, false_alarms = scores(cases)
        print(f"{name}: precision {precision:.2f} recall {recall:.2f} false alarms {false_alarms}")
        assert precision >= 0.9 and recall >= 0.9 and false_alarms == 0, name


@pytest.mark.parametrize("summary,faithful", [
    ("One task was blocked.", True), ("A single task was blocked.", True), ("Two tasks were blocked.", False),
    ("No task was blocked.", False), ("The job was retried twice.", True), ("The job was retried 2 times.", True),
    ("The job was retried three times.", False), ("A dozen rows were late.", True), ("Eleven rows were late.", False),
    ("None of the rows were dropped.", True), ("No rows were dropped.", True),
])
def test_number_words_read_as_their_numbers(summary, faithful):
    source = ("failures 1: task_id load, try 5. blocked: 1. The job was retried twice. 12 rows were late; 0 rows "
              "were dropped.")
    assert FaithfulnessChecker().check(source, summary).faithful is faithful, summary


@pytest.mark.parametrize("summary,faithful", [
    ("orders_load failed permanently.", False), ("orders_load failed transiently.", True),
    ("orders_load's failure was not permanent.", True), ("billing_sync failed permanently.", True),
    ("INC-7 is resolved.", False), ("INC-7 is unresolved.", True), ("INC-8 is resolved.", True),
    ("INC-7 is not resolved, INC-8 is.", True), ("The canary stayed healthy.", True),
    ("The canary was unhealthy.", False), ("INC-8 was a critical incident.", False),
])
def test_a_category_word_whose_source_counterpart_is_its_opposite_fails(summary, faithful):
    source = ("failures 1: task orders_load, classification transient. failures 2: task billing_sync, "
              "classification permanent. incidents 1: id INC-7, severity warning, resolved no. incidents 2: id INC-8, "
              "severity info, resolved yes. The canary stayed healthy.")
    report = FaithfulnessChecker().check(source, summary)
    assert report.faithful is faithful, (summary, report.unsupported)


def test_a_rounding_is_supported_and_a_changed_digit_is_not():
    checker = FaithfulnessChecker()
    source = "The load wrote 1,284,311 rows."
    assert checker.check(source, "The load wrote about 1.28 million rows.").faithful
    assert checker.check(source, "The load wrote 1,284,311 rows.").faithful
    bad = checker.check(source, "The load wrote 1,284,331 rows.")
    assert not bad.faithful and bad.unsupported[0]["text"] == "1,284,331"


@pytest.mark.parametrize("audience", ["engineer", "stakeholder"])
@pytest.mark.parametrize("max_words", [12, 30, 80])
def test_extractive_summaries_pass_the_check_by_construction_within_the_budget(audience, max_words):
    summarizer = ExtractiveSummarizer(max_words=max_words, audience=audience)
    for source in {c[0] for c in CASES + HELD_OUT + NEW_HELD_OUT}:
        text = source_text(source)
        summary = summarizer.summarize(text)
        assert summary and len(summary.replace(" …", "").split()) <= max_words
        assert FaithfulnessChecker().check(text, summary).faithful, summary


def test_an_agent_outcome_is_flattened_one_record_per_line():
    text = source_text({"status": "answered", "result": {"flags": [{"ts": "2024-06-15", "value": 327}]}})
    assert "status: answered." in text and "result flags 1: ts 2024-06-15, value 327." in text
    assert source_text("{'a': 1}") == "a: 1."  # a rendered Python dict reads like JSON
