"""The SQL guard's per-dialect function allow-list: analysts' functions pass, unknown ones fail closed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from airflow_aimod.core import _sql_functions, sqlguard
from airflow_aimod.core.sqlguard import SqlGuard, SqlVerdict


def _verdict(sql: str, dialect: str, **kwargs: object) -> SqlVerdict:
    return SqlGuard(dialect=dialect, **kwargs).check(sql)


# Functions analysts use, per dialect: all must pass.
ANALYTICS = {
    "sqlite": ["SELECT strftime('%Y-%m', order_date), count(*), sum(x), avg(x), min(x), max(x), round(avg(x), 2), "
               "coalesce(a, 0), ifnull(a, 0), nullif(a, 0), cast(x AS REAL), lower(s), upper(s), substr(s, 1, 3), "
               "length(s), trim(s), replace(s, 'a', 'b'), instr(s, 'a'), abs(x), date(d, '-1 month'), "
               "julianday(d), datetime(d), iif(x > 1, 'a', 'b'), group_concat(s), total(x), printf('%d', x), "
               "json_extract(j, '$.a'), typeof(x) FROM t GROUP BY 1",
               "SELECT row_number() OVER (ORDER BY x), rank() OVER (ORDER BY x), lag(x) OVER (ORDER BY x), "
               "sum(x) OVER (PARTITION BY y), ntile(4) OVER (ORDER BY x) FROM t"],
    "postgres": ["SELECT to_char(d, 'YYYY'), extract(YEAR FROM d), date_trunc('month', d), d::date, "
                 "now() - INTERVAL '1 month', current_date, age(d), date_part('year', d), string_agg(s, ','), "
                 "percentile_cont(0.5) WITHIN GROUP (ORDER BY x), greatest(a, b), least(a, b), concat(a, b), "
                 "split_part(s, ',', 1), regexp_replace(s, 'a', 'b'), position('a' IN s), j ->> 'a', "
                 "jsonb_extract_path(j, 'a'), make_date(2020, 1, 1), to_date(s, 'YYYY'), stddev(x), corr(x, y), "
                 "bool_and(b), ceil(x), floor(x), power(x, 2), sqrt(x), ln(x), mod(x, 2), left(s, 2), "
                 "lpad(s, 2, '0'), initcap(s), count(*) FILTER (WHERE x > 1) FROM t",
                 "SELECT dense_rank() OVER w, cume_dist() OVER w, first_value(x) OVER w, lead(x, 1) OVER w "
                 "FROM t WINDOW w AS (ORDER BY x)"],
    "mysql": ["SELECT date_format(d, '%Y'), ifnull(a, 0), concat_ws('-', a, b), datediff(a, b), curdate(), "
              "year(d), month(d), group_concat(s) FROM t"],
    "tsql": ["SELECT TOP 5 datepart(year, d), datediff(day, a, b), isnull(a, 0), len(s), charindex('a', s), "
             "getdate(), format(d, 'yyyy'), iif(a > 1, 1, 0) FROM t"],
    "snowflake": ["SELECT iff(a > 1, 1, 0), date_trunc('month', d), dateadd(day, 1, d), to_varchar(d), "
                  "zeroifnull(x), listagg(s, ',') FROM t"],
    "bigquery": ["SELECT safe_divide(a, b), format_date('%Y', d), date_diff(a, b, DAY), countif(x > 1), "
                 "approx_quantiles(x, 4) FROM t"],
    "duckdb": ["SELECT strftime(d, '%Y'), epoch_ms(x), arg_max(a, b), quantile_cont(x, 0.5), list_value(1, 2) "
               "FROM t"],
    "trino": ["SELECT date_diff('day', a, b), approx_distinct(x), element_at(m, 'k'), cardinality(a) FROM t"],
    "redshift": ["SELECT getdate(), datediff(day, a, b), nvl2(a, 1, 0), listagg(s, ',') FROM t"],
    "oracle": ["SELECT nvl(a, 0), decode(a, 1, 'x', 'y'), add_months(d, 1), to_char(d, 'YYYY') FROM t"],
}


@pytest.mark.parametrize(("dialect", "sql"), [(d, q) for d, qs in ANALYTICS.items() for q in qs])
def test_common_analytics_functions_are_allowed(dialect: str, sql: str) -> None:
    verdict = _verdict(sql, dialect)
    assert verdict.allowed, verdict.violations


def test_every_supported_dialect_has_analytics_cases() -> None:
    assert set(ANALYTICS) == set(sqlguard.SUPPORTED_DIALECTS)


UNKNOWN_FUNCTIONS = [
    ("SELECT evil_udf(id) FROM orders", "sqlite", "evil_udf"),
    ("SELECT evil_udf(id) FROM orders", "postgres", "evil_udf"),
    ("SELECT myschema.my_udf(id) FROM t", "postgres", "my_udf"),
    ("SELECT count(*) FROM orders WHERE randomblob(1000000000) IS NOT NULL", "sqlite", "randomblob"),
    ("SELECT zeroblob(1000000000)", "sqlite", "zeroblob"),
    ("SELECT last_insert_rowid()", "sqlite", "last_insert_rowid"),
    ("SELECT * FROM t WHERE x IN (SELECT hidden_fn(y) FROM u)", "postgres", "hidden_fn"),
    ("WITH c AS (SELECT mystery(1) AS m) SELECT * FROM c", "postgres", "mystery"),
    ("SELECT hstore(u) FROM users u", "postgres", "hstore"),
    ("SELECT json_populate_record(NULL::users, '{}')", "postgres", "json_populate_record"),
    ("SELECT current_setting_x('a')", "postgres", "current_setting_x"),
    ("SELECT found_rows()", "mysql", "found_rows"),
    ("SELECT julianday(d) FROM t", "postgres", "julianday"),
    ("SELECT curdate()", "postgres", "curdate"),
    ("SELECT frobnicate(a) FROM t", "tsql", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "snowflake", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "bigquery", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "duckdb", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "trino", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "redshift", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "oracle", "frobnicate"),
    ("SELECT frobnicate(a) FROM t", "mysql", "frobnicate"),
]


@pytest.mark.parametrize(("sql", "dialect", "name"), UNKNOWN_FUNCTIONS)
def test_unknown_functions_fail_closed(sql: str, dialect: str, name: str) -> None:
    verdict = _verdict(sql, dialect)
    assert not verdict.allowed
    assert f"function {name}() is not on the allow-list for dialect {dialect}" in verdict.violations[0]


def test_denied_functions_keep_their_specific_message() -> None:
    verdict = _verdict("SELECT pg_sleep(1)", "postgres")
    assert verdict.violations == ("function pg_sleep() is not allowed: it delays execution; use plain read-only "
                                  "expressions",)


def test_function_lists_are_lower_case_and_pure() -> None:
    for dialect in sqlguard.SUPPORTED_DIALECTS:
        names = _sql_functions.allowed_functions(dialect)
        assert names and all(n == n.lower() and " " not in n for n in names)
        assert not names & {"pg_sleep", "sleep", "set_config", "load_extension", "dblink", "nextval"}
    tree = ast.parse(Path(_sql_functions.__file__).read_text())
    assert {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} <= {"__future__", "functools"}


# JSON aggregates and constructors are legal when they wrap no PII; messages name functions as written.
JSON_FUNCTIONS = [
    ("SELECT json_agg(x) FROM t", "postgres"),
    ("SELECT jsonb_agg(x ORDER BY y) FROM t", "postgres"),
    ("SELECT json_object_agg(k, v) FROM t", "postgres"),
    ("SELECT jsonb_object_agg(k, v) FROM t", "postgres"),
    ("SELECT json_build_object('a', x), jsonb_build_array(x, y) FROM t", "postgres"),
    ("SELECT json_object('{a, b}', '{1, 2}')", "postgres"),
    ("SELECT row_to_json(s) FROM (SELECT 1 AS a) AS s", "postgres"),
    ("SELECT json_group_array(x) FROM t", "sqlite"),
    ("SELECT json_group_object(k, v) FROM t", "sqlite"),
    ("SELECT json_object('a', x, 'b', y) FROM t", "sqlite"),
    ("SELECT json_array(x, y), json_group_array(json_object('a', x)) FROM t", "sqlite"),
    ("SELECT JSON_GROUP_ARRAY(X) FROM T", "sqlite"),
    ("SELECT json_arrayagg(x), json_objectagg(k VALUE v) FROM t", "postgres"),
    ("SELECT jsonb_set(j, '{a}', '1'), jsonb_path_match(j, '$.a > 1') FROM t", "postgres"),
]


@pytest.mark.parametrize(("sql", "dialect"), JSON_FUNCTIONS)
def test_json_aggregates_and_constructors_are_allowed(sql: str, dialect: str) -> None:
    verdict = _verdict(sql, dialect)
    assert verdict.allowed, verdict.violations


@pytest.mark.parametrize(("sql", "dialect", "written"), [
    ("SELECT ST_Distance(a, b) FROM t", "postgres", "st_distance"),
    ("SELECT st_point(1, 2)", "sqlite", "st_point"),
    ("SELECT convert_from(x, 'UTF8') FROM t", "postgres", "convert_from"),
    ("SELECT Frobnicate(x) FROM t", "sqlite", "frobnicate"),
])
def test_functions_are_named_as_written(sql: str, dialect: str, written: str) -> None:
    verdict = _verdict(sql, dialect)
    assert not verdict.allowed
    message = verdict.violations[0]
    assert message.startswith(f"function {written}() is not on the allow-list"), message
    assert "_s_o_n" not in message
