"""Defence in depth for PII on real Postgres: two real roles, created and dropped by the test.

The recipe of docs/postgres_readonly_role.md (steps 1-5, role names made unique) runs on a throwaway
database. The agent's role must not read a PII column even if the guard let a query through; the
approved-query role (``pii_conn_id``) reads it, and is opened only by a query a person approved.
The SQL agent graph runs with a compromised (scripted) model that asks for the PII column.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

import psycopg
import pytest

from airflow_aimod.core.agents import sql_agent
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.pii import PiiAwareExecutor
from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.schema_select import SchemaSelector
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import QueryExecutionError
from airflow_aimod.hooks import warehouse
from tests.pg import drop_roles, throwaway_database
from tests.support.scripted import ScriptedChatModel

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "postgres_readonly_role.md"
PII = ["users.email", "users.ssn"]


def recipe(agent: str, reader: str) -> str:
    """Every ```sql block of the doc, with the role names made unique (roles are cluster-wide)."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
    return "\n".join(blocks).replace("aimod_pii_reader", reader).replace("aimod_agent", agent)


@pytest.fixture(scope="module")
def roles():
    suffix = secrets.token_hex(4)
    agent, reader = f"aimod_agent_pii_{suffix}", f"aimod_reader_pii_{suffix}"
    with throwaway_database("aimod_test_pii") as url:
        try:
            with psycopg.connect(url, autocommit=True) as owner:
                owner.execute("CREATE TABLE users (id int PRIMARY KEY, name text, email text, ssn text, "
                              "created_at date DEFAULT '2024-01-01')")
                owner.execute("INSERT INTO users (id, name, email, ssn) SELECT g, 'user ' || g, "
                              "'u' || g || '@example.com', '000-00-' || g FROM generate_series(1, 5) g")
                owner.execute("CREATE TABLE customers (id int PRIMARY KEY, full_name text, phone text)")
                owner.execute("INSERT INTO customers VALUES (1, 'Ada Lovelace', '+44 20 0000')")
                owner.execute("CREATE TABLE orders (id int PRIMARY KEY, uid int, amount numeric)")
                owner.execute("INSERT INTO orders SELECT g, 1 + g % 5, g * 2.5 FROM generate_series(1, 20) g")
                owner.execute(recipe(agent, reader))
            yield {"owner": url, "agent": url.replace("postgres@", f"{agent}@", 1),
                   "reader": url.replace("postgres@", f"{reader}@", 1)}
        finally:
            drop_roles(url, agent, reader)


@pytest.fixture
def executors(roles):
    with PostgresReadOnlyExecutor(roles["agent"]) as default:
        opened: list[PostgresReadOnlyExecutor] = []

        def open_reader() -> PostgresReadOnlyExecutor:
            opened.append(PostgresReadOnlyExecutor(roles["reader"], pool_max=1))
            return opened[-1]

        with PiiAwareExecutor(default, pii_columns=PII, pii_tables=["customers"], open_approved=open_reader) as wrapped:
            yield default, wrapped, opened


def test_the_agent_role_cannot_read_pii_columns_even_past_the_guard(roles):
    with psycopg.connect(roles["agent"]) as conn:
        assert conn.execute("SELECT count(*), max(name) FROM users").fetchone() == (5, "user 5")
        for sql in ("SELECT email FROM users", "SELECT * FROM users", "SELECT row_to_json(u) FROM users u",
                    "SELECT count(*) FROM users WHERE ssn LIKE '000%'", "SELECT count(*) FROM customers"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for table"):
                conn.execute(sql)
            conn.rollback()
    with psycopg.connect(roles["reader"]) as conn:
        assert conn.execute("SELECT email FROM users WHERE id = 1").fetchone() == ("u1@example.com",)
        assert conn.execute("SELECT full_name FROM customers").fetchone() == ("Ada Lovelace",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE users SET email = 'x'")


def test_the_catalog_names_pii_columns_without_values_and_the_reader_stays_closed(executors):
    default, wrapped, opened = executors
    assert [c.name for c in default.catalog().table("users").columns] == ["id", "name", "created_at"]
    users = wrapped.with_samples(wrapped.catalog()).table("users")
    assert [c.name for c in users.columns] == ["id", "name", "created_at", "email", "ssn"]
    assert {c.name: c.type for c in users.columns}["email"] == "text"
    assert users.column("email").samples == () and users.column("ssn").samples == ()
    assert users.column("name").samples  # ordinary text columns are still sampled, by the agent's role
    assert wrapped.readable_pii_columns() == []
    assert default.catalog().table("customers") is None  # a PII table: the agent's role may not read it at all
    customers = wrapped.with_samples(wrapped.catalog()).table("customers")
    assert [(c.name, c.samples) for c in customers.columns] == [("id", ()), ("full_name", ()), ("phone", ())]
    assert opened == [], "the approved-query connection was opened without an approval"


def test_only_run_approved_uses_the_reader(executors):
    default, wrapped, opened = executors
    with pytest.raises(QueryExecutionError, match="permission denied for table users"):
        wrapped.run("SELECT email FROM users", max_rows=5, timeout_s=5)
    assert opened == []
    result = wrapped.run_approved("SELECT email FROM users ORDER BY id", max_rows=2, timeout_s=5)
    assert result.rows == (("u1@example.com",), ("u2@example.com",)) and result.truncated
    assert len(opened) == 1 and wrapped.approved_runs == 1
    wrapped.close()
    assert opened[0].stats() == {}, "closing the wrapper closes the approved connection"


def test_a_role_that_can_read_pii_is_warned_about_once(roles, caplog):
    caplog.set_level(logging.WARNING, logger="airflow_aimod.warehouse")
    with PostgresReadOnlyExecutor(roles["owner"]) as owner:
        wrapped = PiiAwareExecutor(owner, pii_columns=PII + ["orders.missing"])
        conn_id = f"owner_{secrets.token_hex(3)}"
        assert warehouse.warn_if_default_reads_pii(wrapped, conn_id=conn_id, pii_conn_id=None) == PII
        assert warehouse.warn_if_default_reads_pii(wrapped, conn_id=conn_id, pii_conn_id=None) == PII
    warnings = [r.getMessage() for r in caplog.records if r.name == "airflow_aimod.warehouse"]
    assert len(warnings) == 1, warnings
    assert "can read declared PII column(s) users.email, users.ssn" in warnings[0]
    assert "set pii_conn_id" in warnings[0]


def run_graph(executor, model, *, answer: dict | None = None):
    spec = get_agent("sql_agent")
    envelope = spec.envelope.override({"sql": {"pii_columns": PII}})
    sink = ListSink()
    runtime = AgentRuntime(spec=spec, envelope=envelope, llm=model, dialect="postgres",
                           tracer=Tracer(trace_id="p" * 32, agent=spec.name, sinks=[sink]))
    tools = sql_agent.SqlAgentTools(executor, SchemaSelector(), max_rows=10)
    with open_checkpointer("memory://") as saver:
        runner = AgentRunner(sql_agent.build_graph(runtime, tools), saver, thread_id="pii")
        first = runner.start(initial_state(request="list the users and their emails", agent=spec.name,
                                           tier=spec.tier, trace_id="p" * 32))
        final = runner.resume(answer) if answer is not None and first.paused else first
    return first, final


COMPROMISED = ScriptedChatModel.of([{"sql": "SELECT name, email FROM users ORDER BY id", "confidence": 0.99,
                                     "rationale": "the user asked for it"}])


def test_a_compromised_model_asking_for_pii_waits_for_a_person_and_then_uses_the_reader(executors):
    _, wrapped, opened = executors
    first, final = run_graph(wrapped, COMPROMISED.model_copy(update={"prompts": []}),
                             answer={"decision": "approve", "reviewer": "dpo"})
    assert first.paused and "touches PII column users.email" in first.interrupt["reasons"]
    assert final.state["status"] == "answered", final.state["reason"]
    assert final.state["result"]["rows"][0] == ["user 1", "u1@example.com"]
    assert wrapped.approved_runs == 1 and len(opened) == 1


def test_a_rejected_pii_query_never_runs_and_never_opens_the_reader(executors):
    _, wrapped, opened = executors
    first, final = run_graph(wrapped, COMPROMISED.model_copy(update={"prompts": []}),
                             answer={"decision": "reject", "reviewer": "dpo"})
    assert first.paused and final.state["status"] == "rejected"
    assert opened == [] and wrapped.approved_runs == 0


def test_questions_without_pii_run_as_the_agent_role(executors):
    _, wrapped, opened = executors
    model = ScriptedChatModel.of([{"sql": "SELECT count(*) AS n FROM orders", "confidence": 0.9}])
    first, _ = run_graph(wrapped, model)
    assert not first.paused and first.state["status"] == "answered"
    assert first.state["result"]["rows"] == [[20]]
    assert opened == [] and wrapped.approved_runs == 0


def test_the_hook_wires_two_airflow_connections(roles, monkeypatch, caplog):
    """Connections from Airflow (AIRFLOW_CONN_*): the reader is opened by an approved query only, never before."""
    from tests.pg import airflow_connection

    suffix = secrets.token_hex(3)
    agent_id, reader_id = f"wh_agent_{suffix}", f"wh_reader_{suffix}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{agent_id.upper()}", airflow_connection(roles["agent"]))
    monkeypatch.setenv(f"AIRFLOW_CONN_{reader_id.upper()}", airflow_connection(roles["reader"]))
    caplog.set_level(logging.WARNING, logger="airflow_aimod.warehouse")
    with warehouse.open_readonly_executor(agent_id) as default:
        wrapped = warehouse.pii_aware_executor(default, conn_id=agent_id, pii_conn_id=reader_id,
                                               pii_tables=(), pii_columns=PII)
        try:
            assert wrapped.approved_runs == 0 and wrapped._approved is None
            assert wrapped.run_approved("SELECT ssn FROM users WHERE id = 2", timeout_s=5).rows == (("000-00-2",),)
        finally:
            wrapped.close()
    assert not [r for r in caplog.records if r.name == "airflow_aimod.warehouse"], "the agent role is correct"


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"pii_conn_id": "warehouse"}, "pii_conn_id must name another connection than conn_id"),
    ({"pii_conn_id": ""}, "pii_conn_id must be an Airflow connection id"),
    ({"pii_conn_id": 5}, "pii_conn_id must be an Airflow connection id"),
])
def test_the_operator_refuses_a_useless_pii_connection(kwargs, says):
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.sql import SQLAgentOperator

    with pytest.raises(ConfigurationError, match=says):
        SQLAgentOperator(task_id="ask", question="q", conn_id="warehouse", pii_columns=PII, **kwargs)
    assert SQLAgentOperator(task_id="ok", question="q", conn_id="warehouse", pii_conn_id="warehouse_pii").pii_conn_id
