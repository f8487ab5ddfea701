"""Schema-aware routing on unseen warehouses: the schema lifts dispatch, people still get the rest."""

from __future__ import annotations

import pytest

from airflow_aimod.core.llm.engine import answer_context
from airflow_aimod.core.prompts import read_context, route_messages
from airflow_aimod.core.registry import routing_catalog
from tests.unseen.routing import evaluate


def test_the_schema_lifts_dispatch_and_keeps_people_in_the_loop(tmp_path):
    without = evaluate("dev", tmp_path, with_schema=False)
    with_schema = evaluate("dev", tmp_path, with_schema=True)
    assert with_schema["dispatched_right"] >= without["dispatched_right"] + 0.2, (without, with_schema)
    assert with_schema["to_person"] == 1.0
    assert with_schema["precision"] == 1.0


@pytest.mark.parametrize("split, right", [("heldout", 0.75), ("library", 0.80)])
def test_precision_first_on_warehouses_never_tuned_on(tmp_path, split, right):
    """Dispatched precision ≥ 0.95 and ≥ 0.90 of the rest to a person (the must-refuse questions count as
    requests a person must see); right-agent floors sit at or under the measured figures (held-out 0.76:
    its misses name things the warehouse does not spell, 'crowd', 'price', 'side', 'league')."""
    figures = evaluate(split, tmp_path, with_schema=True)
    assert figures["dispatched_right"] >= right, figures
    assert figures["precision"] >= 0.95, figures
    assert figures["to_person"] >= 0.90, figures


def test_the_route_prompt_carries_the_schema_to_the_offline_engine():
    agents = routing_catalog()
    prompt = route_messages("vessels docked at each berth", agents, schema=["vessel", "berth", "docked"])
    context = read_context(prompt.messages[-1][1])
    assert context["schema"] == ["vessel", "berth", "docked"]
    with_schema = answer_context(context)
    without = answer_context({**context, "schema": []})
    assert with_schema["scores"].get("sql_agent", 0) > without["scores"].get("sql_agent", 0)
