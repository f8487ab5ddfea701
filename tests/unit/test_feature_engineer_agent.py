"""The feature engineer graph on a table with a known useful feature: the real profiler's profile, real executor,
SQL guard and checkpointer, the offline engine and a scripted hostile model."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.agents.data_profiler import ProfilerTools
from airflow_aimod.core.agents.data_profiler import build_graph as profiler_graph
from airflow_aimod.core.agents.feature_engineer import FeatureTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.ml.feature_lift import LiftRule
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.demo.features import with_shipments_table
from tests.support.scripted import ScriptedChatModel

NOISE = {"carrier", "handling_score"}
QUICK = LiftRule(folds=5, repeats=2)

pytestmark = pytest.mark.timeout(600)  # cross-validation on a shared, loaded machine


def run(agent, db, tools_of, *, model=None, request="Propose features for cost"):
    spec = get_agent(agent)
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-f", agent=spec.name, sinks=[ListSink()]))
    graph = build_graph if agent == "feature_engineer" else profiler_graph
    with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(db) as executor:
        state = initial_state(request=request, agent=spec.name, tier=spec.tier, trace_id="t-f")
        return AgentRunner(graph(runtime, tools_of(executor)), saver, thread_id="t").start(state).state


@pytest.fixture(scope="module")
def shipments(warehouse, tmp_path_factory):
    db = with_shipments_table(warehouse, tmp_path_factory.mktemp("features") / "shipments.db")
    profiled = run("data_profiler", db, lambda ex: ProfilerTools(ex, table="shipments"), request="Profile shipments")
    assert profiled["status"] == "answered", profiled["reason"]
    return db, profiled["result"]["profile"]


def objects(db):
    with sqlite3.connect(db) as con:
        return sorted(con.execute("SELECT type, name FROM sqlite_master").fetchall())


def test_the_ratio_the_target_depends_on_is_proposed_with_its_lift_and_noise_is_not(shipments):
    db, profile = shipments
    before = objects(db)
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="cost", rule=QUICK))
    result = state["result"]
    assert state["status"] == "answered", state["reason"]
    assert result["scoring"] == "r2" and result["task"] == "regression" and result["rows"] == 1200
    best = result["features"][0]
    assert best["name"] == "weight_kg_per_volume_l" and best["kind"] == "ratio"
    assert best["lift"] > 0.1 and best["lift"] > QUICK.noise_k * best["lift_std"]
    assert '"weight_kg"' in best["sql"] and '"volume_l"' in best["sql"]
    noise_only = [f["name"] for f in result["rejected"] if set(f["columns"]) <= NOISE]
    assert len(noise_only) >= 4  # proposed and measured: carrier encodings, the null indicator, ...
    assert not [f["name"] for f in result["features"] if set(f["columns"]) <= NOISE]
    assert "measured on all 1200 rows" in state["reason"] and not result["truncated"]
    assert objects(db) == before  # nothing created


def test_a_capped_read_says_the_lifts_come_from_a_sample(shipments):
    db, profile = shipments
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="cost", rule=QUICK,
                                                                   max_rows=400, max_proposals=4))
    assert state["status"] == "answered" and state["result"]["truncated"] and state["result"]["rows"] == 400
    assert "sample: the first 400 rows" in state["reason"]


def hostile(messages):
    good = {"name": "density", "sql": 'CAST("weight_kg" AS REAL) / NULLIF("volume_l", 0)', "kind": "ratio"}
    return {"proposals": [
        {"name": "materialize", "sql": 'CREATE TABLE features AS SELECT "weight_kg" / "volume_l" AS d FROM shipments'},
        {"name": "view", "sql": "CREATE VIEW leak AS SELECT * FROM shipments"},
        {"name": "stacked", "sql": '1 AS x FROM shipments; DROP TABLE shipments; SELECT 1'},
        {"name": "other_table", "sql": "(SELECT MAX(total_amount) FROM orders)"},
        {"name": "leak", "sql": '"cost" * 2'},
        {"name": "writes", "sql": "DELETE FROM shipments"},
        {"name": "smuggled", "sql": '"weight_kg" AS x, "volume_l"'},    # a second column
        {"name": "comment", "sql": '"weight_kg" --'}, good], "confidence": 0.99}


def test_a_hostile_models_ddl_and_writes_are_blocked_and_nothing_is_created(shipments):
    db, profile = shipments
    before = objects(db)
    model = ScriptedChatModel.of([hostile])
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="cost", rule=QUICK),
                model=model)
    assert objects(db) == before
    blocked = {b["name"]: b["blocked"] for b in state["result"]["blocked"]}
    assert set(blocked) == {"materialize", "view", "stacked", "other_table", "leak", "writes", "smuggled", "comment"}
    assert "sql.write" in get_agent("feature_engineer").envelope.deny
    for name, verb in (("materialize", "CREATE"), ("view", "CREATE"), ("writes", "DELETE")):
        assert blocked[name].startswith("a statement, not an expression — SQL guard: " + verb), blocked[name]
    assert all(blocked[n].startswith("SQL guard:") for n in ("stacked", "comment"))
    assert blocked["smuggled"].startswith("not one expression")
    assert "reads other tables" in blocked["other_table"] and "a leak" in blocked["leak"]
    assert state["status"] == "answered" and [f["name"] for f in state["result"]["features"]] == ["density"]
    reads = [e for e in state["events"] if e["kind"] == "tool_call" and e["name"] == "sql.read"]
    refused = [e for e in state["events"] if e["kind"] == "guard" and not e["data"]["allowed"]]
    assert len(reads) == 1 and "CREATE" not in state["result"]["sql"] and "DROP" not in state["result"]["sql"]
    assert len(refused) == 5  # the three statements, the stacked one and the comment


def test_a_missing_target_is_refused_before_any_model_call(shipments):
    db, profile = shipments
    model = ScriptedChatModel.of([hostile])
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="price"), model=model)
    assert state["status"] == "refused" and "target 'price' is not a column of shipments" in state["reason"]
    assert model.prompts == []


def test_an_expression_that_fails_on_the_data_is_dropped_and_the_rest_measured(shipments):
    db, profile = shipments
    bad = {"name": "bad", "sql": 'json_extract("carrier", \'$.x\')'}   # malformed JSON: fails when it runs
    good = {"name": "density", "sql": '"weight_kg" / "volume_l"'}
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="cost", rule=QUICK),
                model=ScriptedChatModel.of([{"proposals": [bad, good]}]))
    assert state["status"] == "answered", state["reason"]
    assert [b["name"] for b in state["result"]["blocked"]] == ["bad"]
    assert state["result"]["blocked"][0]["blocked"].startswith("fails on the data")
    assert [f["name"] for f in state["result"]["features"]] == ["density"]


def test_a_text_valued_feature_is_measured_as_a_category(shipments):
    db, profile = shipments
    banded = {"name": "density_band", "sql": 'CAST(ROUND("weight_kg" / "volume_l", 1) AS TEXT)'}  # '0.3', '0.4', ...
    state = run("feature_engineer", db, lambda ex: FeatureTools(ex, profile=profile, target="cost", rule=QUICK),
                model=ScriptedChatModel.of([{"proposals": [banded]}]))
    assert state["status"] == "answered", state["reason"]
    [measured] = state["result"]["features"]
    assert measured["name"] == "density_band" and measured["lift"] > 0.05
