"""Verified examples: the store (dedupe, cap, revoke, export/import), BM25 retrieval, and re-binding."""

from __future__ import annotations

import pytest

from airflow_aimod.core.examples import Example, ExampleIndex, ExampleStore, rebind
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.core.store import open_store
from airflow_aimod.exceptions import ConfigurationError

CATALOG = Catalog("sqlite", (
    Table("shipment", (Column("shipment_id", "INTEGER", False, True), Column("from_port", "TEXT", True, False,
                                                                               ("Oslo", "Riga")),
                       Column("to_port", "TEXT", True, False, ("Oslo", "Riga", "Gdansk")),
                       Column("sent_on", "DATE"), Column("weight_t", "REAL"))),
))
TO_RIGA = "SELECT COUNT(*) FROM shipment WHERE to_port = 'Riga'"


def _example(question: str = "how many shipments went to Riga", answer: str = TO_RIGA, **kw) -> Example:
    return Example(**{"agent": "sql_agent", "question": question, "answer": answer, "verified_by": "ana",
                      "conn_id": "wh", **kw})


def test_examples_are_deduplicated_capped_and_revocable():
    store = ExampleStore(open_store("memory://"), cap=2)
    first = store.add(_example())
    assert store.add(_example("How many shipments went to Riga?", verified_by="bo")) == first
    assert [e.verified_by for e in store.list(agent="sql_agent")] == ["bo"]
    store.add(_example("total weight shipped", "SELECT SUM(weight_t) FROM shipment"))
    with pytest.raises(ConfigurationError, match="cap 2"):
        store.add(_example("how many shipments"))
    assert store.add(_example("how many shipments", conn_id="other"))  # the cap is per connection
    assert store.remove(first) and not store.remove(first)
    assert len(store.list(conn_id="wh")) == 1


def test_export_then_import_round_trips_and_validates_again():
    source, target = ExampleStore(open_store("memory://")), ExampleStore(open_store("memory://"))
    source.add(_example())
    source.add(Example(agent="task_router", question="weekly tonnage per port", answer="sql_agent",
                       verified_by="ana", source="route_review"))
    assert len(target.import_lines(source.export())) == 2
    assert {e.agent for e in target.list()} == {"sql_agent", "task_router"}
    with pytest.raises(ConfigurationError, match="line 1"):
        target.import_lines('{"agent": "sql_agent", "question": "q", "answer": "SELECT 1", "verified_by": ""}\n')


def test_an_example_needs_who_verified_it_and_a_known_source():
    with pytest.raises(ConfigurationError, match="verified_by"):
        Example(agent="sql_agent", question="q", answer="SELECT 1", verified_by=" ")
    with pytest.raises(ConfigurationError, match="source"):
        Example(agent="sql_agent", question="q", answer="SELECT 1", verified_by="a", source="guessed")


def test_bm25_ranks_the_closest_question_first_and_finds_nothing_unrelated():
    index = ExampleIndex(["how many shipments went to Riga", "total weight shipped per port",
                          "average weight of shipments in 2024"])
    assert index.search("how many shipments went to Oslo", k=1)[0][0] == 0
    assert index.search("weight per port")[0][0] == 1
    assert index.search("zebra giraffe") == []


def test_rebind_swaps_values_of_the_same_column_and_years_inside_dates():
    assert rebind("how many shipments went to Riga", TO_RIGA, "how many shipments went to Gdansk", CATALOG) == \
        "SELECT COUNT(*) FROM shipment WHERE to_port = 'Gdansk'"
    year = "SELECT SUM(weight_t) FROM shipment WHERE sent_on BETWEEN '2023-01-01' AND '2023-12-31'"
    assert rebind("total weight in 2023", year, "total weight in 2021", CATALOG) == year.replace("2023", "2021")


@pytest.mark.parametrize("question", [
    "how many shipments went from Riga",  # another direction: another shape
    "how many shipments went to Narvik",  # not a value in the data
    "how many shipments went to Riga by sea",  # more words: another question
])
def test_rebind_refuses_a_different_question(question: str):
    assert rebind("how many shipments went to Riga", TO_RIGA, question, CATALOG) is None


def test_rebind_refuses_sql_the_live_schema_cannot_run():
    stale = "SELECT COUNT(*) FROM shipment WHERE port_to = 'Riga'"
    assert rebind("how many shipments went to Riga", stale, "how many shipments went to Oslo", CATALOG) is None


def test_the_newest_examples_of_an_agent_come_from_one_indexed_read(tmp_path):
    raw = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store = ExampleStore(raw)
    for i, when in enumerate((100.0, 300.0, 200.0)):
        store.add(_example(f"how many shipments in week {i}", verified_at=when))
    store.add(Example(agent="task_router", question="weekly report", answer="report_generator", verified_by="bo",
                      verified_at=400.0))
    assert [e.verified_at for e in store.recent("sql_agent", limit=2)] == [300.0, 200.0]
    plan = " ".join(str(row[-1]) for row in raw.fetch(
        "EXPLAIN QUERY PLAN SELECT * FROM aimod_examples WHERE agent = ? ORDER BY verified_at DESC LIMIT ?",
        ("sql_agent", 2)))
    assert "aimod_examples_agent_time" in plan and "TEMP B-TREE" not in plan
