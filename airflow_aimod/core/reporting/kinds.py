"""Report kinds: the sections each declares and how each section is built from the data.

Every number in a report is read from its inputs (agent outcomes by task id, store metrics);
the model only writes the narrative. A section is ``{"heading", "table": {"columns", "rows"},
"chart": {"title", "labels", "values", "unit"} | None}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Inputs = Mapping[str, Mapping[str, Any]]  # task id -> agent outcome


def _tokens(out: Mapping[str, Any]) -> int:
    return int((out.get("token_usage") or {}).get("total_tokens") or 0)


def _runs(inputs: Inputs, metrics: Mapping[str, Any]) -> dict[str, Any]:
    rows = [[task, out.get("agent") or "", out.get("status") or "", _tokens(out), out.get("trace_id") or "",
             str(out.get("reason") or "")[:160]] for task, out in inputs.items()]
    return {"heading": "Agent tasks of this run",
            "table": {"columns": ["task", "agent", "status", "tokens", "trace id", "reason"], "rows": rows},
            "chart": {"title": "Tokens per task", "labels": [r[0] for r in rows], "values": [r[3] for r in rows],
                      "unit": "tokens"} if rows else None}


def _health(inputs: Inputs, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    agents = list(metrics.get("agents") or [])
    if not agents:
        return None
    rows = [[a.get("agent"), a.get("finished"), a.get("succeeded"),
             round(100.0 * a["succeeded"] / a["finished"], 1) if a.get("finished") else None] for a in agents]
    return {"heading": "Agent success in the store's window",
            "table": {"columns": ["agent", "runs", "succeeded", "success %"], "rows": rows},
            "chart": {"title": "Success rate per agent", "labels": [r[0] for r in rows],
                      "values": [r[3] or 0 for r in rows], "unit": "%"}}


def _quality(inputs: Inputs, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    rows = []
    for task, out in inputs.items():
        result = out.get("result") or {}
        assessment = result.get("assessment") or {}
        validation = result.get("validation") or {}
        if assessment or validation:
            rows.append([task, result.get("subject") or result.get("table") or "", assessment.get("verdict") or
                         ("pass" if validation.get("success") else "fail" if validation else ""),
                         len((result.get("detection") or {}).get("flags") or []) or
                         validation.get("failed_expectations") or 0, str(assessment.get("summary") or "")[:160]])
    if not rows:
        return None
    return {"heading": "Checks", "table": {"columns": ["task", "subject", "verdict", "findings", "summary"],
                                           "rows": rows},
            "chart": {"title": "Findings per check", "labels": [r[0] for r in rows], "values": [r[3] for r in rows],
                      "unit": "findings"}}


def _evaluation(inputs: Inputs, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    rows = []
    for task, out in inputs.items():
        for name, value in ((out.get("result") or {}).get("metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append([task, name, value])
    if not rows:
        return None
    return {"heading": "Model metrics", "table": {"columns": ["task", "metric", "value"], "rows": rows},
            "chart": {"title": "Metrics", "labels": [f"{r[0]}:{r[1]}" for r in rows], "values": [r[2] for r in rows],
                      "unit": ""}}


Section = Callable[[Inputs, Mapping[str, Any]], "dict[str, Any] | None"]
KINDS: dict[str, tuple[str, tuple[Section, ...]]] = {
    "pipeline_health": ("Pipeline health", (_runs, _health)),
    "data_quality": ("Data quality", (_quality, _runs)),
    "model_evaluation": ("Model evaluation", (_evaluation, _runs)),
}


def build_sections(kind: str, inputs: Inputs, metrics: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The sections of a ``kind`` report, in declared order; sections with no data are left out."""
    title_and_sections = KINDS.get(kind)
    if title_and_sections is None:
        raise ValueError(f"unknown report kind {kind!r}; use one of {sorted(KINDS)}")
    built = (section(inputs, metrics or {}) for section in title_and_sections[1])
    return [s for s in built if s]


def facts_text(sections: list[dict[str, Any]]) -> str:
    """The sections as text: the source the narrative is written from and checked against."""
    lines = []
    for section in sections:
        columns = section["table"]["columns"]
        for row in section["table"]["rows"]:
            lines.append(", ".join(f"{c} {v}" for c, v in zip(columns, row) if v not in (None, "")) + ".")
    return "\n".join(lines)
