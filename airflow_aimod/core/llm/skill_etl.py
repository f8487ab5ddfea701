"""Offline skill ``explain_etl_failures``: explain diagnosed failures from their evidence, pick the clears.

It writes only from the diagnoses in the context (exception, rule, evidence line, retries
used) and proposes a clear only for a failure the context marks ``clear_candidate`` and
classifies ``transient``. Anything it cannot classify lowers its confidence: a person looks.
"""

from __future__ import annotations

from typing import Any

SHOWN = 5


def answer(context: dict[str, Any]) -> dict[str, Any]:
    failures = [f for f in context.get("failures") or [] if isinstance(f, dict)]
    if not failures:
        return {"summary": "No failed task instances in the window: nothing to explain or retry.",
                "confidence": 0.9, "actions": []}
    lines = [_describe(f) for f in failures[:SHOWN]]
    more = f" (and {len(failures) - SHOWN} more)" if len(failures) > SHOWN else ""
    actions = [{"kind": "airflow.clear_task", "failure_id": f["id"],
                "reason": f"transient failure ({f.get('rule')}); {f.get('retries_left', 0)} automatic retr"
                          f"{'y' if f.get('retries_left') == 1 else 'ies'} left"}
               for f in failures if f.get("clear_candidate") and f.get("classification") == "transient"]
    unknown = sum(1 for f in failures if f.get("classification") not in ("transient", "permanent"))
    summary = f"{len(failures)} failed task instance(s){more}: " + " ".join(lines)
    return {"summary": summary[:2000], "confidence": 0.5 if unknown else 0.8, "actions": actions}


def _describe(failure: dict[str, Any]) -> str:
    where = f"{failure.get('dag_id')}/{failure.get('task_id')} (run {failure.get('run_id')}, try " \
            f"{failure.get('try_number')})"
    evidence = (failure.get("evidence") or ["no error in the log"])[0]
    kind = failure.get("classification")
    if kind == "transient":
        verdict = (f"transient ({failure.get('rule')}): a retry may succeed" if failure.get("clear_candidate")
                   else f"transient ({failure.get('rule')}), but {failure.get('blocked_reason') or 'not clearable'}")
    elif kind == "permanent":
        verdict = f"permanent ({failure.get('rule')}): a retry would fail the same way; fix it first"
    else:
        verdict = "unclassified: a person should look"
    return f"{where} failed with {evidence} — {verdict}."
