"""The validation layer every action passes: an ``Action`` checked against one envelope gives a ``Verdict``.

``core.permissions`` re-exports these names; they live here so that building envelopes at DAG-parse time
does not create the classes only a running agent needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.permissions import ACTION_KINDS, Envelope
from airflow_aimod.core.sqlbounds import SqlBounds
from airflow_aimod.exceptions import PermissionDenied

__all__ = ["Action", "PermissionValidator", "Verdict"]


@dataclass(frozen=True)
class Action:
    """One thing an agent wants to do, checked before it happens."""

    kind: str
    target: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "params": dict(self.params)}


@dataclass(frozen=True)
class Verdict:
    """The validation layer's answer for one action."""

    allowed: bool
    requires_approval: bool = False
    reasons: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "requires_approval": self.requires_approval,
                "reasons": list(self.reasons), "details": dict(self.details)}


class PermissionValidator:
    """Checks every action against one envelope; SQL also passes the SQL guard."""

    def __init__(self, envelope: Envelope, *, dialect: str = "sqlite") -> None:
        self.envelope = envelope
        self.dialect = dialect

    def check(self, action: Action) -> Verdict:
        """Return the verdict for ``action``; never raises for a bad action."""
        env = self.envelope
        if action.kind in env.deny:
            return Verdict(False, reasons=(f"{action.kind} is denied by this agent's envelope",))
        if action.kind not in env.allow:
            allowed = ", ".join(sorted(env.allow))
            return Verdict(False, reasons=(f"{action.kind} is not in this agent's envelope (allowed: {allowed})",))
        if action.kind == "notify.send" and env.channels is not None and action.target not in env.channels:
            return Verdict(False, reasons=(f"channel {action.target!r} is not in this agent's envelope (allowed "
                                           f"channels: {', '.join(sorted(env.channels)) or 'none'})",))
        if action.kind == "sql.read":
            return self._check_sql(action.params.get("sql", ""), action.params.get("schema"))
        if action.kind in env.require_approval:
            return Verdict(True, True, (f"{action.kind} ({ACTION_KINDS[action.kind]}) needs a person's approval",))
        return Verdict(True)

    def enforce(self, action: Action) -> Verdict:
        """Return the verdict, raising ``PermissionDenied`` when the action is not allowed."""
        verdict = self.check(action)
        if not verdict.allowed:
            raise PermissionDenied("; ".join(verdict.reasons))
        return verdict

    def _check_sql(self, sql: Any, schema: Mapping[str, Any] | None = None) -> Verdict:
        """The SQL guard's verdict; ``schema`` (table -> ordered column names, when the caller has the live
        schema) lets it resolve alias lists and unqualified names exactly."""
        from airflow_aimod.core.sqlguard import SqlGuard

        policy = self.envelope.sql
        assert policy is not None  # guaranteed by Envelope validation
        guard = SqlGuard(dialect=self.dialect, max_tables=policy.max_tables, pii_tables=policy.pii_tables,
                         pii_columns=policy.pii_columns, force_limit=policy.force_limit,
                         bounds=SqlBounds.from_policy(policy), schema=schema if isinstance(schema, Mapping) else None)
        sql_verdict = guard.check(sql)
        needs = sql_verdict.requires_approval or "sql.read" in self.envelope.require_approval
        reasons = sql_verdict.violations if not sql_verdict.allowed else sql_verdict.approval_reasons
        return Verdict(sql_verdict.allowed, sql_verdict.allowed and needs, tuple(reasons), sql_verdict.to_dict())
