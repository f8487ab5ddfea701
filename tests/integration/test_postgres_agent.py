"""The SQL agent on Postgres: offline engine, read-only executor, Postgres checkpointer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.schema_select import SchemaSelector
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import Tracer
from tests.support.pg_warehouse import load_into_postgres
from tests.pg import airflow_connection, throwaway_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_warehouse(warehouse):
    with throwaway_database("aimod_test_wh") as url:
        counts = load_into_postgres(url, warehouse)
        assert counts["orders"] > 10_000
        yield url


@pytest.fixture(scope="module")
def pg_checkpoints():
    with throwaway_database("aimod_test_ckpt") as url:
        yield url


def run_agent(warehouse_url, checkpoint_url, question, *, thread, answer=None, model=None):
    spec = get_agent("sql_agent")
    envelope = spec.envelope.override({"sql": {"pii_columns": ["customers.email", "customers.phone"]}})
    model = model or OfflineChatModel()
    runtime = AgentRuntime(spec=spec, envelope=envelope, llm=model, dialect="postgres",
                           tracer=Tracer(trace_id="pg-trace", agent=spec.name))
    with open_checkpointer(checkpoint_url) as saver, PostgresReadOnlyExecutor(warehouse_url) as executor:
        runner = AgentRunner(build_graph(runtime, SqlAgentTools(executor, SchemaSelector())), saver, thread_id=thread)
        if answer is not None:
            return runner.resume(answer)
        return runner.start(initial_state(request=question, agent=spec.name, tier=2, trace_id="pg-trace"))


def scalar(url, sql):
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_offline_engine_answers_on_postgres(pg_warehouse, pg_checkpoints):
    result = run_agent(pg_warehouse, pg_checkpoints, "How many orders were placed in 2024?", thread="count")
    expected = scalar(pg_warehouse, "SELECT count(*) FROM orders WHERE order_date >= '2024-01-01' "
                                    "AND order_date < '2025-01-01'")
    assert result.state["status"] == "answered", result.state["reason"]
    assert result.state["result"]["rows"] == [[expected]]


def test_revenue_join_on_postgres_matches_hand_written_sql(pg_warehouse, pg_checkpoints):
    result = run_agent(pg_warehouse, pg_checkpoints, "What is the total revenue by country?", thread="join")
    assert result.state["status"] == "answered", result.state["reason"]
    with psycopg.connect(pg_warehouse) as conn:
        expected = dict(conn.execute("SELECT c.country, sum(o.total_amount) FROM orders o JOIN customers c "
                                     "ON c.id = o.customer_id GROUP BY c.country").fetchall())
    got = {row[0]: row[1] for row in result.state["result"]["rows"]}
    assert got.keys() == expected.keys()
    assert all(abs(got[k] - float(expected[k])) < 0.01 for k in got)


def test_pii_pause_survives_the_postgres_checkpointer_and_resumes(pg_warehouse, pg_checkpoints):
    paused = run_agent(pg_warehouse, pg_checkpoints, "List the email addresses of customers in Germany",
                       thread="pii")
    assert paused.state["status"] == "needs_approval" and paused.state["proposed_actions"][-1]["tables"] == ["customers"]
    resumed = run_agent(pg_warehouse, pg_checkpoints, None, thread="pii",
                        answer={"decision": "approve", "reviewer": "dpo"})
    assert resumed.state["status"] == "answered" and resumed.state["result"]["rows"]
    assert resumed.state["token_usage"] == paused.state["token_usage"]  # no extra LLM call on resume
    assert json.loads(json.dumps(resumed.state)) == resumed.state


def test_cli_sql_ask_on_a_postgres_connection(pg_warehouse):
    env = {**os.environ, "AIRFLOW_CONN_PG_WAREHOUSE": airflow_connection(pg_warehouse)}
    proc = subprocess.run([sys.executable, "-m", "airflow_aimod.cli", "sql", "ask", "--conn-id", "pg_warehouse",
                           "--pii-tables", "customers", "how many products are there per category?"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["status"] == "answered" and len(out["rows"]) == scalar(
        pg_warehouse, "SELECT count(DISTINCT category) FROM products")
