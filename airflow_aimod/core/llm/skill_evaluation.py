"""Offline skill ``explain_evaluation``: the champion/challenger verdict explained from its checks, nothing else."""

from __future__ import annotations

from typing import Any

HEADLINE = ("roc_auc", "pr_auc", "f1", "accuracy", "f1_macro", "rmse", "mae", "r2")


def answer(context: dict[str, Any]) -> dict[str, Any]:
    evaluation = context.get("evaluation") or {}
    judged = evaluation.get("verdict") or {}
    model = str(context.get("model") or "the model")
    challenger = evaluation.get("challenger") or {}
    version = evaluation.get("challenger_version")
    name = judged.get("verdict")
    if name not in ("promote", "keep_champion"):
        return {"summary": f"Cannot judge {model} version {version}: {judged.get('reason') or 'no verdict'}.",
                "confidence": 0.0}
    scores = ", ".join(f"{k} {_num(challenger[k])}" for k in HEADLINE if isinstance(challenger.get(k), (int, float)))
    checks = "; ".join(_check(c) for c in judged.get("checks") or [])
    champion = evaluation.get("champion_version")
    against = f"against champion version {champion}" if champion else "with no champion to compare"
    action = "fit to promote" if name == "promote" else "not fit to replace the champion"
    text = f"{model} version {version} is {action} {against} on {challenger.get('n')} holdout rows ({scores})"
    return {"summary": f"{text}. {checks or judged.get('reason')}.", "confidence": 0.8}


def _check(check: dict[str, Any]) -> str:
    if check.get("passed") is None:
        return f"{check.get('metric')}: {check.get('note')}"
    mark = "passes" if check["passed"] else "fails"
    return (f"{check['metric']} {mark} ({check['kind']}: {_num(check.get('champion'))} → {_num(check.get('challenger'))}, "
            f"change {_num(check.get('change'))}, needed {_num(check.get('needed'))})")


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
