"""Schema-aware routing on warehouses none of the evaluation sets use, and instructions to act on the rows.

A request whose every word resolves to the warehouse (names, stored values, retrieval words,
predicates) is dispatched to the agent its intent words fit; a word the warehouse does not hold,
an ask for a judgement, or an instruction to act ('... and email them') leaves the decision to a
person, with the reason in the rationale. The NL→SQL engine refuses the same instructions.
"""

from __future__ import annotations

import pytest

from airflow_aimod.core.llm.offline.actions import requested_action
from airflow_aimod.core.llm.offline.nl2sql.composer import READ_ONLY
from airflow_aimod.core.llm.offline.route._data_request import read_data_request
from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier
from airflow_aimod.core.registry import routing_catalog
from airflow_aimod.core.routing import DISPATCH, decide, normalize_scores
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.core.schema_words import schema_words
from tests.unit.nl2sql_support import answer

# A port: camelCase, abbreviations, stored values. A clinic roster: snake_case, people as rows.
PORT = Catalog("sqlite", (
    Table("Vessel", (Column("vesselId", "INTEGER", False, True), Column("vesselNm", "TEXT"),
                     Column("flagCtry", "TEXT", samples=("Panama", "Liberia", "Malta"), distinct_count=3),
                     Column("grossTonnage", "REAL"))),
    Table("Berth", (Column("berthId", "INTEGER", False, True), Column("quay", "TEXT", samples=("east", "west"),
                                                                         distinct_count=2))),
    Table("PortCall", (Column("callId", "INTEGER", False, True), Column("vesselId", "INTEGER"),
                       Column("berthId", "INTEGER"), Column("arrivedAt", "DATE"), Column("dwellHrs", "REAL"),
                       Column("cargoType", "TEXT", samples=("bulk", "container", "tanker"), distinct_count=3))),
))
CLINIC = Catalog("sqlite", (
    Table("nurses", (Column("nurse_id", "INTEGER", False, True), Column("full_name", "TEXT"),
                     Column("phone", "TEXT"), Column("email", "TEXT"),
                     Column("shift", "TEXT", samples=("day", "night"), distinct_count=2))),
    Table("visits", (Column("visit_id", "INTEGER", False, True), Column("nurse_id", "INTEGER"),
                     Column("visited_on", "DATE"), Column("minutes", "INTEGER"))),
))
AGENTS = routing_catalog()
CLASSIFIER = RouteClassifier()


def _route(request: str, catalog: Catalog):
    reply = CLASSIFIER.classify(request, AGENTS, schema=schema_words(catalog.to_dict()))
    decision = decide(normalize_scores(reply["scores"], [a["name"] for a in AGENTS]))
    return (decision.agent if decision.decision == DISPATCH else None), reply


@pytest.mark.parametrize("request_, catalog", [
    ("how many vessels flagged in Malta", PORT),
    ("average dwell hours per quay", PORT),
    ("which tanker calls arrived in 2024", PORT),
    ("the 5 heaviest vessels by gross tonnage", PORT),
    ("number of port calls per cargo type", PORT),
    ("how many visits did each nurse make", CLINIC),
    ("total minutes per nurse on the night shift", CLINIC),
])
def test_a_request_in_the_warehouse_words_goes_to_the_sql_agent(request_, catalog):
    agent, reply = _route(request_, catalog)
    assert agent == "sql_agent", reply["rationale"]
    assert "a data request" in reply["rationale"]


@pytest.mark.parametrize("request_, catalog", [
    ("write a poem about vessels", PORT),
    ("what's the weather at the east quay", PORT),
    ("tell me about Panama", PORT),
    ("which vessel should we inspect next", PORT),
    ("how many pilots boarded the vessels", PORT),
    ("average crew size per vessel", PORT),
    ("how many doctors are on the night shift", CLINIC),
    ("do something with the nurses", CLINIC),
])
def test_off_topic_unsupported_or_judgement_requests_with_warehouse_words_go_to_a_person(request_, catalog):
    agent, reply = _route(request_, catalog)
    assert agent is None, reply


def test_a_word_the_warehouse_does_not_hold_is_named_in_the_rationale():
    agent, reply = _route("average crew size per vessel", PORT)
    assert agent is None and "'crew'" in reply["rationale"] and "does not hold" in reply["rationale"]


def test_other_data_agents_keep_their_requests_on_a_schema():
    assert _route("profile the PortCall table", PORT)[0] == "data_profiler"
    assert _route("detect anomalies in daily dwell hours", PORT)[0] == "anomaly_detector"


def test_the_reader_resolves_each_word_and_values_alone_need_an_aggregate():
    words = schema_words(PORT.to_dict())
    reading = read_data_request("how many bulk calls docked at the west quay", words)
    assert reading.plain and set(reading.values) == {"bulk", "west"} and "docked" in reading.predicates
    assert read_data_request("how many tanker", words).plain
    assert not read_data_request("which tanker", words).plain  # an opener and a value: too little to go on


@pytest.mark.parametrize("request_, catalog, action", [
    ("list nurses on the night shift and email them", CLINIC, "email them"),
    ("find the nurses with more than 100 visits, then call them", CLINIC, "call them"),
    ("text the nurses on the day shift", CLINIC, "text the nurses"),
    ("count the visits in 2023 and delete them", CLINIC, "delete them"),
    ("list the tanker calls and notify the vessels", PORT, "notify the vessels"),
])
def test_an_instruction_to_act_on_the_rows_goes_to_a_person_and_the_composer_refuses_it(request_, catalog, action):
    agent, reply = _route(request_, catalog)
    assert agent is None and f"({action!r})" in reply["rationale"], reply["rationale"]
    refused = answer(request_, catalog)
    assert refused["sql"] is None and ("act on the rows" in refused["refusal"] or refused["refusal"] == READ_ONLY)


@pytest.mark.parametrize("question", [
    "list the nurses on the night shift with their email",
    "name, email and phone of the nurses",
    "email addresses of the nurses on the day shift",
    "show the email of the nurses on the night shift",
])
def test_a_column_named_like_an_action_is_still_a_projection(question):
    assert requested_action(question, {"nurses", "visits"}) is None
    out = answer(question, CLINIC)
    assert out["sql"] and "email" in out["sql"], out


def test_a_column_word_after_the_verb_is_not_an_object_but_a_table_word_is():
    assert requested_action("call volume per day", {"calls"}) is None
    assert requested_action("text nurses on the night shift", {"nurses"}) == "text nurses"


@pytest.mark.parametrize("request_, agent", [
    ("send the weekly report to the board", "report_generator"),
    ("notify the on-call team about the failed DAG", "alert_manager"),
])
def test_an_action_on_no_rows_keeps_its_agent(request_, agent):
    """Acting on rows needs rows: a retrieval before it, or the data's own nouns as its object."""
    assert CLASSIFIER.classify(request_, AGENTS)["agent"] == agent
    assert decide(normalize_scores(CLASSIFIER.classify(request_, AGENTS)["scores"],
                                   [a["name"] for a in AGENTS])).decision == DISPATCH
