"""Table profiles computed in the database, on a real SQLite file (and the same rows in Postgres).

The table ``readings`` holds ten rows with values chosen so every statistic can be worked by hand:

    id  sensor  amount  day         flag   email               source
    1   a       10      2024-01-01  true   user1@example.com   api
    2   a       20      2024-01-02  true   user2@example.com   api
    3   b       30      2024-01-03  true   ...                 api
    4   a       40      2024-01-04  true                       api
    5   b       50      2024-01-05  true                       api
    6   c       60      2024-01-06  true                       api
    7   a       70      2024-01-07  false                      api
    8   b       80      2024-01-08  false                      api
    9   a       90.5    2024-01-09  false                      api
    10  NULL    NULL    2024-01-10  false  user10@example.com  api
"""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.profiling import QualityThresholds, TableProfiler, assess, counts_only
from airflow_aimod.core.profiling.profile import TableProfile
from airflow_aimod.exceptions import ConfigurationError

SENSORS = ["a", "a", "b", "a", "b", "c", "a", "b", "a", None]
AMOUNTS = [10, 20, 30, 40, 50, 60, 70, 80, 90.5, None]
ROWS = [(i, SENSORS[i - 1], AMOUNTS[i - 1], f"2024-01-{i:02d}", "true" if i <= 6 else "false",
         f"user{i}@example.com", "api") for i in range(1, 11)]
DDL = ("CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT, amount NUMERIC, day DATE, flag TEXT, "
       "email TEXT, source TEXT)")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("profiling") / "readings.db"
    with sqlite3.connect(path) as con:
        con.execute(DDL)
        con.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
        con.execute("CREATE TABLE empty_table (id INTEGER PRIMARY KEY, note TEXT)")
    con.close()
    return path


def profile_of(db, table="readings", **options):
    queries = []
    with SqliteReadOnlyExecutor(db) as executor:
        def run(query):
            queries.append(query)
            return executor.run(query.sql, max_rows=query.max_rows, timeout_s=10)
        profile = TableProfiler(**options).profile(executor.catalog().table(table), run)
    return profile, queries


def test_every_statistic_matches_the_hand_worked_values(db):
    profile, queries = profile_of(db)
    assert (profile.table, profile.row_count, profile.profiled_rows, profile.sampled) == ("readings", 10, 10, False)
    ident = profile.column("id")
    assert (ident.inferred_type, ident.min, ident.max, ident.mean, ident.unique, ident.top_values) == \
        ("integer", 1, 10, 5.5, True, [])  # unique: every value once, so no top values
    # 1..10: p05 at h = 9*0.05 = 0.45 -> 1 + 0.45 = 1.45; p25 at h = 2.25 -> 3.25; median 5.5; p95 h = 8.55 -> 9.55
    assert ident.quantiles == {"p05": 1.45, "p25": 3.25, "p50": 5.5, "p75": 7.75, "p95": 9.55}

    amount = profile.column("amount")  # NUMERIC affinity: 10..80 stored as integers, 90.5 as a real -> float
    assert (amount.inferred_type, amount.null_count, amount.null_rate, amount.distinct_count) == ("float", 1, 0.1, 9)
    assert (amount.min, amount.max) == (10, 90.5)
    assert amount.mean == round(450.5 / 9, 6) == 50.055556  # (10+20+...+80 = 360) + 90.5 = 450.5, over 9
    # nine values: p05 at h = 8*0.05 = 0.4 -> 10 + 0.4*10 = 14; p25 at h = 2 -> 30; p50 at h = 4 -> 50;
    # p75 at h = 6 -> 70; p95 at h = 7.6 -> 80 + 0.6*(90.5-80) = 86.3
    assert amount.quantiles == {"p05": 14.0, "p25": 30.0, "p50": 50.0, "p75": 70.0, "p95": 86.3}

    sensor = profile.column("sensor")
    assert (sensor.inferred_type, sensor.null_count, sensor.null_rate, sensor.distinct_count) == ("string", 1, 0.1, 3)
    assert sensor.top_values == [{"value": "a", "count": 5}, {"value": "b", "count": 3}, {"value": "c", "count": 1}]
    assert (sensor.min, sensor.max, sensor.mean, sensor.quantiles) == (None, None, None, None)  # text: no range

    day = profile.column("day")  # SQLite keeps DATE as text: the ISO values make it a date
    assert (day.inferred_type, day.min, day.max, day.distinct_count) == ("date", "2024-01-01", "2024-01-10", 10)
    flag = profile.column("flag")
    assert flag.inferred_type == "boolean"
    assert flag.top_values == [{"value": "true", "count": 6}, {"value": "false", "count": 4}]
    source = profile.column("source")
    assert (source.distinct_count, source.top_values) == (1, [{"value": "api", "count": 10}])
    # 1 row count + 2 aggregate statements (non-PII, PII) + 2 quantile queries (id, amount) + 3 top-value
    # queries (sensor, flag, source: id, amount and day are unique, email is PII)
    assert len(queries) == profile.queries == 8


def test_pii_columns_get_counts_only_and_only_count_only_statements_touch_them(db):
    profile, queries = profile_of(db, pii_columns=["sensor"])
    email, sensor = profile.column("email"), profile.column("sensor")  # email: by its name; sensor: by policy
    assert (email.pii, email.distinct_count, email.null_count, email.inferred_type) == (True, 10, 0, "string")
    assert (email.min, email.max, email.top_values, email.quantiles) == (None, None, [], None)
    assert (sensor.pii, sensor.distinct_count, sensor.null_count, sensor.top_values) == (True, 3, 1, [])
    touching = [q for q in queries if '"email"' in q.sql or '"sensor"' in q.sql]
    assert touching and all(q.counts_only and counts_only(q.sql, "sqlite") for q in touching)
    assert not any("MIN(\"email\")" in q.sql or "GROUP BY \"email\"" in q.sql for q in queries)


def test_pii_values_under_an_innocent_name_are_withheld(tmp_path):
    path = tmp_path / "contacts.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, contact TEXT, ref TEXT, tel TEXT, status TEXT)")
        rows = [(i, f"person{i % 4}@example.org", "4111 1111 1111 1111" if i % 2 else "5500-0000-0000-0004",
                 f"+49 30 {1234560 + i % 3}", "open" if i % 3 else "closed") for i in range(1, 13)]
        con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?)", rows)
    con.close()
    profile, _ = profile_of(path, table="leads")
    for name in ("contact", "ref", "tel"):
        column = profile.column(name)
        assert (column.pii, column.pii_by_value, column.top_values, column.min, column.max) == \
            (True, True, [], None, None), column
        assert column.distinct_count in (2, 3, 4)  # counts stay
    status = profile.column("status")
    assert (status.pii, sorted(t["value"] for t in status.top_values)) == (False, ["closed", "open"])
    assert "@" not in str(profile.to_dict()) and "4111" not in str(profile.to_dict())


def test_pii_value_patterns_leave_ordinary_values_alone():
    from airflow_aimod.core.profiling.pii_values import looks_like_pii_value

    assert all(map(looks_like_pii_value, ["a.b+c@mail.example.com", "+1 (415) 555-0100", "4111-1111-1111-1111"]))
    assert not any(map(looks_like_pii_value, ["2024-05-31", "2024-05-31 14:00:00", "12345.67", "1234567890123456",
                                              "delivered", "ORD-2024-0001", 4111111111111111, "v1.2.3"]))


def test_a_large_table_is_sampled_and_says_so_while_the_row_count_stays_exact(db):
    profile, _ = profile_of(db, sample_rows=4)
    # step = ceil(10/4) = 3: rows 1, 4, 7, 10 -> ids 1, 4, 7, 10
    assert (profile.row_count, profile.profiled_rows, profile.sampled) == (10, 4, True)
    assert "sample of 4 of 10 rows" in profile.notes[0] and "row_count is exact" in profile.notes[0]
    ident, amount, sensor = profile.column("id"), profile.column("amount"), profile.column("sensor")
    assert (ident.min, ident.max, ident.mean) == (1, 10, 5.5)
    assert (amount.null_count, amount.mean, amount.quantiles["p50"]) == (1, 40.0, 40.0)  # 10, 40, 70 and a NULL
    assert (sensor.distinct_count, sensor.null_rate, sensor.top_values) == (1, 0.25, [{"value": "a", "count": 3}])
    assert TableProfile.from_dict(profile.to_dict()) == profile


def test_wide_tables_are_capped_and_the_query_count_is_bounded(db):
    profile, _ = profile_of(db, max_columns=2)
    assert [c.name for c in profile.columns] == ["id", "sensor"]
    assert profile.skipped_columns == ("amount", "day", "flag", "email", "source")
    assert any("5 column(s) not profiled (max_columns=2)" in n for n in profile.notes)
    capped, queries = profile_of(db, max_queries=4)
    assert len(queries) == 4 and capped.queries == 4
    assert any(n.startswith("query budget of 4 reached; not computed: ") for n in capped.notes)
    assert capped.column("email").distinct_count == 10  # counts are never dropped, only optional statistics


def test_a_named_column_subset_and_unknown_columns(db):
    profile, _ = profile_of(db, columns=["amount", "day"])
    assert [c.name for c in profile.columns] == ["amount", "day"]
    with pytest.raises(ValueError, match="readings has no column 'colour'; its columns: id, sensor"):
        profile_of(db, columns=["colour"])


def test_the_judgement_applies_declared_thresholds_to_the_numbers(db):
    profile, _ = profile_of(db)
    default = assess(profile)  # source holds 'api' on all 10 rows: a constant column
    assert (default["subject"], default["verdict"], default["confidence"]) == ("readings", "anomalous", 0.9)
    assert [(f["check"], f["column"]) for f in default["findings"]] == [("constant", "source")]
    assert "source holds one single value ('api') on all 10 non-NULL rows" in default["summary"]
    relaxed = assess(profile, QualityThresholds(flag_constant_columns=False))
    assert (relaxed["verdict"], relaxed["findings"]) == ("normal", [])
    strict = assess(profile, QualityThresholds(max_null_rate=0.05, max_null_rates={"amount": 0.2},
                                               flag_constant_columns=False, key_columns=["sensor"]))
    assert [(f["check"], f["column"], f["value"]) for f in strict["findings"]] == [
        ("null_rate", "sensor", 0.1), ("null_key", "sensor", 1), ("duplicate_key", "sensor", 6)]  # 9 values, 3 distinct
    too_few = assess(profile, QualityThresholds(min_rows=11))
    assert too_few["findings"][0]["check"] == "min_rows" and too_few["verdict"] == "anomalous"


def test_an_empty_table_is_anomalous_or_unknown_when_allowed(db):
    profile, _ = profile_of(db, table="empty_table")
    assert (profile.row_count, profile.profiled_rows, profile.column("note").inferred_type) == (0, 0, "empty")
    assert assess(profile)["findings"][0]["message"] == "empty_table has 0 row(s), at least 1 expected"
    assert assess(profile, QualityThresholds(min_rows=0))["verdict"] == "unknown"


@pytest.mark.parametrize("kwargs, message", [
    ({"max_null_rate": 1.5}, "max_null_rate must be a share between 0 and 1"),
    ({"max_null_rates": {"x": -1}}, "max_null_rates\\['x'\\]"),
    ({"min_rows": -1}, "min_rows must be an integer >= 0"),
    ({"key_columns": "id"}, "key_columns must be a list"),
])
def test_bad_thresholds_say_what_to_fix(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        QualityThresholds(**kwargs)
    with pytest.raises(ConfigurationError, match="unknown threshold\\(s\\) \\['max_nulls'\\]"):
        QualityThresholds.of({"max_nulls": 0.1})


def test_bad_profiler_settings_say_what_to_fix():
    for kwargs, message in [({"sample_rows": 0}, "sample_rows must be an integer >= 1"),
                            ({"max_columns": "5"}, "max_columns must be an integer"),
                            ({"columns": "id"}, "columns must be a list")]:
        with pytest.raises(ConfigurationError, match=message):
            TableProfiler(**kwargs)


def test_counts_only_accepts_counts_and_nothing_else():
    assert counts_only('SELECT COUNT(*) AS n, COUNT(DISTINCT "email") AS d FROM customers', "sqlite")
    assert not counts_only('SELECT COUNT(*), MIN("email") FROM customers', "sqlite")
    assert not counts_only('SELECT COUNT(*) FROM customers WHERE email = \'a@b.c\'', "postgres")
    assert not counts_only('SELECT COUNT(*) FROM customers GROUP BY email', "postgres")
    assert not counts_only("DELETE FROM customers", "sqlite") and not counts_only("not sql at all (", "sqlite")


@pytest.mark.postgres
def test_postgres_computes_the_same_profile(db):
    """The same rows with Postgres types (day and flag as text: the regex probes infer date and boolean)."""
    import psycopg

    from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
    from tests.pg import throwaway_database

    with throwaway_database("aimod_test_profile") as url:
        with psycopg.connect(url) as con:
            con.execute("CREATE TABLE readings (id bigint PRIMARY KEY, sensor text, amount numeric, day text, "
                        "flag text, email text, source text)")
            with con.cursor().copy("COPY readings FROM STDIN") as copy:
                for row in ROWS:
                    copy.write_row(row)
        with PostgresReadOnlyExecutor(url) as executor:
            table = executor.catalog().table("readings")
            run = lambda q: executor.run(q.sql, max_rows=q.max_rows, timeout_s=10)  # noqa: E731
            pg = TableProfiler(dialect="postgres").profile(table, run)
            sampled = TableProfiler(dialect="postgres", sample_rows=4).profile(table, run)
    lite, _ = profile_of(db)
    strip = lambda p: [{k: v for k, v in c.to_dict().items() if k != "declared_type"} for c in p.columns]  # noqa: E731
    assert (pg.table, pg.row_count, pg.profiled_rows) == ("readings", 10, 10)
    assert strip(pg) == strip(lite)
    assert (sampled.profiled_rows, sampled.column("id").min, sampled.column("id").max) == (4, 1, 10)


@pytest.mark.postgres
def test_postgres_types_beyond_the_demo_profile_without_errors():
    """Booleans have no MIN, money no AVG, arrays no regex, json no equality: each gets what it supports."""
    import psycopg

    from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
    from tests.pg import throwaway_database

    with throwaway_database("aimod_test_pgtypes") as url:
        with psycopg.connect(url) as con:
            con.execute("CREATE SCHEMA sales")
            con.execute("CREATE TABLE sales.odd (id serial PRIMARY KEY, ok boolean, at timestamp, doc json, "
                        "tags text[], price money, span interval, note text)")
            con.execute("INSERT INTO sales.odd (ok, at, doc, tags, price, span) SELECT i % 2 = 0, "
                        "'2024-01-01'::timestamp + i * interval '1 day', json_build_object('i', i), ARRAY['a'], i, "
                        "i * interval '1 hour' FROM generate_series(1, 50) AS i")
        with PostgresReadOnlyExecutor(url, schemas=None) as executor:
            table = executor.catalog().table("sales.odd")
            profile = TableProfiler(dialect="postgres").profile(
                table, lambda q: executor.run(q.sql, max_rows=q.max_rows, timeout_s=10))
    types = {c.name: c.inferred_type for c in profile.columns}
    assert profile.table == "sales.odd" and types == {
        "id": "integer", "ok": "boolean", "at": "datetime", "doc": "string", "tags": "string", "price": "float",
        "span": "string", "note": "empty"}
    price, ok, at = profile.column("price"), profile.column("ok"), profile.column("at")
    assert (price.min, price.max, price.mean, price.quantiles["p50"]) == (1.0, 50.0, 25.5, 25.5)  # 1..50
    assert ok.top_values == [{"value": False, "count": 25}, {"value": True, "count": 25}] and ok.min is None
    assert (at.min, at.max) == ("2024-01-02T00:00:00", "2024-02-20T00:00:00")
    assert profile.column("note").null_rate == 1.0 and profile.column("tags").top_values[0]["count"] == 50
