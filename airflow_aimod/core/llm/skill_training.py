"""Offline skill ``explain_training``: the training run described from its numbers, nothing else."""

from __future__ import annotations

from typing import Any

HEADLINE = {"classification": ("roc_auc", "f1", "accuracy", "f1_macro"), "regression": ("rmse", "mae", "r2")}


def answer(context: dict[str, Any]) -> dict[str, Any]:
    training = context.get("training") or {}
    metrics, baseline = training.get("metrics") or {}, training.get("baseline") or {}
    task = training.get("task")
    if not metrics or task not in HEADLINE:
        return {"summary": "No training metrics to explain.", "confidence": 0.0}
    pairs = [f"{k} {_num(metrics[k])} (baseline {_num(baseline.get(k))})" for k in HEADLINE[task] if k in metrics]
    cv = training.get("cv") or {}
    tried = ", ".join(f"{name} {_num(v['mean'])}" for name, v in cv.items() if "mean" in v)
    skipped = [name for name, v in cv.items() if "skipped" in v]
    dropped = ", ".join(sorted(training.get("dropped") or {})) or "none"
    text = (f"{training.get('estimator')} won the cross-validation ({tried}) on {training.get('rows')} rows; on the "
            f"holdout: {'; '.join(pairs)}. Dropped columns: {dropped}.")
    if skipped:
        text += f" Not tried for lack of time: {', '.join(skipped)}."
    if training.get("truncated"):
        text += " The data was capped: the first rows only."
    if training.get("version"):
        text += f" Registered as {training.get('model_name')} version {training['version']}."
    return {"summary": text, "confidence": 0.8}


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
