"""Hostile sizes and shapes are refused BEFORE parsing, with a clear message, by the bounds the policy sets.

These tests check verdicts, not time: the guard's cost on the same inputs is measured as a ratio in
benchmarks/bench_sqlguard.py. Each hostile input here is one that took sqlglot seconds to minutes
(4,000/8,000 chained CTEs, a 1 MB SELECT) or crashed its recursive parser (deep nesting).
"""

from __future__ import annotations

import pytest

from airflow_aimod.core.permissions import Action, Envelope, PermissionValidator, SqlPolicy
from airflow_aimod.core.sqlbounds import SqlBounds
from airflow_aimod.core.sqlguard import SqlGuard
from airflow_aimod.exceptions import ConfigurationError


def cte_chain(n: int) -> str:
    """``WITH c0 AS (SELECT 1 AS x), c1 AS (SELECT x FROM c0), ... SELECT x FROM c{n-1}``."""
    ctes = ["c0 AS (SELECT 1 AS x)"] + [f"c{i} AS (SELECT x FROM c{i - 1})" for i in range(1, n)]
    return "WITH " + ", ".join(ctes) + f" SELECT x FROM c{n - 1}"


def wide_select(target_bytes: int) -> str:
    columns, size, i = [], 30, 0
    while size < target_bytes:
        columns.append(f"col_{i}")
        size += len(columns[-1]) + 2
        i += 1
    return "SELECT " + ", ".join(columns) + " FROM t"


def in_list(n: int) -> str:
    return "SELECT id FROM t WHERE id IN (" + ", ".join(str(i) for i in range(n)) + ")"


HOSTILE = [
    ("4000-CTE chain", cte_chain(4_000), "bytes, more than the 65,536 allowed"),
    ("8000-CTE chain", cte_chain(8_000), "bytes, more than the 65,536 allowed"),
    ("100-CTE chain (small)", cte_chain(100), "defines 100 CTEs, more than the 30 allowed"),
    ("1 MB SELECT", wide_select(1_000_000), "bytes, more than the 65,536 allowed"),
    ("60 KB SELECT list", wide_select(60_000), "tokens, more than the 5,000 allowed"),
    ("9,000-value IN list", in_list(9_000), "tokens, more than the 5,000 allowed"),
    ("deep brackets", "SELECT " + "(" * 200 + "1" + ")" * 200, "nested 200 levels deep"),
    ("deep subqueries", "SELECT " + "(SELECT " * 40 + "1" + ")" * 40, "nested 40 levels deep"),
    ("deep CASE", "SELECT " + "CASE WHEN x THEN " * 40 + "1" + " END" * 40 + " FROM t", "nested 40 levels deep"),
    ("unbalanced brackets", "SELECT " + "(" * 6_000, "tokens, more than the 5,000 allowed"),
    ("many UNION blocks", " UNION ALL ".join(["SELECT 1"] * 100), "100 SELECT blocks, more than the 60 allowed"),
    ("NUL byte", "SELECT 1\x00; DROP TABLE t", "contains a NUL byte at character 8"),
    ("NUL only", "\x00", "contains a NUL byte at character 0"),
    ("lone surrogate", "SELECT '\udcff' AS x", "not valid UTF-8"),
    ("invalid UTF-8 bytes", b"SELECT '\xff\xfe' AS x", "not valid UTF-8 (byte 0xff at offset 8)"),
    ("huge comment", "SELECT 1 /* " + "x" * 70_000 + " */", "bytes, more than the 65,536 allowed"),
    ("unterminated comments", "SELECT 1 " + "/*" * 20_000, "tokens"),
    ("unterminated quotes", "SELECT " + "'a" * 20_000, "tokens"),
    ("many tiny tokens", "SELECT " + "+".join(["1"] * 12_000), "tokens, more than the 5,000 allowed"),
    ("NOT chain", "SELECT " + "NOT " * 4_500 + "TRUE", "nested 4500 levels deep"),
    ("minus chain", "SELECT " + "- " * 500 + "1", "nested 500 levels deep"),

]


@pytest.mark.parametrize(("sql", "says"), [(sql, says) for _, sql, says in HOSTILE], ids=[n for n, _, _ in HOSTILE])
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_hostile_input_is_refused_with_a_clear_message(sql: str | bytes, says: str, dialect: str) -> None:
    verdict = SqlGuard(dialect=dialect).check(sql)
    assert not verdict.allowed and not verdict.requires_approval
    assert verdict.statement is None and len(verdict.violations) == 1
    assert says in verdict.violations[0], verdict.violations
    assert "\n" not in verdict.violations[0]


def test_deep_postgres_arrays_count_as_nesting() -> None:
    verdict = SqlGuard(dialect="postgres").check("SELECT " + "ARRAY[" * 50 + "1" + "]" * 50 + " AS a")
    assert verdict.violations[0].startswith("SQL is nested 50 levels deep")


@pytest.mark.parametrize("sql", [
    cte_chain(30),
    "SELECT " + "(" * 30 + "1" + ")" * 30,
    in_list(2_400),
    " UNION ALL ".join(["SELECT 1"] * 60),
    "WITH a AS MATERIALIZED (SELECT 1 AS x), b AS NOT MATERIALIZED (SELECT x FROM a) SELECT CAST(x AS INT) FROM b",
    "SELECT '" + "é" * 20_000 + "' AS long_literal",
    "SELECT NOT NOT TRUE, - - 1, count(*) FILTER (WHERE NOT x) FROM t",
])
def test_large_but_legal_queries_still_pass(sql: str) -> None:
    verdict = SqlGuard(dialect="postgres").check(sql)
    assert verdict.allowed, verdict.violations


def test_nul_bytes_are_refused_even_when_the_rest_is_a_valid_query() -> None:
    verdict = SqlGuard().check("SELECT id FROM t\x00")
    assert verdict.violations == ("SQL contains a NUL byte at character 16: remove it and send plain text",)


def test_bounds_come_from_the_policy_and_the_envelope() -> None:
    envelope = Envelope(allow=frozenset({"sql.read"}), sql=SqlPolicy(max_sql_ctes=2, max_sql_bytes=1_000))
    validator = PermissionValidator(envelope, dialect="postgres")
    assert validator.check(Action("sql.read", params={"sql": cte_chain(2)})).allowed
    refused = validator.check(Action("sql.read", params={"sql": cte_chain(3)}))
    assert not refused.allowed and "defines 3 CTEs, more than the 2 allowed" in refused.reasons[0]
    assert "max_sql_ctes" in refused.reasons[0]
    wider = envelope.override({"sql": {"max_sql_ctes": 5}})
    assert PermissionValidator(wider, dialect="postgres").check(Action("sql.read", params={"sql": cte_chain(3)})).allowed
    long = PermissionValidator(envelope).check(Action("sql.read", params={"sql": wide_select(2_000)}))
    assert "more than the 1,000 allowed" in long.reasons[0]


@pytest.mark.parametrize("field", ["max_bytes", "max_tokens", "max_nesting", "max_ctes", "max_selects"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True, None])
def test_bad_bounds_are_configuration_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"SQL bound {field} must be an integer >= 1"):
        SqlBounds(**{field: value})  # type: ignore[arg-type]


def test_bad_policy_bounds_fail_the_envelope() -> None:
    with pytest.raises(ConfigurationError, match="max_tokens must be an integer >= 1"):
        SqlPolicy(max_sql_tokens=0)


def test_the_guard_survives_a_deep_caller_stack() -> None:
    """Within the nesting bound the recursive parser must not overflow even when called deep in a stack."""
    sql = "SELECT " + "(" * 30 + "1" + ")" * 30

    def nested(depth: int) -> object:
        return nested(depth - 1) if depth else SqlGuard(dialect="postgres").check(sql)

    verdict = nested(250)
    assert verdict.allowed, verdict.violations
