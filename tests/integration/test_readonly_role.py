"""Run the read-only role recipe from docs/postgres_readonly_role.md and prove what it refuses."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import psycopg
import pytest

from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
from tests.pg import drop_roles, throwaway_database

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "postgres_readonly_role.md"


def recipe(role: str) -> str:
    """The doc's ```sql block with the role renamed (roles are cluster-wide; tests must not collide)."""
    block = re.search(r"```sql\n(.*?)```", DOC.read_text(), re.S).group(1)
    return block.replace("aimod_agent", role)


@pytest.fixture(scope="module")
def role_database():
    role = f"aimod_agent_test_{secrets.token_hex(4)}"
    with throwaway_database("aimod_test_role") as url:
        try:
            with psycopg.connect(url, autocommit=True) as owner:
                owner.execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric)")
                owner.execute("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 10) g")
                owner.execute(recipe(role))
            yield url, url.replace("postgres@", f"{role}@", 1), role
        finally:
            drop_roles(url, role)


def refused(agent_url: str, *statements: str) -> str:
    with psycopg.connect(agent_url) as conn:
        with pytest.raises(psycopg.Error) as info:
            for statement in statements:
                conn.execute(statement)
        return str(info.value)


def test_the_role_reads(role_database):
    _, agent_url, _ = role_database
    with psycopg.connect(agent_url) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 10
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "30s"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


@pytest.mark.parametrize("statements, message", [
    (["INSERT INTO orders VALUES (99, 1)"], "read-only transaction"),
    (["SET transaction_read_only = off", "INSERT INTO orders VALUES (99, 1)"], "permission denied"),
    (["SET transaction_read_only = off", "DELETE FROM orders"], "permission denied"),
    (["SET transaction_read_only = off", "CREATE TABLE stolen (x int)"], "permission denied"),
    (["SELECT pg_sleep(0.01)"], "permission denied for function pg_sleep"),
    (["SELECT pg_advisory_lock(1)"], "permission denied for function pg_advisory_lock"),
    (["SELECT pg_notify('c', 'x')"], "permission denied for function pg_notify"),
])
def test_the_database_refuses_what_the_guard_refuses(role_database, statements, message):
    owner_url, agent_url, _ = role_database
    assert message in refused(agent_url, *statements)
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 10
        assert conn.execute("SELECT to_regclass('stolen')").fetchone()[0] is None


def test_the_read_only_executor_works_as_the_role(role_database):
    _, agent_url, _ = role_database
    with PostgresReadOnlyExecutor(agent_url) as executor:
        result = executor.run("SELECT sum(amount) AS total FROM orders", max_rows=5, timeout_s=5)
        assert result.rows == ((82.5,),)
        assert [t.name for t in executor.catalog().tables] == ["orders"]
