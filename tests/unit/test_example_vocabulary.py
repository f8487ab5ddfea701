"""Learning a warehouse's jargon from verified examples (``core.examples.vocabulary``), on the gigs schema.

Cost: builds one small SQLite warehouse per module; well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_aimod.core.examples.vocabulary import VocabularyCache, learn
from tests.unit.nl2sql_support import answer, catalog_from_sqlite
from tests.unseen.gigs import GIGS_VERIFIED
from tests.unseen.warehouses import build_gigs


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("gigs")) / "gigs.db"
    build_gigs(path)
    return catalog_from_sqlite(path)


def _learned(vocabulary) -> dict[str, str]:
    return {e.phrase: e.element() for e in vocabulary.entries}


def test_unread_words_align_with_the_elements_the_sql_used_and_the_question_did_not_name(catalog):
    learned = _learned(learn(GIGS_VERIFIED, catalog))
    assert learned["turnout"] == "SUM(gigs.tickets_sold)"  # 'turnout per artist' summed it, unasked
    assert learned["box office"] == "SUM(gigs.gross_amt)"  # two words, one phrase
    assert learned["audience"] == "gigs.tickets_sold"  # only asked with an aggregate: none implied
    assert {learned["acts"], learned["bands"], learned["performers"]} == {"artists"}  # synonyms of one table
    assert learned["concerts"] == learned["shows"] == "gigs"
    assert not {"play", "took", "held", "place"} & set(learned)  # words in verb position are never aligned


def test_a_word_two_examples_read_differently_is_not_learned_and_is_reported(catalog):
    pairs = [("total turnout in 2023", "SELECT SUM(tickets_sold) FROM gigs WHERE gig_dt < '2024-01-01'"),
             ("average turnout at Blue Hall", "SELECT AVG(g.promoter_fee) FROM gigs g JOIN venues v "
              "ON v.venue_id = g.venue_id WHERE v.venue_name = 'Blue Hall'")]
    vocabulary = learn(pairs, catalog)
    assert "turnout" not in _learned(vocabulary)
    assert any("turnout" in c and "tickets_sold" in c and "promoter_fee" in c for c in vocabulary.conflicts)


def test_an_example_whose_sql_no_longer_fits_the_schema_is_skipped_and_reported(catalog):
    vocabulary = learn([("crowd per room", "SELECT room, SUM(crowd) FROM shows GROUP BY room")], catalog)
    assert vocabulary.entries == [] and "lacks" in vocabulary.skipped[0]


def test_learned_words_are_read_by_the_engine_and_a_learned_aggregate_yields_to_an_asked_one(catalog):
    vocabulary = learn(GIGS_VERIFIED, catalog).to_list()
    assert answer("turnout per venue", catalog)["sql"] is None
    implied = answer("turnout per venue", catalog, vocabulary=vocabulary)["sql"]
    assert "SUM(g.tickets_sold)" in implied and "venue" in implied
    assert "MAX(g.tickets_sold)" in answer("highest turnout in 2024", catalog, vocabulary=vocabulary)["sql"]
    assert answer("how many encores did the bands play", catalog, vocabulary=vocabulary)["sql"] is None


def test_a_learned_word_the_schema_reads_otherwise_makes_the_engine_abstain_naming_both(catalog):
    taught = [{"phrase": "city", "table": "gigs", "column": "tickets_sold", "agg": None}]
    out = answer("average promoter fee per city", catalog, vocabulary=taught)
    assert out["sql"] is None
    assert "gigs.tickets_sold" in out["refusal"] and "venues.city" in out["refusal"]


def test_revoking_an_example_unlearns_its_word_and_the_cache_is_keyed_by_schema_and_examples(catalog):
    cache = VocabularyCache()
    first = cache.get("gigs_db", "fp1", GIGS_VERIFIED, catalog)
    assert cache.get("gigs_db", "fp1", list(GIGS_VERIFIED), catalog) is first
    without = [pair for pair in GIGS_VERIFIED if "audience" not in pair[0]]
    assert "audience" not in _learned(cache.get("gigs_db", "fp1", without, catalog))
    assert cache.get("gigs_db", "fp2", GIGS_VERIFIED, catalog) is not first
    assert "turnout" in first.words() and "office" in first.words()


def test_the_sql_agent_answers_in_the_learned_words_through_its_graph(tmp_path, catalog):
    """The agent's real graph (offline model, SQLite executor, guard, checkpointer): the learned words reach
    the engine through the prompt, and the answer runs."""
    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
    from airflow_aimod.core.checkpoints import open_checkpointer
    from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
    from airflow_aimod.core.llm.offline import OfflineChatModel
    from airflow_aimod.core.registry import get_agent
    from airflow_aimod.core.runner import AgentRunner
    from airflow_aimod.core.schema_select import SchemaSelector
    from airflow_aimod.core.state import initial_state
    from airflow_aimod.core.tracing import Tracer

    build_gigs(tmp_path / "gigs.db")
    cache, spec = VocabularyCache(), get_agent("sql_agent")

    def run(vocabulary):
        runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=OfflineChatModel(),
                               tracer=Tracer(trace_id="v" * 32, agent=spec.name))
        with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(tmp_path / "gigs.db") as executor:
            tools = SqlAgentTools(executor, SchemaSelector(), vocabulary=vocabulary)
            state = initial_state(request="box office per genre", agent=spec.name, tier=spec.tier,
                                  trace_id="v" * 32)
            return AgentRunner(build_graph(runtime, tools), saver, thread_id="v").start(state).state

    assert run(None)["status"] == "refused"
    taught = run(lambda full, sampled: cache.get("gigs", "fp", GIGS_VERIFIED, sampled))
    assert taught["status"] == "answered", taught.get("reason")
    assert "SUM(g.gross_amt)" in taught["result"]["sql"] and len(taught["result"]["rows"]) == 5
