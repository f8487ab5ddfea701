"""The SQL guard's PII resolution: every reference to a declared PII column needs approval, however written."""

from __future__ import annotations

import pytest

from airflow_aimod.core.sqlguard import SqlGuard, SqlVerdict
from tests.unit.sqlguard_pii_cases import (
    APPROVE, FREE, GENERATED, HAND, PII_COLUMNS, PII_TABLES, REJECT, SCHEMA, SCHEMA_CASES,
)


def _check(sql: str, dialect: str, **kwargs: object) -> SqlVerdict:
    return SqlGuard(dialect=dialect, pii_columns=PII_COLUMNS, pii_tables=PII_TABLES, **kwargs).check(sql)


def _assert_expected(verdict: SqlVerdict, expect: str) -> None:
    if expect == REJECT:
        assert not verdict.allowed and verdict.violations, verdict
        return
    assert verdict.allowed, verdict.violations
    assert verdict.requires_approval is (expect == APPROVE), verdict.approval_reasons
    assert bool(verdict.approval_reasons) is (expect == APPROVE)


@pytest.mark.parametrize(("sql", "dialect", "expect"), GENERATED + HAND)
def test_pii_resolution(sql: str, dialect: str, expect: str) -> None:
    verdict = _check(sql, dialect)
    _assert_expected(verdict, expect)
    if verdict.allowed:  # the statement that runs is the normalized one: it must need the same approval
        again = _check(verdict.statement, dialect)
        assert again.allowed and again.requires_approval is verdict.requires_approval, again


@pytest.mark.parametrize(("sql", "dialect", "with_schema", "without"), SCHEMA_CASES)
def test_the_live_schema_makes_resolution_precise(sql: str, dialect: str, with_schema: str, without: str) -> None:
    _assert_expected(_check(sql, dialect, schema=SCHEMA), with_schema)
    _assert_expected(_check(sql, dialect), without)


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELECT u.email FROM users u", "touches PII column users.email"),
    ("SELECT x.ssn FROM public.users x", "touches PII column users.ssn"),
    ("SELECT row_to_json(u) FROM users u", "reads whole rows of users, which has PII columns (email, ssn)"),
    ("SELECT * FROM users", "selects * from users, which has PII columns (email, ssn)"),
    ("SELECT e FROM users AS u(i, n, e)", "reads column e of users renamed by an alias list, which may be one of "
                                          "its PII columns (email, ssn)"),
    ("SELECT id FROM users NATURAL JOIN orders", "touches PII column users.email (a NATURAL JOIN compares it)"),
])
def test_reasons_name_the_table_and_columns(sql: str, reason: str) -> None:
    assert reason in _check(sql, "postgres").approval_reasons


def test_schema_maps_alias_lists_to_the_real_column() -> None:
    verdict = _check("SELECT e FROM users AS u(i, n, e)", "postgres", schema=SCHEMA)
    assert verdict.approval_reasons == ("touches PII column users.email",)


def test_duplicate_aliases_fail_closed() -> None:
    verdict = _check("SELECT a.id FROM users a, orders a", "postgres")
    assert verdict.allowed and verdict.requires_approval
    assert verdict.approval_reasons[0].startswith("cannot tell which columns of users it reads")


def test_queries_without_pii_tables_skip_resolution_entirely() -> None:
    verdict = _check("SELECT a.id FROM orders a, orders a", "postgres")
    assert verdict.allowed and not verdict.requires_approval


def test_the_case_table_is_large_and_balanced() -> None:
    cases = GENERATED + HAND
    assert len(cases) >= 600
    counts = {expect: sum(c[2] == expect for c in cases) for expect in (APPROVE, FREE, REJECT)}
    assert counts[APPROVE] >= 300 and counts[FREE] >= 200 and counts[REJECT] >= 20
    assert {d for _, d, _ in cases} >= {"sqlite", "postgres"}
