"""Parse-based read-only SQL guard: an allow-list over sqlglot's syntax tree that fails closed.

A statement passes only when it is exactly one SELECT (optionally with WITH, UNION, INTERSECT
or EXCEPT), holds no data-modifying, locking or session-changing node, calls no denied function
and touches at most ``max_tables`` real tables. PII tables and columns do not block a query:
they mark it as needing human approval. Anything the guard cannot analyse is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from airflow_aimod.core._sql_functions import allowed_functions
from airflow_aimod.exceptions import ConfigurationError, SqlRejected

__all__ = ["SUPPORTED_DIALECTS", "SqlGuard", "SqlVerdict"]

SUPPORTED_DIALECTS = ("bigquery", "duckdb", "mysql", "oracle", "postgres", "redshift", "snowflake", "sqlite",
                      "trino", "tsql")
_DIALECT_ALIASES = {"postgresql": "postgres", "mssql": "tsql", "sqlserver": "tsql"}

# First real token (comments skipped) a read-only query may start with.
_FIRST_TOKENS = frozenset({TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN, TokenType.VALUES})
_QUERY_ROOTS = tuple(c for c in (getattr(exp, n, None) for n in ("Select", "Union", "Intersect", "Except")) if c)
_SEMICOLON = getattr(exp, "Semicolon", type(None))

# sqlglot node class -> what it does; classes missing from this sqlglot version are skipped.
_DENIED_NODE_NAMES = {
    "Insert": "INSERT", "Update": "UPDATE", "Delete": "DELETE", "Merge": "MERGE", "Copy": "COPY",
    "LoadData": "LOAD DATA", "Export": "EXPORT", "MultitableInserts": "multi-table INSERT", "Create": "CREATE",
    "Drop": "DROP", "Alter": "ALTER", "TruncateTable": "TRUNCATE", "Comment": "COMMENT ON", "Grant": "GRANT",
    "Revoke": "REVOKE", "Command": "a raw command", "Execute": "EXECUTE", "ExecuteSql": "EXECUTE",
    "Declare": "DECLARE", "Kill": "KILL", "Install": "INSTALL", "Set": "SET", "Pragma": "PRAGMA", "Use": "USE",
    "Attach": "ATTACH", "Detach": "DETACH", "Analyze": "ANALYZE", "Vacuum": "VACUUM",
    "Transaction": "BEGIN / START TRANSACTION", "Commit": "COMMIT", "Rollback": "ROLLBACK",
    "Into": "SELECT ... INTO", "Lock": "a locking clause (FOR UPDATE / FOR SHARE)", "Cache": "CACHE",
    "Uncache": "UNCACHE", "Refresh": "REFRESH", "Put": "PUT", "Get": "GET",
    "NextValueFor": "NEXT VALUE FOR (it advances a sequence)",
}
_DENIED_NODES = tuple((cls, label) for name, label in _DENIED_NODE_NAMES.items() if (cls := getattr(exp, name, None)))

# T-SQL table hints that take update, exclusive or long-held locks.
_LOCK_HINTS = frozenset({"updlock", "xlock", "holdlock", "tablock", "tablockx", "paglock", "serializable"})

# Time-based denial of service: they stall the connection.
_DELAY_FUNCTIONS = frozenset({"sleep", "pg_sleep", "pg_sleep_for", "pg_sleep_until", "benchmark", "waitfor",
                              "system$wait"})
# Signal, reconfigure, replicate or back up the server (current_setting is read-only and allowed).
_SERVER_FUNCTIONS = frozenset({
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "set_config",
    "pg_switch_wal", "pg_switch_xlog", "pg_create_restore_point", "pg_start_backup", "pg_stop_backup",
    "pg_backup_start", "pg_backup_stop", "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_logical_emit_message",
    "pg_create_physical_replication_slot", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
    "pg_import_system_collations",
})
# Read or write server files, large objects and the environment.
_FILE_FUNCTIONS = frozenset({
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_logdir_ls", "lo_import", "lo_export",
    "lo_get", "lo_put", "lo_open", "lo_create", "lo_creat", "lo_unlink", "lo_from_bytea", "loread", "lowrite",
    "load_file", "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "parquet_scan", "sniff_csv",
    "getenv", "openrowset", "opendatasource",
})
# Reach other databases or the operating system.
_REMOTE_FUNCTIONS = frozenset({"openquery", "xp_cmdshell", "system", "sys_exec", "sys_eval", "shell"})
# Change shared state: sequences, advisory locks, notifications.
_STATE_FUNCTIONS = frozenset({"nextval", "setval", "pg_notify", "get_lock", "release_lock", "release_all_locks"})
# Run SQL given as a string, which the guard cannot inspect.
_DYNAMIC_SQL_FUNCTIONS = frozenset({"exec", "execute", "eval", "sp_executesql", "query", "query_table"})
# Dialect-only entries: DuckDB's glob() lists server files (SQLite's glob() is a harmless string match).
_DIALECT_FUNCTIONS = {"duckdb": frozenset({"glob"})}

_DELAY = "delays execution"
_SERVER = "controls or reconfigures the server"
_FILES = "accesses files, large objects or the environment"
_REMOTE = "reaches other databases or the operating system"
_STATE = "changes sequences, locks or notifications"
_DYNAMIC = "runs SQL built from a string"
_DENIED_FUNCTIONS = ((_DELAY_FUNCTIONS, _DELAY), (_SERVER_FUNCTIONS, _SERVER), (_FILE_FUNCTIONS, _FILES),
                     (_REMOTE_FUNCTIONS, _REMOTE), (_STATE_FUNCTIONS, _STATE), (_DYNAMIC_SQL_FUNCTIONS, _DYNAMIC))
# Name prefixes denied like the sets above (whole families of functions).
_DENIED_PREFIXES = (
    ("pg_advisory", _STATE), ("pg_try_advisory", _STATE), ("pg_stat_reset", _SERVER), ("system$", _SERVER),
    ("pg_ls_", _FILES), ("pg_file_", _FILES), ("lo_", _FILES), ("read_", _FILES), ("dblink", _REMOTE),
    ("xp_", _REMOTE), ("query_to_xml", _DYNAMIC), ("table_to_xml", _DYNAMIC), ("cursor_to_xml", _DYNAMIC),
    ("schema_to_xml", _DYNAMIC), ("database_to_xml", _DYNAMIC),
)
# Oracle system packages, called as package.function(...).
_DENIED_PACKAGES = frozenset({
    "dbms_lock", "dbms_pipe", "dbms_sql", "dbms_xmlgen", "dbms_scheduler", "dbms_java", "dbms_ldap", "utl_http",
    "utl_file", "utl_inaddr", "utl_tcp", "utl_smtp", "httpuritype",
})

# Typed nodes that are syntax, not calls (CASE, CAST, ARRAY[...], x = ANY(...), ...).
_SYNTAX_NODES: tuple[type, ...] = tuple(c for c in (getattr(exp, n, None) for n in (
    "Case", "Cast", "TryCast", "Array", "Struct", "Any", "All", "Exists", "Extract", "Interval", "Filter",
    "Within", "WithinGroup", "Anonymous_", "Collate", "Bracket", "Explode", "Unnest", "Values", "Tuple",
    "AtTimeZone", "Distinct", "Binary", "Unary", "Connector", "Predicate", "IgnoreNulls", "RespectNulls", "HavingMax", "Columns")) if isinstance(c, type))
_SAMPLE_KEYWORDS = frozenset({"TABLESAMPLE", "SAMPLE"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: ([^,]*),[^>]*>")


@dataclass(frozen=True)
class SqlVerdict:
    """The guard's decision on one SQL text."""

    allowed: bool
    requires_approval: bool
    tables: tuple[str, ...]
    violations: tuple[str, ...]
    approval_reasons: tuple[str, ...]
    statement: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as a JSON-safe dict."""
        return {"allowed": self.allowed, "requires_approval": self.requires_approval, "tables": list(self.tables),
                "violations": list(self.violations), "approval_reasons": list(self.approval_reasons),
                "statement": self.statement}


def _rejected(violation: str) -> SqlVerdict:
    """Return a verdict for SQL rejected before it could be analysed."""
    return SqlVerdict(False, False, (), (violation,), (), None)


def _error_message(error: Exception) -> str:
    """Return a one-line parser message without colour codes or token reprs."""
    details = getattr(error, "errors", None)
    if details:
        text = f"{details[0].get('description')} (line {details[0].get('line')}, col {details[0].get('col')})"
    else:
        text = (_ANSI.sub("", str(error)).splitlines() or [type(error).__name__])[0]
    return _TOKEN_REPR.sub(r"'\1'", text).replace("'SENTINEL'", "end of input")


def _names(values: Iterable[str], what: str) -> list[list[str]]:
    """Split configured dotted names into lower-case parts with quotes stripped."""
    if isinstance(values, str):
        raise ConfigurationError(f"{what} must be a list of names, not the string {values!r}")
    return [[part.strip().strip('"`[]').lower() for part in str(value).split(".")] for value in values]


def _table_name(table: exp.Table) -> str | None:
    """Return 'schema.table' (lower-case, unquoted), or None for a table function."""
    if not isinstance(table.this, exp.Identifier):
        return None
    parts = (table.args.get("catalog"), table.args.get("db"), table.this)
    return ".".join(p.name.lower() for p in parts if isinstance(p, exp.Expression) and p.name)


def _with_of(node: exp.Expression) -> exp.With | None:
    """Return the WITH clause attached to a query (``with_`` in new sqlglot, ``with`` in old)."""
    with_ = node.args.get("with_") or node.args.get("with")
    return with_ if isinstance(with_, exp.With) else None


def _is_cte_reference(table: exp.Table) -> bool:
    """Return True when an unqualified table name resolves to a CTE visible at that point."""
    if table.args.get("db") or table.args.get("catalog"):
        return False
    name, child, node = table.name.lower(), table, table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):  # inside a CTE: only earlier ones (or itself)
            index = next(i for i, cte in enumerate(node.expressions) if cte is child)
            visible = node.expressions[: index + 1 if node.args.get("recursive") else index]
        else:
            with_ = _with_of(node)
            visible = with_.expressions if with_ is not None and with_ is not child else []
        if name in {cte.alias_or_name.lower() for cte in visible}:
            return True
        child, node = node, node.parent
    return False


def _real_tables(root: exp.Expression) -> Iterator[tuple[exp.Table, str]]:
    """Yield (node, normalized name) for every table that is not a CTE reference or a table function."""
    for table in root.find_all(exp.Table):
        name = _table_name(table)
        if name and not _is_cte_reference(table):
            yield table, name


def _is_query(node: exp.Expression | None) -> bool:
    """Return True for SELECT or a set operation, possibly parenthesized."""
    while isinstance(node, exp.Subquery):
        node = node.this
    return isinstance(node, _QUERY_ROOTS)


class SqlGuard:
    """Decide whether SQL is one read-only SELECT, and report the tables and PII it touches."""

    def __init__(self, *, dialect: str = "sqlite", max_tables: int = 5, pii_tables: Iterable[str] = (),
                 pii_columns: Iterable[str] = (), force_limit: int | None = None) -> None:
        """Validate the configuration; raise ConfigurationError on a bad value."""
        self.dialect = _DIALECT_ALIASES.get(str(dialect).lower(), str(dialect).lower())
        if self.dialect not in SUPPORTED_DIALECTS:
            supported = ", ".join(SUPPORTED_DIALECTS)
            raise ConfigurationError(f"unsupported SQL dialect {dialect!r}; use one of: {supported}")
        if type(max_tables) is not int or max_tables < 1:
            raise ConfigurationError(f"max_tables must be an integer >= 1, got {max_tables!r}")
        if force_limit is not None and (type(force_limit) is not int or force_limit < 1):
            raise ConfigurationError(f"force_limit must be None or an integer >= 1, got {force_limit!r}")
        self.max_tables, self.force_limit = max_tables, force_limit
        self.pii_tables = frozenset(parts[-1] for parts in _names(pii_tables, "pii_tables"))
        columns: dict[str, set[str]] = {}
        for parts in _names(pii_columns, "pii_columns"):
            if len(parts) < 2 or not all(parts):
                raise ConfigurationError(f"pii_columns entries look like 'table.column', got {'.'.join(parts)!r}")
            columns.setdefault(parts[-2], set()).add(parts[-1])
        self.pii_columns = {table: frozenset(names) for table, names in columns.items()}
        self._dialect = sqlglot.Dialect.get_or_raise(self.dialect)
        self._allowed = allowed_functions(self.dialect)

    def enforce(self, sql: str) -> SqlVerdict:
        """Return the verdict, or raise SqlRejected with its violations."""
        verdict = self.check(sql)
        if not verdict.allowed:
            raise SqlRejected("SQL rejected: " + "; ".join(verdict.violations), list(verdict.violations))
        return verdict

    def check(self, sql: str) -> SqlVerdict:
        """Return the verdict for ``sql``; never raises."""
        try:
            return self._check(sql)
        except Exception as error:  # noqa: BLE001 - fail closed on anything unexpected
            return _rejected(f"could not analyse the SQL ({_error_message(error)}); send one plain SELECT query")

    def _check(self, sql: str) -> SqlVerdict:
        """Tokenize and parse, then apply the allow-list rules."""
        if not isinstance(sql, str):
            return _rejected("SQL must be a string: send one SELECT query as text")
        try:
            tokens = self._dialect.tokenize(sql)
            parsed = self._dialect.parser(error_level=ErrorLevel.RAISE).parse(tokens, sql)
        except (ParseError, TokenError) as error:
            return _rejected(f"SQL could not be parsed as {self.dialect}: {_error_message(error)}; "
                             "send one valid SELECT query")
        statements = [s for s in parsed if s is not None and not isinstance(s, _SEMICOLON)]
        if not tokens or not statements:
            return _rejected("empty statement: send exactly one SELECT query")
        if len(statements) > 1:
            return _rejected(f"{len(statements)} statements found: send exactly one SELECT query "
                             "(a single trailing ';' is fine)")
        root = statements[0]
        violations = list(self._kind_violations(root, tokens[0]))
        violations += [*self._node_violations(root, skip_root=bool(violations)), *self._token_violations(tokens)]
        tables = sorted({name for _, name in _real_tables(root)})
        if len(tables) > self.max_tables:
            violations.append(f"query touches {len(tables)} tables (limit {self.max_tables}): {', '.join(tables)}; "
                              "split it into smaller queries")
        reasons = tuple(dict.fromkeys(self._approval_reasons(root)))
        allowed = not violations
        if allowed and self.force_limit is not None:
            root = self._limited(root)
        return SqlVerdict(allowed, allowed and bool(reasons), tuple(tables), tuple(dict.fromkeys(violations)),
                          reasons, root.sql(dialect=self.dialect, comments=False))

    @staticmethod
    def _kind_violations(root: exp.Expression, first: Token) -> Iterator[str]:
        """Yield a violation unless the text starts like a query and parses as one."""
        if first.token_type not in _FIRST_TOKENS or not _is_query(root):
            kind = first.text.upper() if first.token_type not in _FIRST_TOKENS else root.key.upper()
            yield f"{kind} statements are not allowed: only SELECT queries (with optional WITH / UNION) are"

    def _node_violations(self, root: exp.Expression, skip_root: bool) -> Iterator[str]:
        """Yield violations for denied nodes, functions and lock hints anywhere in the tree."""
        for node in root.walk():
            for cls, label in _DENIED_NODES:
                if isinstance(node, cls) and not (skip_root and node is root):
                    yield f"{label} is not allowed: only read-only SELECT queries are"
            if isinstance(node, exp.Func):
                yield from self._call_violations(node)
            hints = {h.name.lower() for h in node.expressions} if isinstance(node, exp.WithTableHint) else set()
            if hints := hints & _LOCK_HINTS:
                yield f"locking table hint {', '.join(sorted(hints)).upper()} is not allowed: use NOLOCK or no hint"
            if self.dialect == "duckdb" and isinstance(node, exp.Table) and _table_name(node):
                if re.search(r"[/\\:]|\.\w+$", node.name):
                    yield f"reading the file {node.name!r} is not allowed: query named tables only"

    def _call_violations(self, node: exp.Func) -> Iterator[str]:
        """Yield violations for a denied or unlisted function node, by its names or its system package."""
        names = {node.name} if isinstance(node, exp.Anonymous) else set(node.sql_names())
        names = {name.lower() for name in names}
        denied = list(filter(None, map(self._function_violation, sorted(names))))
        yield from denied
        if isinstance(node.parent, exp.Dot) and node.parent.expression is node:
            packages = {i.name.lower() for i in node.parent.this.find_all(exp.Identifier)}
            denied += [self._package_violation(p, min(names)) for p in sorted(packages & _DENIED_PACKAGES)]
            yield from denied[len(denied) - len(packages & _DENIED_PACKAGES):]
        if not denied and not names & self._allowed and not isinstance(node, _SYNTAX_NODES):
            name = node.name if isinstance(node, exp.Anonymous) else min(names)
            yield (f"function {name.lower()}() is not on the allow-list for dialect {self.dialect}: use standard "
                   "aggregate, math, string, date/time, conditional, window, JSON or cast functions")

    def _token_violations(self, tokens: Sequence[Token]) -> Iterator[str]:
        """Yield violations for denied names written as calls, whatever node sqlglot made of them."""
        for i, token in enumerate(tokens[:-1]):
            if tokens[i + 1].token_type != TokenType.L_PAREN or "STRING" in token.token_type.name:
                continue
            if i and tokens[i - 1].text.upper() in _SAMPLE_KEYWORDS:  # TABLESAMPLE SYSTEM (10) is no call
                continue
            if message := self._function_violation(token.text.lower()):
                yield message
            package = tokens[i - 2].text.lower() if i >= 2 and tokens[i - 1].token_type == TokenType.DOT else ""
            if package in _DENIED_PACKAGES:
                yield self._package_violation(package, token.text.lower())

    def _function_violation(self, name: str) -> str | None:
        """Return the violation for calling function ``name``, or None when it is allowed."""
        extra = ((_DIALECT_FUNCTIONS.get(self.dialect, frozenset()), _FILES),)
        category = next((c for names, c in (*_DENIED_FUNCTIONS, *extra) if name in names), None)
        category = category or next((c for prefix, c in _DENIED_PREFIXES if name.startswith(prefix)), None)
        if category is None:
            return None
        return f"function {name}() is not allowed: it {category}; use plain read-only expressions"

    @staticmethod
    def _package_violation(package: str, name: str) -> str:
        """Return the violation for calling a function of a denied system package."""
        return f"function {package}.{name}() is not allowed: it belongs to a system package; use plain expressions"

    def _approval_reasons(self, root: exp.Expression) -> Iterator[str]:
        """Yield why the query needs human approval: PII tables and PII columns it reads."""
        for table, name in _real_tables(root):
            bare = name.rsplit(".", 1)[-1]
            if bare in self.pii_tables:
                yield f"touches PII table {bare}"
            if bare in self.pii_columns:
                yield from self._pii_column_reasons(table, bare)

    def _pii_column_reasons(self, table: exp.Table, bare: str) -> Iterator[str]:
        """Yield reasons when the SELECT reading ``table`` (or a subquery of it) uses a PII column; conservative."""
        pii, owner = self.pii_columns[bare], table.find_ancestor(exp.Select)
        if owner is None:
            yield f"touches PII columns of {bare} ({', '.join(sorted(pii))})"
            return
        names = {bare, table.alias_or_name.lower()}
        for projection in owner.expressions:
            if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and isinstance(
                    projection.this, exp.Star) and projection.table.lower() in names):
                yield f"selects * from {bare}, which has PII columns ({', '.join(sorted(pii))})"
        used = [(c.name, c.table) for c in owner.find_all(exp.Column)]
        used += [(i.name, "") for join in owner.args.get("joins") or () for i in join.args.get("using") or ()]
        for column, qualifier in used:
            if column.lower() in pii and (not qualifier or qualifier.lower() in names):
                yield f"touches PII column {bare}.{column.lower()}"
            elif column.lower() in names and not qualifier:  # whole-row reference, e.g. row_to_json(u)
                yield f"reads whole rows of {bare}, which has PII columns ({', '.join(sorted(pii))})"

    def _limited(self, root: exp.Expression) -> exp.Expression:
        """Return ``root`` with its outermost row limit capped at ``force_limit``."""
        limit = root.args.get("limit")
        if limit is None:
            return root.limit(self.force_limit)
        count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.args.get("expression")
        options = limit.args.get("limit_options") or limit  # LimitOptions in new sqlglot, plain args in old
        if options.args.get("percent") or options.args.get("with_ties"):
            count = None
        if isinstance(count, exp.Literal) and count.is_int:
            return root if int(count.this) <= self.force_limit else root.limit(self.force_limit)
        return exp.select("*").from_(root.subquery("_aimod_limited")).limit(self.force_limit)
