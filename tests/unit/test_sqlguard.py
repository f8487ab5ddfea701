"""Data-driven tests of the read-only SQL guard (airflow_aimod.core.sqlguard)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from airflow_aimod.core import sqlguard
from airflow_aimod.core.sqlguard import SqlGuard, SqlVerdict
from airflow_aimod.exceptions import ConfigurationError, SqlRejected
from tests.unit.sqlguard_cases import (
    ABCDE, ACCEPTED, FIVE_JOINS, LIMIT_CASES, PII_CASES, PII_COLUMNS, PII_TABLES, SIX_JOINS,
)
from tests.unit.sqlguard_reject_cases import REJECTED


def _verdict(sql: str, dialect: str, **kwargs: object) -> SqlVerdict:
    return SqlGuard(dialect=dialect, **kwargs).check(sql)


@pytest.mark.parametrize(("sql", "dialect", "tables"), ACCEPTED)
def test_accepts(sql: str, dialect: str, tables: tuple[str, ...]) -> None:
    verdict = _verdict(sql, dialect)
    assert verdict.allowed, verdict.violations
    assert verdict.violations == ()
    assert verdict.tables == tables
    assert verdict.requires_approval is False
    assert verdict.statement


@pytest.mark.parametrize(("sql", "dialect", "needle"), REJECTED)
def test_rejects(sql: str, dialect: str, needle: str) -> None:
    verdict = _verdict(sql, dialect)
    assert verdict.allowed is False
    assert verdict.requires_approval is False
    assert any(needle.lower() in v.lower() for v in verdict.violations), verdict.violations
    assert all(isinstance(v, str) and v for v in verdict.violations)


@pytest.mark.parametrize(("sql", "dialect", "reason"), PII_CASES)
def test_pii_approval(sql: str, dialect: str, reason: str | None) -> None:
    verdict = _verdict(sql, dialect, pii_tables=PII_TABLES, pii_columns=PII_COLUMNS)
    assert verdict.allowed, verdict.violations
    assert verdict.requires_approval is (reason is not None)
    if reason is None:
        assert verdict.approval_reasons == ()
    else:
        assert any(reason.lower() in r.lower() for r in verdict.approval_reasons), verdict.approval_reasons


@pytest.mark.parametrize("spelling", ["customers", "public.customers", '"Customers"', "CUSTOMERS"])
def test_pii_tables_config_spellings(spelling: str) -> None:
    verdict = _verdict("SELECT * FROM Customers", "postgres", pii_tables=[spelling])
    assert verdict.requires_approval and verdict.approval_reasons == ("touches PII table customers",)


def test_rejected_query_on_pii_table_needs_no_approval_but_keeps_reasons() -> None:
    verdict = _verdict("SELECT * FROM customers FOR UPDATE", "postgres", pii_tables=PII_TABLES)
    assert verdict.allowed is False and verdict.requires_approval is False
    assert verdict.approval_reasons == ("touches PII table customers",)


@pytest.mark.parametrize(("sql", "max_tables", "allowed", "tables"), [
    ("SELECT * FROM a, a", 1, True, ("a",)),
    ("SELECT * FROM a JOIN a AS a2 ON a.id = a2.id", 1, True, ("a",)),
    ("WITH x AS (SELECT * FROM a) SELECT * FROM x, x AS y", 1, True, ("a",)),
    ("WITH x AS (SELECT 1), y AS (SELECT 2), z AS (SELECT 3) SELECT * FROM x, y, z", 1, True, ()),
    ("SELECT * FROM a, b", 1, False, ("a", "b")),
    ("SELECT * FROM a, public.a", 1, False, ("a", "public.a")),
    ("WITH b AS (SELECT * FROM a), a AS (SELECT 1) SELECT * FROM b", 1, True, ("a",)),
    ("SELECT * FROM generate_series(1, 3), a", 1, True, ("a",)),
    (FIVE_JOINS, 5, True, ABCDE),
    (SIX_JOINS, 5, False, ("a", "b", "c", "d", "e", "f")),
    (SIX_JOINS, 6, True, ("a", "b", "c", "d", "e", "f")),
])
def test_table_counting(sql: str, max_tables: int, allowed: bool, tables: tuple[str, ...]) -> None:
    verdict = _verdict(sql, "postgres", max_tables=max_tables)
    assert verdict.allowed is allowed, verdict.violations
    assert verdict.tables == tables


def _outer_limit(statement: str, dialect: str) -> tuple[int, bool]:
    """Return (outer row limit, wrapped in _aimod_limited) of a rendered statement."""
    tree = sqlglot.parse_one(statement, read=dialect)
    limit = tree.args["limit"]
    count = limit.args["count"] if isinstance(limit, exp.Fetch) else limit.expression
    wrapped = isinstance(tree, exp.Select) and tree.args["from_"].this.alias == "_aimod_limited"
    return int(count.this), wrapped


@pytest.mark.parametrize(("sql", "dialect", "limit", "wrapped"), LIMIT_CASES)
def test_force_limit(sql: str, dialect: str, limit: int, wrapped: bool) -> None:
    verdict = _verdict(sql, dialect, force_limit=100)
    assert verdict.allowed and verdict.violations == ()
    assert _outer_limit(verdict.statement, dialect) == (limit, wrapped)
    again = _verdict(verdict.statement, dialect, force_limit=100)
    assert again.allowed and again.statement == verdict.statement


def test_force_limit_not_applied_to_rejections() -> None:
    verdict = _verdict("SELECT pg_sleep(1)", "postgres", force_limit=10)
    assert not verdict.allowed and "LIMIT" not in (verdict.statement or "")


def test_no_force_limit_leaves_statement_unlimited() -> None:
    assert _verdict("SELECT * FROM t", "postgres").statement == "SELECT * FROM t"


IDEMPOTENT = [(sql, d) for sql, d, _ in ACCEPTED][::3][:30] + [
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n<5) SELECT * FROM r", "postgres"),
    ("SELECT count(*) FILTER (WHERE x > 1) OVER (PARTITION BY y) FROM t", "sqlite"),
    ("(SELECT id FROM a) UNION (SELECT id FROM b)", "postgres"),
]


@pytest.mark.parametrize(("sql", "dialect"), IDEMPOTENT)
def test_normalization_is_idempotent(sql: str, dialect: str) -> None:
    first = _verdict(sql, dialect)
    second = _verdict(first.statement, dialect)
    assert second.allowed, second.violations
    assert second.tables == first.tables
    assert second.statement == first.statement


def test_idempotent_sample_is_large_enough() -> None:
    assert len(IDEMPOTENT) >= 30


def test_to_dict_is_json_safe() -> None:
    verdict = _verdict("SELECT * FROM customers", "postgres", pii_tables=PII_TABLES)
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data == {"allowed": True, "requires_approval": True, "tables": ["customers"], "violations": [],
                    "approval_reasons": ["touches PII table customers"], "statement": "SELECT * FROM customers"}
    rejected = json.loads(json.dumps(_verdict("", "sqlite").to_dict()))
    assert rejected["allowed"] is False and rejected["statement"] is None and rejected["violations"]


def test_verdict_is_frozen() -> None:
    verdict = _verdict("SELECT 1", "sqlite")
    with pytest.raises(AttributeError):
        verdict.allowed = False  # type: ignore[misc]


def test_parse_errors_have_no_statement_and_no_colour_codes() -> None:
    verdict = _verdict("SELECT FROM FROM", "postgres")
    assert verdict.statement is None
    assert "\x1b[" not in verdict.violations[0] and "<Token" not in verdict.violations[0]


@pytest.mark.parametrize("value", [None, 123, ["SELECT 1"], 1.5])
def test_check_never_raises_on_non_strings(value: object) -> None:
    verdict = SqlGuard().check(value)  # type: ignore[arg-type]
    assert verdict.allowed is False and verdict.violations


def test_utf8_bytes_are_checked_like_text() -> None:
    assert SqlGuard().check("SELECT 'é' AS x".encode()).allowed


def test_enforce_raises_with_violations() -> None:
    guard = SqlGuard(dialect="postgres")
    with pytest.raises(SqlRejected) as info:
        guard.enforce("SELECT 1; DROP TABLE t")
    assert info.value.violations and "2 statements" in info.value.violations[0]
    assert "2 statements" in str(info.value)


def test_enforce_returns_allowed_verdict() -> None:
    verdict = SqlGuard(dialect="postgres", pii_tables=PII_TABLES).enforce("SELECT * FROM customers")
    assert verdict.allowed and verdict.requires_approval


def test_dialect_alias_and_case() -> None:
    assert SqlGuard(dialect="postgresql").dialect == "postgres"
    assert SqlGuard(dialect="SQLite").dialect == "sqlite"
    assert SqlGuard().dialect == "sqlite"


def test_unknown_dialect_lists_supported() -> None:
    with pytest.raises(ConfigurationError) as info:
        SqlGuard(dialect="clickhousey")
    assert "sqlite" in str(info.value) and "postgres" in str(info.value)


@pytest.mark.parametrize("kwargs", [
    {"max_tables": 0},
    {"max_tables": -1},
    {"max_tables": True},
    {"max_tables": "5"},
    {"force_limit": 0},
    {"force_limit": 1.5},
    {"pii_columns": ["email"]},
    {"pii_columns": ["users."]},
    {"pii_tables": "customers"},
    {"pii_columns": "users.email"},
])
def test_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        SqlGuard(**kwargs)  # type: ignore[arg-type]


def test_module_is_pure() -> None:
    tree = ast.parse(Path(sqlguard.__file__).read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert roots <= {"__future__", "re", "collections", "dataclasses", "typing", "sqlglot", "airflow_aimod"}


def test_case_count() -> None:
    assert len(ACCEPTED) + len(REJECTED) + len(PII_CASES) + len(LIMIT_CASES) >= 120
