"""Permission envelopes and the one validation layer every action passes.

An envelope is an allow-list of action kinds (fail closed: a kind not allowed is
denied), an explicit deny-list that wins over the allow-list, the kinds that need a
person's approval before they run, and the SQL policy for agents that query data.

Envelopes are built and validated when a DAG file is parsed; the validation layer (``Action``,
``Verdict``, ``PermissionValidator``) lives in ``core.action_checks`` and loads on first use
from here (PEP 562), so parsing a DAG file does not create its classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from airflow_aimod.core.sqlbounds import SqlBounds
from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow_aimod.core.action_checks import Action, PermissionValidator, Verdict

__all__ = ["ACTION_KINDS", "Action", "Envelope", "PermissionValidator", "SqlPolicy", "Verdict"]

ACTION_KINDS: Mapping[str, str] = {
    "llm.call": "ask the language model",
    "db.introspect": "read table and column names, types, keys and sample values",
    "sql.read": "run a read-only query",
    "sql.write": "modify data or schema",
    "airflow.read": "read DAG runs, task instances and task logs",
    "airflow.clear_task": "clear a failed task instance so it runs again",
    "airflow.trigger_dag": "trigger a DAG run",
    "airflow.modify_schedule": "change a DAG's schedule or pause state",
    "gx.validate": "validate data with Great Expectations",
    "gx.update_suite": "add or change expectations in a suite",
    "model.read": "read model, run and experiment metadata",
    "model.train": "start a training run",
    "model.deploy": "promote a model to production",
    "model.log": "log runs, metrics and evaluations to the experiment tracker",
    "model.register": "register a new model version (no alias moves)",
    "notify.send": "send a notification",
    "report.write": "write a report artifact",
    "handoff": "hand the request to another agent",
}


def _check_kinds(kinds: Iterable[str], where: str) -> frozenset[str]:
    kinds = frozenset(kinds)
    for kind in sorted(kinds):
        if kind not in ACTION_KINDS:
            import difflib  # only on a typo: difflib is not loaded when a DAG file parses

            close = difflib.get_close_matches(kind, ACTION_KINDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"unknown action kind {kind!r} in {where}.{hint} Known: {sorted(ACTION_KINDS)}")
    return kinds


@dataclass(frozen=True)
class SqlPolicy:
    """What queries an agent may run: read-only statements, a table limit, PII needing approval.

    The ``max_sql_*`` fields bound a statement's size and complexity before it is parsed
    (bytes, sqlglot tokens, nesting of brackets and CASE, CTEs, SELECT blocks); bigger SQL is refused.
    """

    allowed_statements: tuple[str, ...] = ("select", "with")
    denied_statements: tuple[str, ...] = ("drop", "delete", "update", "insert")
    max_tables: int = 5
    pii_tables: frozenset[str] = frozenset()
    pii_columns: frozenset[str] = frozenset()
    force_limit: int | None = None
    max_sql_bytes: int = SqlBounds.max_bytes
    max_sql_tokens: int = SqlBounds.max_tokens
    max_sql_nesting: int = SqlBounds.max_nesting
    max_sql_ctes: int = SqlBounds.max_ctes
    max_sql_selects: int = SqlBounds.max_selects

    def __post_init__(self) -> None:
        object.__setattr__(self, "pii_tables", frozenset(t.lower() for t in self.pii_tables))
        object.__setattr__(self, "pii_columns", frozenset(c.lower() for c in self.pii_columns))
        if self.max_tables < 1:
            raise ConfigurationError(f"max_tables must be at least 1, got {self.max_tables}")
        if set(self.allowed_statements) - {"select", "with"}:
            raise ConfigurationError("allowed_statements may only contain 'select' and 'with': agents never write")
        for col in self.pii_columns:
            if col.count(".") != 1:
                raise ConfigurationError(f"pii column {col!r} must be written 'table.column'")
        if self.force_limit is not None and self.force_limit < 1:
            raise ConfigurationError(f"force_limit must be a positive row count, got {self.force_limit}")
        SqlBounds.from_policy(self)  # validates the max_sql_* bounds


@dataclass(frozen=True)
class Envelope:
    """Everything one agent may do; validated at construction, so a typo fails the DAG parse."""

    allow: frozenset[str]
    deny: frozenset[str] = frozenset()
    require_approval: frozenset[str] = frozenset()
    sql: SqlPolicy | None = None
    max_auto_retries: int = 0
    max_handoff_depth: int = 4
    token_budget: int | Mapping[str, int] | None = 20_000  # int, or task type (route, nl2sql, total, *) -> int
    channels: frozenset[str] | None = None  # notify.send targets (connection ids) allowed; None: any

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", _check_kinds(self.allow, "allow"))
        object.__setattr__(self, "deny", _check_kinds(self.deny, "deny"))
        object.__setattr__(self, "require_approval", _check_kinds(self.require_approval, "require_approval"))
        if both := self.allow & self.deny:
            raise ConfigurationError(f"action kinds both allowed and denied: {sorted(both)}; remove one")
        if extra := self.require_approval - self.allow:
            raise ConfigurationError(f"require_approval lists kinds that are not allowed: {sorted(extra)}")
        if ("sql.read" in self.allow) != (self.sql is not None):
            raise ConfigurationError("an envelope allowing 'sql.read' needs a SqlPolicy, and only then")
        if self.max_auto_retries < 0 or self.max_handoff_depth < 0:
            raise ConfigurationError("max_auto_retries and max_handoff_depth cannot be negative")
        from airflow_aimod.core.token_limits import parse_token_budget

        object.__setattr__(self, "token_budget", parse_token_budget(self.token_budget))
        if self.channels is not None:
            if isinstance(self.channels, str) or not all(isinstance(c, str) and c for c in self.channels):
                raise ConfigurationError(f"channels must be a list of connection ids, got {self.channels!r}")
            object.__setattr__(self, "channels", frozenset(self.channels))

    def override(self, changes: Mapping[str, Any]) -> Envelope:
        """Return a copy with ``changes`` applied (same keys as ``to_dict``); unknown keys fail."""
        known = {f for f in self.__dataclass_fields__}
        if unknown := set(changes) - known:
            raise ConfigurationError(f"unknown envelope field(s) {sorted(unknown)}; known: {sorted(known)}")
        updates = dict(changes)
        if isinstance(updates.get("sql"), Mapping):
            base = self.sql or SqlPolicy()
            updates["sql"] = _sql_policy(base, updates["sql"])
        for key in ("allow", "deny", "require_approval"):
            if key in updates:
                updates[key] = frozenset(updates[key])
        if updates.get("channels") is not None and not isinstance(updates["channels"], str):
            updates["channels"] = frozenset(updates["channels"])
        return replace(self, **updates)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (sorted lists), as shown by ``aimod agents``."""
        data = asdict(self)
        for key in ("allow", "deny", "require_approval"):
            data[key] = sorted(data[key])
        data["channels"] = None if self.channels is None else sorted(self.channels)
        if self.sql is not None:
            data["sql"] = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in data["sql"].items()}
            data["sql"]["allowed_statements"] = list(self.sql.allowed_statements)
            data["sql"]["denied_statements"] = list(self.sql.denied_statements)
        return data


def _sql_policy(base: SqlPolicy, changes: Mapping[str, Any]) -> SqlPolicy:
    known = set(SqlPolicy.__dataclass_fields__)
    if unknown := set(changes) - known:
        raise ConfigurationError(f"unknown sql policy field(s) {sorted(unknown)}; known: {sorted(known)}")
    updates = {k: (frozenset(v) if k in ("pii_tables", "pii_columns") else v) for k, v in changes.items()}
    return replace(base, **updates)


_CHECKS = ("Action", "PermissionValidator", "Verdict")


def __getattr__(name: str) -> Any:
    if name not in _CHECKS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from airflow_aimod.core import action_checks

    value = getattr(action_checks, name)
    globals()[name] = value
    return value
