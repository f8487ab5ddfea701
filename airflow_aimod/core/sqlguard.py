"""Parse-based read-only SQL guard: an allow-list over sqlglot's syntax tree that fails closed.

A statement passes only when it is exactly one SELECT (optionally with WITH, UNION, INTERSECT
or EXCEPT), holds no data-modifying, locking or session-changing node, calls no denied function,
reads no system catalog and touches at most ``max_tables`` real tables. Size and complexity are
bounded before anything is parsed (``sqlbounds``). PII tables and columns do not block a query:
they mark it as needing human approval, and every reference is resolved to its source columns
(``sqlpii``) so that aliases, alias lists, CTEs, subqueries, stars and whole-row references
cannot hide them. Anything the guard cannot analyse is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from airflow_aimod.core._sql_functions import DENIED_PACKAGES, allowed_functions, denied_function
from airflow_aimod.core._sql_tables import real_tables, system_column_violation, system_relation_violation, table_name
from airflow_aimod.core.sqlbounds import SqlBounds
from airflow_aimod.core.sqlpii import PiiColumnFinder
from airflow_aimod.exceptions import ConfigurationError, SqlRejected

__all__ = ["SUPPORTED_DIALECTS", "SqlBounds", "SqlGuard", "SqlVerdict"]

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
    "SessionParameter": "a server variable (@@name reveals server settings)",
}
_DENIED_NODES = tuple((cls, label) for name, label in _DENIED_NODE_NAMES.items() if (cls := getattr(exp, name, None)))
_DENIED_CLASSES = tuple(cls for cls, _ in _DENIED_NODES)

# T-SQL table hints that take update, exclusive or long-held locks.
_LOCK_HINTS = frozenset({"updlock", "xlock", "holdlock", "tablock", "tablockx", "paglock", "serializable"})

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


def _is_query(node: exp.Expression | None) -> bool:
    """Return True for SELECT or a set operation, possibly parenthesized."""
    while isinstance(node, exp.Subquery):
        node = node.this
    return isinstance(node, _QUERY_ROOTS)


class SqlGuard:
    """Decide whether SQL is one read-only SELECT, and report the tables and PII it touches.

    ``bounds`` caps size and complexity before parsing (default ``SqlBounds()``); ``schema``
    (table -> its columns in order) makes PII resolution precise when the live schema is known.
    """

    def __init__(self, *, dialect: str = "sqlite", max_tables: int = 5, pii_tables: Iterable[str] = (),
                 pii_columns: Iterable[str] = (), force_limit: int | None = None, bounds: SqlBounds | None = None,
                 schema: Mapping[str, Sequence[str]] | None = None) -> None:
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
        self.bounds = bounds or SqlBounds()
        self.pii_tables = frozenset(parts[-1] for parts in _names(pii_tables, "pii_tables"))
        columns: dict[str, set[str]] = {}
        for parts in _names(pii_columns, "pii_columns"):
            if len(parts) < 2 or not all(parts):
                raise ConfigurationError(f"pii_columns entries look like 'table.column', got {'.'.join(parts)!r}")
            columns.setdefault(parts[-2], set()).add(parts[-1])
        self.pii_columns = {table: frozenset(names) for table, names in columns.items()}
        self._pii = PiiColumnFinder(self.pii_columns, schema)
        self._dialect = sqlglot.Dialect.get_or_raise(self.dialect)
        self._allowed = allowed_functions(self.dialect)

    def enforce(self, sql: str) -> SqlVerdict:
        """Return the verdict, or raise SqlRejected with its violations."""
        verdict = self.check(sql)
        if not verdict.allowed:
            raise SqlRejected("SQL rejected: " + "; ".join(verdict.violations), list(verdict.violations))
        return verdict

    def check(self, sql: str | bytes) -> SqlVerdict:
        """Return the verdict for ``sql`` (text, or UTF-8 bytes); never raises."""
        try:
            return self._check(sql)
        except RecursionError:
            return _rejected("SQL is nested too deeply to analyse: flatten it with CTEs or joins")
        except Exception as error:  # noqa: BLE001 - fail closed on anything unexpected
            return _rejected(f"could not analyse the SQL ({_error_message(error)}); send one plain SELECT query")

    def _check(self, sql: str | bytes) -> SqlVerdict:
        """Bound, tokenize and parse, then apply the allow-list rules."""
        if isinstance(sql, (bytes, bytearray)):
            try:
                sql = bytes(sql).decode("utf-8")
            except UnicodeDecodeError as error:
                return _rejected(f"SQL is not valid UTF-8 (byte 0x{sql[error.start]:02x} at offset {error.start}): "
                                 "send the query as UTF-8 text")
        if not isinstance(sql, str):
            return _rejected("SQL must be a string: send one SELECT query as text")
        if too_big := self.bounds.check_text(sql):
            return _rejected(too_big)
        try:
            tokens = self._dialect.tokenize(sql)
            if too_complex := self.bounds.check_tokens(tokens):
                return _rejected(too_complex)
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
        return self._verdict(statements[0], tokens, sql)

    def _verdict(self, root: exp.Expression, tokens: Sequence[Token], sql: str) -> SqlVerdict:
        """Apply every rule to one parsed statement."""
        nodes = list(root.walk())  # one walk; every rule below filters it
        real = list(real_tables(n for n in nodes if isinstance(n, exp.Table)))
        violations = list(self._kind_violations(root, tokens[0]))
        violations += [*self._node_violations(root, nodes, skip_root=bool(violations), sql=sql,
                                              real={id(t) for t, _ in real}),
                       *self._token_violations(tokens)]
        tables = sorted({name for _, name in real})
        if len(tables) > self.max_tables:
            violations.append(f"query touches {len(tables)} tables (limit {self.max_tables}): {', '.join(tables)}; "
                              "split it into smaller queries")
        reasons = tuple(dict.fromkeys(self._approval_reasons(root, nodes, tables)))
        allowed = not violations
        if allowed and self.force_limit is not None:
            root = self._limited(root)
        statement = root.sql(dialect=self.dialect, comments=False, copy=False)  # the tree's last use
        return SqlVerdict(allowed, allowed and bool(reasons), tuple(tables), tuple(dict.fromkeys(violations)),
                          reasons, statement)

    @staticmethod
    def _kind_violations(root: exp.Expression, first: Token) -> Iterator[str]:
        """Yield a violation unless the text starts like a query and parses as one."""
        if first.token_type not in _FIRST_TOKENS or not _is_query(root):
            kind = first.text.upper() if first.token_type not in _FIRST_TOKENS else root.key.upper()
            yield f"{kind} statements are not allowed: only SELECT queries (with optional WITH / UNION) are"

    def _node_violations(self, root: exp.Expression, nodes: Sequence[exp.Expression], *, skip_root: bool, sql: str,
                         real: set[int]) -> Iterator[str]:
        """Yield violations for denied nodes, functions, catalogs and lock hints anywhere in the tree."""
        for node in nodes:
            if isinstance(node, _DENIED_CLASSES) and not (skip_root and node is root):
                yield from (f"{label} is not allowed: only read-only SELECT queries are"
                            for cls, label in _DENIED_NODES if isinstance(node, cls))
            if isinstance(node, exp.Func):
                yield from self._call_violations(node, sql)
            elif isinstance(node, exp.Column) and (message := system_column_violation(node, self.dialect)):
                yield message
            elif isinstance(node, exp.Table) and id(node) in real:
                yield from self._table_violations(node)
            hints = {h.name.lower() for h in node.expressions} if isinstance(node, exp.WithTableHint) else set()
            if hints := hints & _LOCK_HINTS:
                yield f"locking table hint {', '.join(sorted(hints)).upper()} is not allowed: use NOLOCK or no hint"

    def _table_violations(self, table: exp.Table) -> Iterator[str]:
        """Yield violations for a real table that is a system catalog, or (DuckDB) names a file."""
        name = table_name(table)
        if message := system_relation_violation(table, self.dialect):
            yield message
        if self.dialect == "duckdb" and name and re.search(r"[/\\:]|\.\w+$", table.name):
            yield f"reading the file {table.name!r} is not allowed: query named tables only"

    def _call_violations(self, node: exp.Func, sql: str) -> Iterator[str]:
        """Yield violations for a denied or unlisted function, named as written in the SQL."""
        written = _source_name(node, sql)
        names = {node.name.lower()} if isinstance(node, exp.Anonymous) else {n.lower() for n in node.sql_names()}
        names |= {written} if written else set()
        ordered = [written, *sorted(names - {written})] if written else sorted(names)
        denied = [m for name in ordered if (m := self._function_violation(name))][:1]
        yield from denied
        if isinstance(node.parent, exp.Dot) and node.parent.expression is node:
            packages = {i.name.lower() for i in node.parent.this.find_all(exp.Identifier)} & DENIED_PACKAGES
            denied += [self._package_violation(p, written or min(names)) for p in sorted(packages)]
            yield from denied[len(denied) - len(packages):]
        if denied or names & self._allowed or isinstance(node, _SYNTAX_NODES):
            return
        name = written or _rendered_name(node, self.dialect)  # renders a subtree: only for nodes not yet allowed
        if name not in self._allowed:
            yield (f"function {name}() is not on the allow-list for dialect {self.dialect}: use standard "
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
            if package in DENIED_PACKAGES:
                yield self._package_violation(package, token.text.lower())

    def _function_violation(self, name: str) -> str | None:
        """Return the violation for calling function ``name``, or None when no deny-list names it."""
        if category := denied_function(name, self.dialect):
            return f"function {name}() is not allowed: it {category}; use plain read-only expressions"
        return None

    @staticmethod
    def _package_violation(package: str, name: str) -> str:
        """Return the violation for calling a function of a denied system package."""
        return f"function {package}.{name}() is not allowed: it belongs to a system package; use plain expressions"

    def _approval_reasons(self, root: exp.Expression, nodes: Sequence[exp.Expression],
                          tables: Sequence[str]) -> Iterator[str]:
        """Yield why the query needs human approval: PII tables it touches and PII columns it reads."""
        for name in tables:
            bare = name.rsplit(".", 1)[-1]
            if bare in self.pii_tables:
                yield f"touches PII table {bare}"
        yield from self._pii.reasons(root, nodes)

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


def _source_name(node: exp.Func, sql: str) -> str | None:
    """A function's name as written in the SQL (lower-case), from its source position; None when unknown."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    start, end = node.meta.get("start"), node.meta.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(sql):
        return sql[start:end + 1].strip('"`[] ').lower()
    return None


def _rendered_name(node: exp.Func, dialect: str) -> str:
    """A function's name as sqlglot writes it in ``dialect`` (lower-case), for nodes without a source position."""
    rendered = node.sql(dialect=dialect)
    head = rendered.split("(", 1)[0].strip()
    return head.lower() if "(" in rendered and re.fullmatch(r"[\w.$]+", head) else node.sql_names()[0].lower()
