"""Offline skill ``explain_drift``: a summary written from the drift report's numbers, nothing else."""

from __future__ import annotations

from typing import Any

SHOWN = 4


def answer(context: dict[str, Any]) -> dict[str, Any]:
    drift = context.get("drift") or {}
    subject = str(context.get("subject") or "the data")
    features = drift.get("features") or {}
    verdict = drift.get("verdict")
    capped = context.get("truncated") or []
    note = f" The {' and '.join(capped)} sample(s) were capped: the first rows only." if capped else ""
    if verdict not in ("drift", "no_drift"):
        return {"summary": f"Cannot judge drift in {subject}: {drift.get('reason') or 'no drift report'}.{note}",
                "confidence": 0.0}
    if verdict == "no_drift":
        return {"summary": f"{subject}: no column drifted ({len(features)} compared).{note}", "confidence": 0.8}
    drifted = [c for c in drift.get("drifted") or [] if c in features]
    described = "; ".join(_describe(c, features[c]) for c in drifted[:SHOWN])
    more = f" and {len(drifted) - SHOWN} more" if len(drifted) > SHOWN else ""
    pred = " The model's predictions drifted too." if drift.get("prediction_drift") else ""
    return {"summary": f"{subject}: {len(drifted)} of {len(features)} column(s) drifted — {described}{more}.{pred}{note}",
            "confidence": 0.8}


def _describe(name: str, f: dict[str, Any]) -> str:
    effect = "normed Wasserstein" if f.get("kind") == "numeric" else "Jensen-Shannon"
    text = f"{name} ({f.get('method')}, {effect} {_num(f.get('effect'))}, PSI {_num(f.get('psi'))}, " \
           f"adjusted p {_num(f.get('p_adjusted'))})"
    if f.get("new_categories"):
        text += f", new values {', '.join(map(str, f['new_categories'][:3]))}"
    return text


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else str(value)
