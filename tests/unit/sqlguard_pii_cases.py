"""PII resolution cases for the SQL guard, kept as data: every way a query can read a declared PII column.

Schema used by the cases (the guard gets it only in the ``SCHEMA`` cases):
  users(id, name, email, ssn, created_at)  -- PII: users.email, users.ssn
  orders(id, uid, amount, email)           -- orders.email is NOT PII (same name, other table)
  customers(...)                           -- a PII table

``GENERATED`` crosses spellings of a column reference (aliases, quotes, case, schema names) with
the clauses it can sit in (output, WHERE, GROUP BY, ORDER BY, JOIN ON, window, aggregates, CASE,
subqueries, CTEs, set operations); the same clauses with a non-PII column must need no approval.
``HAND_WRITTEN`` covers whole-row references, alias lists, stars, lateral joins, correlated
subqueries, NATURAL/USING joins and output aliases, per dialect.
"""

from __future__ import annotations

PII_COLUMNS = ["users.email", "public.users.ssn"]
PII_TABLES = ["customers"]
SCHEMA = {"users": ["id", "name", "email", "ssn", "created_at"], "orders": ["id", "uid", "amount", "email"]}

APPROVE, FREE, REJECT = "approve", "free", "reject"

# (column reference, FROM clause, dialects) — every spelling reads users.email.
PII_REFS = [
    ("email", "users", ("sqlite", "postgres")),
    ("EMAIL", "USERS", ("sqlite", "postgres")),
    ('"email"', "users", ("sqlite", "postgres")),
    ('"EMAIL"', '"Users"', ("sqlite", "postgres")),
    ("u.email", "users u", ("sqlite", "postgres")),
    ("U.Email", "users AS U", ("sqlite", "postgres")),
    ('"u"."email"', 'users AS "u"', ("sqlite", "postgres")),
    ("users.email", "users", ("sqlite", "postgres")),
    ("users.email", "public.users", ("postgres",)),
    ("public.users.email", "public.users", ("postgres",)),
    ('"public"."users"."email"', '"public"."users"', ("postgres",)),
    ("main.users.email", "main.users", ("sqlite",)),
    ("x.ssn", "main.users AS x", ("sqlite",)),
    ("x.ssn", "public.users x", ("postgres",)),
]
# The same spellings with a column that is not PII: no approval.
FREE_REFS = [(ref.replace("email", "name").replace("EMAIL", "NAME").replace("Email", "Name").replace("ssn", "name"),
              src, dialects) for ref, src, dialects in PII_REFS]

# Clauses a reference can sit in; {ref} is the column, {src} the FROM clause.
CONTEXTS = [
    ("SELECT {ref} FROM {src}", ("sqlite", "postgres")),
    ("SELECT id, {ref} AS contact FROM {src} LIMIT 5", ("sqlite", "postgres")),
    ("SELECT upper({ref}) FROM {src}", ("sqlite", "postgres")),
    ("SELECT substr({ref}, 1, 3) || '...' FROM {src}", ("sqlite", "postgres")),
    ("SELECT length({ref}) FROM {src}", ("sqlite", "postgres")),
    ("SELECT coalesce(NULL, {ref}) FROM {src}", ("sqlite", "postgres")),
    ("SELECT CASE WHEN {ref} LIKE '%@x.com' THEN 1 ELSE 0 END FROM {src}", ("sqlite", "postgres")),
    ("SELECT cast({ref} AS TEXT) FROM {src}", ("sqlite", "postgres")),
    ("SELECT id FROM {src} WHERE {ref} = 'a@b.c'", ("sqlite", "postgres")),
    ("SELECT count(*) FROM {src} WHERE {ref} LIKE 'a%' AND id > 3", ("sqlite", "postgres")),
    ("SELECT count(*) FROM {src} WHERE NOT ({ref} IS NULL OR id < 0)", ("sqlite", "postgres")),
    ("SELECT count(*) FROM {src} GROUP BY {ref}", ("sqlite", "postgres")),
    ("SELECT count(*) FROM {src} GROUP BY id HAVING max({ref}) > 'm'", ("sqlite", "postgres")),
    ("SELECT id FROM {src} ORDER BY {ref} DESC", ("sqlite", "postgres")),
    ("SELECT count(DISTINCT {ref}) FROM {src}", ("sqlite", "postgres")),
    ("SELECT min({ref}), max({ref}) FROM {src}", ("sqlite", "postgres")),
    ("SELECT row_number() OVER (PARTITION BY {ref} ORDER BY id) FROM {src}", ("sqlite", "postgres")),
    ("SELECT lag({ref}) OVER (ORDER BY id) FROM {src}", ("sqlite", "postgres")),
    ("SELECT count(*) FILTER (WHERE {ref} LIKE 'a%') FROM {src}", ("postgres",)),
    ("SELECT json_agg({ref}) FROM {src}", ("postgres",)),
    ("SELECT jsonb_agg({ref} ORDER BY id) FROM {src}", ("postgres",)),
    ("SELECT json_build_object('contact', {ref}) FROM {src}", ("postgres",)),
    ("SELECT json_object_agg(id, {ref}) FROM {src}", ("postgres",)),
    ("SELECT string_agg({ref}, ',') FROM {src}", ("postgres",)),
    ("SELECT array_agg({ref}) FROM {src}", ("postgres",)),
    ("SELECT {ref}::text FROM {src}", ("postgres",)),
    ("SELECT DISTINCT ON ({ref}) id FROM {src}", ("postgres",)),
    ("SELECT json_group_array({ref}) FROM {src}", ("sqlite",)),
    ("SELECT json_object('contact', {ref}) FROM {src}", ("sqlite",)),
    ("SELECT json_group_object(id, {ref}) FROM {src}", ("sqlite",)),
    ("SELECT group_concat({ref}) FROM {src}", ("sqlite",)),
    ("SELECT x FROM (SELECT {ref} AS x FROM {src}) AS s", ("sqlite", "postgres")),
    ("SELECT s.x FROM (SELECT id, {ref} AS x FROM {src}) AS s WHERE s.id > 1", ("sqlite", "postgres")),
    ("WITH c AS (SELECT {ref} AS x FROM {src}) SELECT x FROM c", ("sqlite", "postgres")),
    ("WITH a AS (SELECT id, {ref} AS x FROM {src}), b AS (SELECT x AS y FROM a), c AS (SELECT y AS z FROM b) "
     "SELECT z FROM c", ("sqlite", "postgres")),
    ("WITH c AS (SELECT id FROM {src} WHERE {ref} = 'x') SELECT count(*) FROM c", ("sqlite", "postgres")),
    ("SELECT id FROM orders WHERE uid IN (SELECT id FROM {src} WHERE {ref} LIKE 'a%')", ("sqlite", "postgres")),
    ("SELECT (SELECT max({ref}) FROM {src}) AS m", ("sqlite", "postgres")),
    ("SELECT id FROM orders UNION SELECT {ref} FROM {src}", ("sqlite", "postgres")),
    ("SELECT id FROM orders UNION ALL SELECT {ref} FROM {src} UNION ALL SELECT 1", ("sqlite", "postgres")),
    ("SELECT {ref} FROM {src} INTERSECT SELECT email FROM orders", ("sqlite", "postgres")),
    ("SELECT email FROM orders EXCEPT SELECT {ref} FROM {src}", ("sqlite", "postgres")),
    ("SELECT t.v FROM (SELECT 'x' AS v UNION SELECT {ref} FROM {src}) AS t", ("sqlite", "postgres")),
    ("SELECT o.id FROM orders o JOIN {src} ON o.uid = 1 AND o.email = {ref}", ("sqlite", "postgres")),
    ("SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM {src} WHERE {ref} = o.email)", ("sqlite", "postgres")),
]


def _generated() -> list[tuple[str, str, str]]:
    cases = []
    for refs, expect in ((PII_REFS, APPROVE), (FREE_REFS, FREE)):
        for ref, src, ref_dialects in refs:
            for template, dialects in CONTEXTS:
                sql = template.format(ref=ref, src=src)
                cases += [(sql, d, expect) for d in dialects if d in ref_dialects]
    return cases


GENERATED = _generated()

BOTH = ("sqlite", "postgres")
PG = ("postgres",)
LITE = ("sqlite",)

# (sql, dialects, expectation)
HAND_WRITTEN = [
    # stars
    ("SELECT * FROM users", BOTH, APPROVE),
    ("SELECT u.* FROM users u", BOTH, APPROVE),
    ("SELECT users.* FROM users", BOTH, APPROVE),
    ("SELECT * FROM (SELECT * FROM users) AS s", BOTH, APPROVE),
    ("SELECT s.* FROM (SELECT * FROM users) AS s", BOTH, APPROVE),
    ("WITH c AS (SELECT * FROM users) SELECT id FROM c", BOTH, APPROVE),
    ("WITH c AS (SELECT * FROM users), d AS (SELECT * FROM c) SELECT * FROM d", BOTH, APPROVE),
    ("SELECT o.*, u.id FROM orders o JOIN users u ON u.id = o.uid", BOTH, FREE),
    ("SELECT * FROM orders", BOTH, FREE),
    ("SELECT count(*) FROM users", BOTH, FREE),
    ("SELECT id FROM orders o WHERE EXISTS (SELECT * FROM users u WHERE u.id = o.uid)", BOTH, FREE),
    ("TABLE users", PG, REJECT),
    ("SELECT * FROM users u JOIN orders o ON o.uid = u.id", BOTH, APPROVE),
    # whole-row references (Postgres)
    ("SELECT u FROM users u", PG, APPROVE),
    ("SELECT users FROM users", PG, APPROVE),
    ("SELECT row_to_json(u) FROM users u", PG, APPROVE),
    ("SELECT row_to_json(users) FROM public.users", PG, APPROVE),
    ("SELECT to_json(u) FROM users u", PG, APPROVE),
    ("SELECT to_jsonb(u.*) FROM users u", PG, APPROVE),
    ("SELECT json_agg(u) FROM users u", PG, APPROVE),
    ("SELECT jsonb_agg(u ORDER BY u.id) FROM users u", PG, APPROVE),
    ("SELECT json_agg(u.*) FROM users AS u", PG, APPROVE),
    ("SELECT array_agg(u) FROM users u", PG, APPROVE),
    ("SELECT ROW(u.*) FROM users u", PG, APPROVE),
    ("SELECT (u).email FROM users u", PG, APPROVE),
    ("SELECT (u.*).email FROM users u", PG, APPROVE),
    ("SELECT ((u)).ssn FROM users AS u", PG, APPROVE),
    ("SELECT u::text FROM users u", PG, APPROVE),
    ("SELECT string_agg(u::text, ';') FROM users u", PG, APPROVE),
    ("SELECT json_build_object('row', u) FROM users u", PG, APPROVE),
    ("SELECT id FROM users u WHERE u::text LIKE '%@%'", PG, APPROVE),
    ("SELECT count(*) FROM users u WHERE row_to_json(u)::text LIKE '%gmail%'", PG, APPROVE),
    ("SELECT (SELECT json_agg(x) FROM users x) AS everything", PG, APPROVE),
    ("SELECT (SELECT u) FROM users u", PG, APPROVE),
    ("SELECT ARRAY(SELECT email FROM users)", PG, APPROVE),
    ("SELECT count(*) FROM users GROUP BY ROLLUP (email)", PG, APPROVE),
    ("SELECT grouping(ssn) FROM users GROUP BY CUBE (ssn)", PG, APPROVE),
    ("SELECT email COLLATE \"C\" FROM users", PG, APPROVE),
    ("SELECT id FROM users ORDER BY email COLLATE \"C\"", PG, APPROVE),
    ("SELECT id, rank() OVER w FROM users WINDOW w AS (PARTITION BY email)", PG, APPROVE),
    ("SELECT id FROM users LIMIT (SELECT length(email) FROM users LIMIT 1)", PG, APPROVE),
    ("SELECT id FROM users WHERE email = ANY (ARRAY['a@b.c'])", PG, APPROVE),
    ("SELECT 1 FROM users WHERE (email, id) IN (('a@b.c', 1))", BOTH, APPROVE),
    ("SELECT u2.id FROM users u1 JOIN users u2 USING (id) WHERE u2.ssn > ''", BOTH, APPROVE),
    ("SELECT g.x FROM generate_series(1, 3) AS g(x), users u WHERE u.email = g.x::text", PG, APPROVE),
    ("SELECT * FROM (VALUES (1, 'a')) AS v(id, email)", BOTH[1:], FREE),
    ("SELECT row_to_json(o) FROM orders o", PG, FREE),
    ("SELECT o FROM orders o", PG, FREE),
    ("SELECT json_agg(o ORDER BY o.id) FROM orders o JOIN users u ON u.id = o.uid", PG, FREE),
    ("SELECT row_to_json(s) FROM (SELECT id, name FROM users) s", PG, FREE),
    ("SELECT row_to_json(s) FROM (SELECT id, email FROM users) s", PG, APPROVE),
    ("SELECT hstore(u) FROM users u", PG, REJECT),
    # alias lists on tables, derived tables and CTEs
    ("SELECT e FROM users AS u(i, n, e)", PG, APPROVE),
    ("SELECT u.e FROM users AS u(i, n, e)", PG, APPROVE),
    ("SELECT x FROM users u(x)", PG, APPROVE),
    ("SELECT ssn FROM users AS u(i, n, e)", PG, APPROVE),
    ("SELECT count(*) FROM users AS u(i, n, e)", PG, FREE),
    ("SELECT e FROM (SELECT id, email FROM users) AS s(i, e)", PG, APPROVE),
    ("SELECT e FROM (SELECT id, name FROM users) AS s(i, e)", PG, FREE),
    ("WITH c(i, e) AS (SELECT id, email FROM users) SELECT e FROM c", BOTH, APPROVE),
    ("WITH c(i, e) AS (SELECT id, name FROM users) SELECT e FROM c", BOTH, FREE),
    ("WITH c(a, b) AS (SELECT * FROM users) SELECT a FROM c", BOTH, APPROVE),
    ("WITH RECURSIVE r(n, e) AS (SELECT 1, email FROM users UNION ALL SELECT n + 1, e FROM r WHERE n < 3) "
     "SELECT n FROM r", BOTH, APPROVE),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r", BOTH, FREE),
    # lateral joins (Postgres)
    ("SELECT l.m FROM users u, LATERAL (SELECT u.email AS m) AS l", PG, APPROVE),
    ("SELECT l.m FROM users u JOIN LATERAL (SELECT upper(u.ssn) AS m) AS l ON true", PG, APPROVE),
    ("SELECT l.* FROM users u CROSS JOIN LATERAL (SELECT u.*) AS l", PG, APPROVE),
    ("SELECT l.n FROM users u CROSS JOIN LATERAL (SELECT count(*) AS n FROM orders o WHERE o.uid = u.id) AS l",
     PG, FREE),
    ("SELECT x FROM users u, unnest(ARRAY[u.email, u.name]) AS x", PG, APPROVE),
    ("SELECT x FROM users u, unnest(ARRAY[u.id]) AS x", PG, FREE),
    # correlated subqueries
    ("SELECT (SELECT u.email) FROM users u", BOTH, APPROVE),
    ("SELECT (SELECT email) FROM users", BOTH, APPROVE),
    ("SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.uid = u.id AND u.ssn LIKE '1%')",
     BOTH, APPROVE),
    ("SELECT o.id FROM orders o WHERE o.uid IN (SELECT u.id FROM users u WHERE u.email = o.email)", BOTH, APPROVE),
    ("SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.uid = u.id AND email = 'x')",
     BOTH, APPROVE),
    ("SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.uid = u.id AND o.email = 'x')",
     BOTH, FREE),
    ("SELECT u.id, (SELECT count(*) FROM orders o WHERE o.uid = u.id) AS n FROM users u", BOTH, FREE),
    ("SELECT id FROM users WHERE id = (SELECT max(uid) FROM orders WHERE orders.email LIKE 'a%')", BOTH, FREE),
    # joins
    ("SELECT u.id FROM users u JOIN orders o USING (email)", BOTH, APPROVE),
    ("SELECT u.id FROM users u JOIN orders o USING (id)", BOTH, FREE),
    ("SELECT id FROM users NATURAL JOIN orders", BOTH, APPROVE),
    ("SELECT o.email FROM users u JOIN orders o ON o.uid = u.id", BOTH, FREE),
    ("SELECT o.email FROM orders o LEFT JOIN users u ON u.id = o.uid AND u.name = 'x'", BOTH, FREE),
    ("SELECT email FROM orders o JOIN users u ON u.id = o.uid", BOTH, APPROVE),
    ("SELECT o.id FROM orders o JOIN users u ON lower(u.email) = lower(o.email)", BOTH, APPROVE),
    # output aliases and names that only look like PII
    ("SELECT upper(name) AS email FROM users ORDER BY email", BOTH, FREE),
    ("SELECT email FROM (SELECT name AS email FROM users) s", BOTH, FREE),
    ("SELECT s.ssn FROM (SELECT id AS ssn FROM users) AS s", BOTH, FREE),
    ("WITH users AS (SELECT 1 AS email) SELECT email FROM users", BOTH, FREE),
    ("SELECT 'email' AS label, 'users.email' AS note", BOTH, FREE),
    ("SELECT email FROM orders", BOTH, FREE),
    ("SELECT id, name, created_at FROM users ORDER BY 3 DESC", BOTH, FREE),
    ("SELECT json_agg(name) FROM users", PG, FREE),
    ("SELECT json_build_object('id', id, 'n', name) FROM users", PG, FREE),
    ("SELECT json_group_array(json_object('id', id, 'name', name)) FROM users", LITE, FREE),
    ("SELECT json_group_array(json_object('id', id, 'mail', email)) FROM users", LITE, APPROVE),
    ("SELECT * EXCEPT (email) FROM users", ("bigquery",), APPROVE),
    ("SELECT * EXCEPT (email, ssn) FROM users", ("bigquery",), FREE),
    # the PII table needs approval however it is read
    ("SELECT count(*) FROM customers", BOTH, APPROVE),
    ("SELECT id FROM orders WHERE uid IN (SELECT id FROM public.customers)", PG, APPROVE),
    # catalogs that leak column values or credentials are refused outright
    ("SELECT most_common_vals FROM pg_stats WHERE attname = 'email'", PG, REJECT),
    ("SELECT histogram_bounds FROM pg_catalog.pg_stats", PG, REJECT),
    ("SELECT stavalues1 FROM pg_statistic", PG, REJECT),
    ("SELECT * FROM pg_stats_ext_exprs", PG, REJECT),
    ("SELECT rolpassword FROM pg_authid", PG, REJECT),
    ("SELECT passwd FROM pg_shadow", PG, REJECT),
    ("SELECT rolname FROM pg_roles", PG, REJECT),
    ("SELECT * FROM pg_user_mappings", PG, REJECT),
    ("SELECT setting FROM pg_settings", PG, REJECT),
    ("SELECT * FROM information_schema.user_mapping_options", PG, REJECT),
    ("SELECT * FROM information_schema.role_table_grants", PG, REJECT),
    ("SELECT table_name, column_name FROM information_schema.columns", PG, FREE),
    ("SELECT * FROM sqlite_stat1", LITE, REJECT),
    ("SELECT * FROM sqlite_stat4", LITE, REJECT),
    ("SELECT sql FROM sqlite_master", LITE, REJECT),
    ("SELECT sql FROM main.sqlite_schema", LITE, REJECT),
    ("SELECT * FROM sqlite_dbpage", LITE, REJECT),
    ("SELECT * FROM pragma_table_info('users')", LITE, REJECT),
    ("SELECT * FROM pragma_index_list('users')", LITE, REJECT),
    ("SELECT current_setting('data_directory')", PG, REJECT),
    ("SELECT set_config('search_path', 'x', true)", PG, REJECT),
    ("SELECT txid_current()", PG, REJECT),
    ("SELECT pg_current_xact_id()", PG, REJECT),
    ("SELECT xmin, id FROM users", PG, REJECT),
    ("SELECT pg_backend_pid()", PG, REJECT),
    ("SELECT pg_get_viewdef('v'::regclass)", PG, REJECT),
    ("SHOW search_path", PG, REJECT),
]

HAND = [(sql, d, expect) for sql, dialects, expect in HAND_WRITTEN for d in dialects]

# With the live schema the guard resolves alias lists by position and unqualified names exactly.
# (sql, dialect, expectation with SCHEMA, expectation without)
SCHEMA_CASES = [
    ("SELECT i FROM users AS u(i, n, e)", "postgres", FREE, APPROVE),
    ("SELECT n FROM users AS u(i, n)", "postgres", FREE, APPROVE),
    ("SELECT e FROM users AS u(i, n, e)", "postgres", APPROVE, APPROVE),
    ("SELECT u.e FROM users AS u(i, n, e)", "postgres", APPROVE, APPROVE),
    ("SELECT ssn FROM users AS u(i, n, e)", "postgres", APPROVE, APPROVE),
    ("SELECT created_at FROM users AS u(i, n, e)", "postgres", FREE, FREE),
    ("SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.uid = u.id AND email = 'x')",
     "postgres", FREE, APPROVE),
    ("SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.uid = u.id AND ssn = 'x')",
     "postgres", APPROVE, APPROVE),
    ("SELECT id FROM users NATURAL JOIN (SELECT 1 AS id) AS one", "postgres", FREE, FREE),
    ("SELECT id FROM users NATURAL JOIN orders", "postgres", APPROVE, APPROVE),
]
