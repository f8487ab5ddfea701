"""Alerts from what other parts of AiMod produce: agent outcomes (anomaly, drift, ETL monitor, any failure)
and the health rule's breaches. A clean outcome yields the matching *resolved* alert, so an alert that
fired on an earlier run is resolved when the condition clears."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_aimod.core.alerts.policy import Alert

FAILED = ("failed", "budget_exceeded")
BAD = ("anomalous", "drifted", "fail", "poor")
GOOD = ("normal", "stable", "pass", "good")


def alerts_from_outcome(outcome: Mapping[str, Any], *, source: str) -> list[Alert]:
    """The alerts one agent outcome (an XCom) raises; ``source`` is the task that produced it."""
    if not isinstance(outcome, Mapping) or "status" not in outcome:
        return []
    agent = str(outcome.get("agent") or source)
    result = outcome.get("result") if isinstance(outcome.get("result"), Mapping) else {}
    failed = Alert(title=f"{agent} task {source} failed", severity="critical", source=source, group=source,
                   body=str(outcome.get("reason") or "")[:500], resolved=outcome["status"] not in FAILED)
    alerts = [failed]
    if agent == "etl_monitor":
        for f in result.get("failures") or ():
            severity = "critical" if f.get("classification") == "permanent" else "warning"
            evidence = "; ".join(f.get("evidence") or []) if isinstance(f.get("evidence"), list) else f.get("evidence")
            alerts.append(Alert(title=f"{f.get('dag_id')}.{f.get('task_id')} failed", severity=severity,
                                source=source, group=str(f.get("dag_id") or source), labels={"dag_id": f.get("dag_id")},
                                body=f"try {f.get('try_number')}, {f.get('classification')}: {evidence or ''}"[:500]))
        return alerts
    assessment = result.get("assessment") if isinstance(result.get("assessment"), Mapping) else {}
    verdict = assessment.get("verdict")
    if verdict in BAD + GOOD:
        subject = result.get("subject") or result.get("table") or source
        alerts.append(Alert(title=f"{agent}: {subject} abnormal", severity="warning", source=source, group=source,
                            body=str(assessment.get("summary") or outcome.get("reason") or "")[:500],
                            resolved=verdict in GOOD))
    return alerts


def alerts_from_health(breaches: Iterable[Any]) -> list[Alert]:
    """One critical alert per agent below the health rule's success rate (``Breach`` objects or dicts)."""
    def get(b: Any, key: str) -> Any:
        return b.get(key) if isinstance(b, Mapping) else getattr(b, key, None)

    return [Alert(title=f"agent {get(b, 'agent')} below its success rate", severity="critical", source="health",
                  group="aimod health", labels={"agent": str(get(b, "agent"))},
                  body=(f"{get(b, 'failed')} of {get(b, 'finished')} runs failed "
                        f"({float(get(b, 'success_rate') or 0):.0%} without error)")[:500]) for b in breaches]
