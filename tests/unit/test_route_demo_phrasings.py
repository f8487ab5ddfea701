"""Each agent's plain phrasings still reach it on the demo warehouse, with the warehouse's words as evidence.

The offline router scores a request against every agent's description and examples (TF-IDF), so a word added
to one agent's description moves the others' confidences: giving the feature engineer "profile", "nulls" and
"table" once dropped "profile the customers table" to 0.71, and the workflow DAG's plan waited for a person.
These phrasings pin what the example DAGs and the docs promise; a change to any agent's text must keep them.
"""

from __future__ import annotations

import pytest

from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier
from airflow_aimod.core.registry import routing_catalog
from airflow_aimod.core.routing import DISPATCH, decide, normalize_scores
from airflow_aimod.core.schema_words import schema_words
from tests.unit.nl2sql_support import catalog_from_sqlite

PHRASINGS = [
    ("profile the customers table", "data_profiler"),
    ("profile the orders table", "data_profiler"),
    ("How many orders are there per status?", "sql_agent"),
    ("What is the total revenue by country?", "sql_agent"),
    ("are there anomalies in daily orders", "anomaly_detector"),
    ("is the drop in daily revenue unusual?", "anomaly_detector"),
    ("check the orders table against its expectations", "schema_validator"),
    ("validate the orders table", "schema_validator"),  # the warehouse noun once took the verb's evidence
    ("run data quality checks on the customers table", "schema_validator"),
    ("summarize yesterday's pipeline runs", "summarizer"),
    ("write a weekly report on orders", "report_generator"),
    ("which ratios or encodings would help predict the order value", "feature_engineer"),
    ("check if the order amounts have drifted since last month", "drift_detector"),
]


@pytest.fixture(scope="module")
def demo_words(warehouse) -> list[str]:
    return schema_words(catalog_from_sqlite(warehouse).to_dict())


@pytest.mark.parametrize("request_text, agent", PHRASINGS)
def test_a_plain_phrasing_is_dispatched_to_its_agent(request_text, agent, demo_words):
    agents = routing_catalog()
    reply = RouteClassifier().classify(request_text, agents, schema=demo_words)
    decision = decide(normalize_scores(reply.get("scores"), [a["name"] for a in agents]))
    assert (decision.decision, decision.agent) == (DISPATCH, agent), reply["rationale"]
