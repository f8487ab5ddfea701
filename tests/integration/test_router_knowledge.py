"""The router with a warehouse connection: its words and the verified examples, through the real graph."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.task_router import build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.examples import Example, ExampleStore
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import Tracer
from tests.unseen.warehouses import build_hospital


@pytest.fixture
def hospital(tmp_path, monkeypatch) -> str:
    build_hospital(tmp_path / "hospital.db")
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    conn = {"conn_type": "sqlite", "host": str(tmp_path / "hospital.db")}
    monkeypatch.setenv("AIRFLOW_CONN_HOSPITAL", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", store_url)
    return store_url


def _route(request: str, agents=None, schema=()) -> dict:
    spec = get_agent("task_router")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=OfflineChatModel(),
                           tracer=Tracer(trace_id="t" * 32, agent=spec.name))
    with open_checkpointer("memory://") as saver:
        runner = AgentRunner(build_graph(runtime, agents=agents, schema=schema), saver, thread_id="test")
        return runner.start(initial_state(request=request, agent=spec.name, tier=spec.tier,
                                          trace_id="t" * 32)).state["result"]


def test_the_warehouse_and_a_reviewers_choice_teach_the_router(hospital: str):
    from airflow_aimod.observability.sinks import shared_store
    from airflow_aimod.operators._knowledge import router_knowledge

    request = "admissions per doctor specialty"
    assert _route(request)["decision"] == "human_review"
    agents, words = router_knowledge("hospital")
    assert {"ward", "admissions", "stay", "hrs"} <= set(words)
    assert _route(request, agents, words)["agent"] == "sql_agent"

    shift = "ward occupancy handover for the night shift"
    assert _route(shift, agents, words)["decision"] == "human_review"
    ExampleStore(shared_store(hospital)).add(Example(agent="task_router", question=shift, answer="report_generator",
                                                     verified_by="nurse.lead", source="route_review"))
    agents, words = router_knowledge("hospital")
    taught = _route(shift, agents, words)
    assert taught["decision"] == "dispatch" and taught["agent"] == "report_generator"


def test_stored_values_are_sampled_once_per_schema_fingerprint_and_again_when_it_changes(hospital: str, tmp_path):
    import sqlite3

    from airflow_aimod.operators._knowledge import router_knowledge

    database = tmp_path / "hospital.db"
    assert "ward=icu" in router_knowledge("hospital")[1]
    with sqlite3.connect(database) as con:
        con.execute("UPDATE admissions SET ward = 'maternity' WHERE admission_id = 1")
    assert "ward=maternity" not in router_knowledge("hospital")[1]  # the same schema: its values are cached
    with sqlite3.connect(database) as con:
        con.execute("ALTER TABLE admissions ADD COLUMN bed_no INTEGER")
    words = router_knowledge("hospital")[1]
    assert "ward=maternity" in words and "bed" in words  # the schema changed: sampled again


def test_words_a_verified_sql_example_taught_are_warehouse_words_for_the_router(hospital: str):
    from airflow_aimod.observability.sinks import shared_store
    from airflow_aimod.operators._knowledge import router_knowledge

    request = "average los per ward"  # 'los': length of stay, the ward staff's word for stay_hrs
    agents, words = router_knowledge("hospital")
    assert _route(request, agents, words)["decision"] == "human_review"
    ExampleStore(shared_store(hospital)).add(Example(
        agent="sql_agent", question="average los in the icu ward", conn_id="hospital", verified_by="ward.clerk",
        answer="SELECT AVG(stay_hrs) FROM admissions WHERE ward = 'icu'", source="approved"))
    agents, words = router_knowledge("hospital")
    assert "los" in words
    routed = _route(request, agents, words)
    assert (routed["decision"], routed["agent"]) == ("dispatch", "sql_agent")
