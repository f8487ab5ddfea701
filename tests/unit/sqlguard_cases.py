"""SQL guard cases kept as data: what must pass, PII, forced limits (rejections: sqlguard_reject_cases.py)."""

from __future__ import annotations

BOTH = ("sqlite", "postgres")
SIX_JOINS = ("SELECT * FROM a JOIN b ON a.id = b.id JOIN c ON c.id = a.id JOIN d ON d.id = a.id "
             "JOIN e ON e.id = a.id JOIN f ON f.id = a.id")
FIVE_JOINS = ("SELECT * FROM a JOIN b ON a.id = b.id JOIN c ON c.id = a.id JOIN d ON d.id = a.id "
              "JOIN e ON e.id = a.id")
SIX_NESTED = ("SELECT * FROM a WHERE x IN (SELECT x FROM b WHERE y IN (SELECT y FROM c WHERE z IN "
              "(SELECT z FROM d WHERE w IN (SELECT w FROM e WHERE v IN (SELECT v FROM f)))))")
FIVE_NESTED = ("SELECT * FROM a WHERE x IN (SELECT x FROM b WHERE y IN (SELECT y FROM c WHERE z IN "
               "(SELECT z FROM d WHERE w IN (SELECT w FROM e))))")
SIX_UNION = " UNION ".join(f"SELECT id FROM {t}" for t in "abcdef")
SIX_CTES = ("WITH x AS (SELECT * FROM a JOIN b ON a.id = b.id), y AS (SELECT * FROM c, d) "
            "SELECT * FROM x, y, e WHERE EXISTS (SELECT 1 FROM f)")
ABCDE = ("a", "b", "c", "d", "e")

# (sql, expected tables): accepted in both sqlite and postgres.
ACCEPT_SHARED = [
    ("SELECT 1", ()),
    ("select 1;", ()),
    ("SELECT 1;\n", ()),
    ("SELECT 1; -- trailing comment", ()),
    ("SELECT 1 -- done", ()),
    ("-- note\nSELECT 1", ()),
    ("/* leading */ SELECT id FROM orders", ("orders",)),
    ("SELECT 1 /* ; DROP TABLE t */", ()),
    ("SELECT updated_at FROM t", ("t",)),
    ('SELECT "delete" FROM t', ("t",)),
    ("SELECT created_at, deleted_flag, insert_count, drop_rate FROM t", ("t",)),
    ('SELECT "select" FROM "from"', ("from",)),
    ("SELECT 'DROP TABLE t; DELETE' AS s", ()),
    ("SELECT 'it''s; UPDATE t SET a = 1' AS s", ()),
    ("SELECT id FROM orders WHERE note LIKE '%delete%'", ("orders",)),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n<5) SELECT * FROM r", ()),
    ("SELECT count(*) FILTER (WHERE x > 1) OVER (PARTITION BY y) FROM t", ("t",)),
    ("SELECT row_number() OVER (ORDER BY id) AS rn FROM t", ("t",)),
    (FIVE_JOINS, ABCDE),
    (FIVE_NESTED, ABCDE),
    ("WITH customers AS (SELECT 1 AS id) SELECT * FROM customers", ()),
    ("WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a) SELECT * FROM b", ("orders",)),
    ("WITH x AS (SELECT 1 AS a) SELECT a FROM x WHERE a IN (SELECT a FROM x)", ()),
    ("SELECT * FROM t AS a JOIN t AS b ON a.id = b.id", ("t",)),
    ("SELECT * FROM main.orders", ("main.orders",)),
    ("SELECT a.x, b.y FROM a, b WHERE a.id = b.id", ("a", "b")),
    ("SELECT id FROM a UNION SELECT id FROM b", ("a", "b")),
    ("SELECT id FROM a UNION ALL SELECT id FROM a", ("a",)),
    ("SELECT id FROM a INTERSECT SELECT id FROM b", ("a", "b")),
    ("SELECT id FROM a EXCEPT SELECT id FROM b", ("a", "b")),
    ("(SELECT id FROM a) UNION (SELECT id FROM b)", ("a", "b")),
    ("SELECT * FROM (SELECT id FROM orders) AS sub", ("orders",)),
    ("SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM items WHERE items.oid = orders.id)", ("items", "orders")),
    ("SELECT (SELECT max(id) FROM items) AS m FROM orders", ("items", "orders")),
    ("SELECT status, count(*) AS n FROM orders GROUP BY status HAVING count(*) > 1 ORDER BY n DESC LIMIT 10",
     ("orders",)),
    ("SELECT CASE WHEN x > 1 THEN 'a' ELSE 'b' END AS c FROM t", ("t",)),
    ("SELECT * FROM Orders", ("orders",)),
    ('SELECT * FROM "Orders"', ("orders",)),
    ("SELECT DISTINCT customer_id FROM orders", ("orders",)),
    ("SELECT coalesce(x, 0), lower(name), substr(name, 1, 2) FROM t", ("t",)),
    ("SELECT * FROM orders LIMIT 5 OFFSET 10", ("orders",)),
    ("SELECT o.id FROM orders o LEFT JOIN items i ON i.oid = o.id", ("items", "orders")),
    ("SELECT * FROM t WHERE a IN (1, 2, 3) AND b BETWEEN 1 AND 5", ("t",)),
    ("SELECT cast(x AS INTEGER) FROM t", ("t",)),
]

ACCEPT_POSTGRES = [
    ("SELECT * FROM generate_series(1, 3)", ()),
    ("SELECT * FROM generate_series(1, 3) AS g(n) JOIN t ON t.id = g.n", ("t",)),
    ("SELECT xpath('/a', x) FROM t", ("t",)),
    ("SELECT x::int FROM t", ("t",)),
    ("SELECT * FROM public.orders", ("public.orders",)),
    ('SELECT * FROM "public"."Orders"', ("public.orders",)),
    ("SELECT * FROM orders, public.orders", ("orders", "public.orders")),
    ("SELECT * FROM orders o, LATERAL (SELECT * FROM items i WHERE i.oid = o.id) AS li", ("items", "orders")),
    ("SELECT array_agg(x ORDER BY y) FROM t", ("t",)),
    ("SELECT * FROM t WHERE x = ANY(ARRAY[1, 2])", ("t",)),
    ("SELECT * FROM orders ORDER BY id FETCH FIRST 5 ROWS ONLY", ("orders",)),
    ("SELECT date_trunc('day', created_at) FROM orders", ("orders",)),
    ("SELECT * FROM unnest(ARRAY[1, 2]) AS u(x)", ()),
    ("SELECT jsonb_build_object('a', 1)", ()),
    ("SELECT $$DELETE FROM t$$ AS s", ()),
    ("SELECT * FROM t TABLESAMPLE SYSTEM (10)", ("t",)),
    ("SELECT pg_is_in_recovery(), version(), now()", ()),
]

ACCEPT_SQLITE = [
    ("SELECT glob('a*', name) FROM t", ("t",)),
    ("SELECT strftime('%Y', created_at) FROM orders", ("orders",)),
    ("SELECT ifnull(a, 0) FROM t", ("t",)),
    ("SELECT * FROM t LIMIT 5, 10", ("t",)),
]

ACCEPT_OTHER = [
    ("SELECT `a` FROM `db`.`t`", "mysql", ("db.t",)),
    ("SELECT TOP 5 * FROM t WITH (NOLOCK)", "tsql", ("t",)),
    ("SELECT [a] FROM [dbo].[t]", "tsql", ("dbo.t",)),
    ("SELECT a FROM db.sch.t", "snowflake", ("db.sch.t",)),
    ("SELECT * FROM `proj.ds.tbl`", "bigquery", ("proj.ds.tbl",)),
    ("SELECT * FROM t", "duckdb", ("t",)),
    ("SELECT * FROM hive.s.t", "trino", ("hive.s.t",)),
    ("SELECT * FROM s.t", "redshift", ("s.t",)),
    ("SELECT a FROM t FETCH FIRST 5 ROWS ONLY", "oracle", ("t",)),
    ("SELECT 1", "postgresql", ()),
    ("SELECT GET(v, 'a') FROM t", "snowflake", ("t",)),
    ("SELECT * FROM t SAMPLE SYSTEM (10)", "snowflake", ("t",)),
]

ACCEPTED = ([(sql, d, tables) for sql, tables in ACCEPT_SHARED for d in BOTH]
            + [(sql, "postgres", tables) for sql, tables in ACCEPT_POSTGRES]
            + [(sql, "sqlite", tables) for sql, tables in ACCEPT_SQLITE]
            + ACCEPT_OTHER)

PII_TABLES = ["customers"]
PII_COLUMNS = ["users.email", "users.ssn"]

# (sql, dialect, substring of an approval reason, or None when no approval is needed).
PII_CASES = [
    ("SELECT * FROM customers", "postgres", "touches PII table customers"),
    ("SELECT * FROM public.customers", "postgres", "touches PII table customers"),
    ('SELECT * FROM "Customers"', "postgres", "touches PII table customers"),
    ('SELECT * FROM "public"."customers"', "postgres", "touches PII table customers"),
    ("SELECT * FROM CUSTOMERS", "postgres", "touches PII table customers"),
    ("SELECT * FROM customers", "sqlite", "touches PII table customers"),
    ("SELECT * FROM main.customers", "sqlite", "touches PII table customers"),
    ("SELECT id FROM orders WHERE cid IN (SELECT id FROM customers)", "postgres", "customers"),
    ("SELECT * FROM (SELECT id FROM customers) AS c", "postgres", "customers"),
    ("WITH c AS (SELECT * FROM customers) SELECT * FROM c", "postgres", "customers"),
    ("WITH c AS (SELECT * FROM customers) SELECT * FROM c", "sqlite", "customers"),
    ("SELECT id FROM orders UNION SELECT id FROM customers", "postgres", "customers"),
    ("SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = o.cid)", "postgres", "customers"),
    ("SELECT (SELECT max(id) FROM customers) AS m", "postgres", "customers"),
    ("SELECT * FROM orders JOIN customers ON customers.id = orders.cid", "sqlite", "customers"),
    ("WITH customers AS (SELECT * FROM customers) SELECT * FROM customers", "postgres", "customers"),
    ("SELECT * FROM customers WHERE EXISTS (WITH customers AS (SELECT 1) SELECT 1 FROM customers)", "postgres",
     "customers"),
    ("WITH customers AS (SELECT 1 AS id) SELECT * FROM customers", "postgres", None),
    ("WITH customers AS (SELECT 1 AS id) SELECT * FROM customers", "sqlite", None),
    ("SELECT * FROM orders", "postgres", None),
    ("SELECT * FROM customer_stats", "postgres", None),
    ("SELECT 'customers' AS t", "postgres", None),
    # PII columns
    ("SELECT u.email FROM users u", "postgres", "touches PII column users.email"),
    ("SELECT email FROM users", "sqlite", "touches PII column users.email"),
    ("SELECT users.email FROM users", "postgres", "users.email"),
    ("SELECT public.users.email FROM public.users", "postgres", "users.email"),
    ('SELECT "EMAIL" FROM "Users"', "postgres", "users.email"),
    ("SELECT id FROM users WHERE ssn = '1'", "postgres", "users.ssn"),
    ("SELECT id FROM users ORDER BY email", "sqlite", "users.email"),
    ("SELECT e FROM (SELECT email AS e FROM users) x", "postgres", "users.email"),
    ("WITH x AS (SELECT email FROM users) SELECT * FROM x", "postgres", "users.email"),
    ("SELECT (SELECT u.email) FROM users u", "postgres", "users.email"),
    ("SELECT a.id FROM users a JOIN orders o USING (email)", "postgres", "users.email"),
    ("SELECT row_to_json(u) FROM users u", "postgres", "reads whole rows of users"),
    ("SELECT to_jsonb(users) FROM users", "postgres", "reads whole rows of users"),
    ("SELECT * FROM users", "postgres", "selects * from users"),
    ("SELECT u.* FROM users u", "sqlite", "selects * from users"),
    ("SELECT * FROM (SELECT * FROM users) s", "postgres", "selects * from users"),
    ("SELECT id, name FROM users", "postgres", None),
    ("SELECT count(*) FROM users", "postgres", None),
    ("SELECT o.email FROM users u JOIN orders o ON o.uid = u.id", "postgres", None),
    ("SELECT o.* FROM users u JOIN orders o ON o.uid = u.id", "postgres", None),
    ("SELECT email FROM orders", "postgres", None),
]

# (sql, dialect, expected outer limit, expected to be wrapped in _aimod_limited).
LIMIT_CASES = [
    ("SELECT * FROM t", "postgres", 100, False),
    ("SELECT * FROM t", "sqlite", 100, False),
    ("SELECT * FROM t LIMIT 5", "postgres", 5, False),
    ("SELECT * FROM t LIMIT 100", "sqlite", 100, False),
    ("SELECT * FROM t LIMIT 500", "postgres", 100, False),
    ("SELECT * FROM t LIMIT 500 OFFSET 3", "sqlite", 100, False),
    ("SELECT * FROM t LIMIT ALL", "postgres", 100, True),
    ("SELECT * FROM t LIMIT $1", "postgres", 100, True),
    ("SELECT * FROM t LIMIT 1 + 1", "sqlite", 100, True),
    ("SELECT 1 UNION SELECT 2", "postgres", 100, False),
    ("SELECT 1 UNION SELECT 2 LIMIT 1000", "sqlite", 100, False),
    ("WITH c AS (SELECT 1 AS x) SELECT * FROM c ORDER BY x", "postgres", 100, False),
    ("SELECT * FROM t FETCH FIRST 500 ROWS ONLY", "postgres", 100, False),
    ("SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES", "postgres", 100, True),
    ("SELECT TOP 500 * FROM t", "tsql", 100, False),
    ("SELECT TOP 50 PERCENT * FROM t", "tsql", 100, True),
    ("SELECT * FROM t", "oracle", 100, False),
]
