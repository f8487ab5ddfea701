"""Offline skill ``explain_experiments``: the computed answer about MLflow runs, stated from its numbers only."""

from __future__ import annotations

from typing import Any

SHOWN = 5


def answer(context: dict[str, Any]) -> dict[str, Any]:
    found = context.get("answer") or {}
    kind = found.get("kind")
    if kind == "best":
        runs = found.get("runs") or []
        if not runs:
            return {"summary": "No run has that metric.", "confidence": 0.0}
        top = runs[0]
        rest = "; ".join(f"{_name(r)} {_num(r.get('value'))}" for r in runs[1:SHOWN])
        return {"summary": f"Best by {found.get('metric')} ({found.get('order')}imum, {found.get('considered')} runs "
                           f"considered): {_name(top)} with {_num(top.get('value'))}" + (f"; then {rest}." if rest else "."),
                "confidence": 0.9}
    if kind == "compare":
        params = found.get("params_changed") or {}
        metrics = found.get("metrics_changed") or {}
        p = "; ".join(f"{k}: {v['a']} → {v['b']}" for k, v in list(params.items())[:SHOWN]) or "no parameter changed"
        m = "; ".join(f"{k}: {_num(v['a'])} → {_num(v['b'])}" for k, v in list(metrics.items())[:SHOWN]) or "no metric changed"
        return {"summary": f"From {_name(found.get('a') or {})} to {_name(found.get('b') or {})}: parameters — {p}. "
                           f"Metrics — {m}.", "confidence": 0.9}
    if kind == "latest":
        runs = found.get("runs") or []
        listed = ", ".join(_name(r) for r in runs[:SHOWN]) or "none"
        return {"summary": f"The {len(runs)} newest run(s): {listed}.", "confidence": 0.9}
    return {"summary": "No computed answer to state.", "confidence": 0.0}


def _name(run: dict[str, Any]) -> str:
    return f"{run.get('run_name') or 'run'} ({str(run.get('run_id'))[:8]})"


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
