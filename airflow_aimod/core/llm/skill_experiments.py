"""Offline skill ``plan_experiment_query``: a ``RunQuery`` read from the question and the runs that exist.

It names only metrics and runs present in the context (the runs read from MLflow), and abstains — with
what it would need — when the question names no known metric or run, or asks something else.
"""

from __future__ import annotations

import re
from typing import Any

SYNONYMS = {"auc": "roc_auc", "roc": "roc_auc", "rocauc": "roc_auc", "error": "rmse", "r²": "r2", "rsquared": "r2"}
COMPARE = re.compile(r"\b(compare|comparison|between|changed?|differ\w*|diff|vs\.?|versus)\b")
BEST = re.compile(r"\b(best|highest|top|max(?:imum)?|lowest|min(?:imum)?|worst|winner|greatest|smallest)\b")
LATEST = re.compile(r"\b(latest|recent|newest|last \d* ?runs?)\b")
LOW = re.compile(r"\b(lowest|min(?:imum)?|smallest)\b")
HIGH = re.compile(r"\b(highest|max(?:imum)?|greatest)\b")
WINDOWS = ((re.compile(r"\b(today|last 24 hours)\b"), 1.0), (re.compile(r"\b(this|last|past) week\b"), 7.0),
           (re.compile(r"\b(this|last|past) month\b"), 30.0))
DAYS = re.compile(r"\b(?:last|past) (\d{1,4}) days?\b")


def answer(context: dict[str, Any]) -> dict[str, Any]:
    question = str(context.get("request") or "").lower()
    runs = [r for r in context.get("runs") or [] if isinstance(r, dict)]
    metrics = [str(m) for m in context.get("metrics") or []]
    named = _runs_named(question, runs)
    if len(named) >= 2 and (COMPARE.search(question) or len(named) == 2):
        return {"query": {"kind": "compare", "run_ids": named[:2]}, "confidence": 0.85,
                "rationale": f"compare runs {named[0]} and {named[1]}"}
    since = _window(question)
    if BEST.search(question):
        metric, tied = _metric(question, metrics)
        if metric is None:
            return {"refusal": f"which metric? the runs have: {', '.join(metrics[:30]) or 'no metrics'}",
                    "confidence": 0.0}
        order = "min" if LOW.search(question) else "max" if HIGH.search(question) else None
        return {"query": {"kind": "best", "metric": metric, "order": order, "since_days": since},
                "confidence": 0.6 if tied else 0.85, "rationale": f"rank runs by {metric}"}
    if LATEST.search(question):
        return {"query": {"kind": "latest", "since_days": since}, "confidence": 0.8, "rationale": "newest runs"}
    return {"refusal": "the question asks neither for the best run by a metric, a comparison of two named runs, "
                       "nor the latest runs", "confidence": 0.0}


def _runs_named(question: str, runs: list[dict[str, Any]]) -> list[str]:
    """Runs the question names (by id, id prefix of 6+ characters, or run name), in the order it names them."""
    found: list[tuple[int, str]] = []
    for run in runs:
        run_id, name = str(run.get("run_id") or ""), str(run.get("run_name") or "").lower()
        for token in re.finditer(r"[a-z0-9][a-z0-9_.-]{5,}", question):
            if run_id and (token.group() == run_id or run_id.startswith(token.group())):
                found.append((token.start(), run_id))
                break
        else:
            if name and (m := re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", question)):
                found.append((m.start(), run_id))
    return [rid for _, rid in sorted(found)]


def _metric(question: str, metrics: list[str]) -> tuple[str | None, bool]:
    """The known metric the question names (exactly, or by a word it contains); ``tied`` when several fit."""
    words = {SYNONYMS.get(w, w) for w in re.findall(r"[a-z0-9_²]+", question.replace("roc auc", "roc_auc"))}
    exact = [m for m in metrics if m.lower() in words]
    if exact:
        return exact[0], len(exact) > 1
    partial = [m for m in metrics if any(len(w) >= 2 and re.search(rf"(^|_){re.escape(w)}($|_)", m.lower())
                                         for w in words)]
    if not partial:
        return None, False
    partial.sort(key=lambda m: (any(x in m.lower() for x in ("baseline", "std", "champion")), len(m)))
    return partial[0], len(partial) > 1 and len(partial[0]) == len(partial[1])


def _window(question: str) -> float | None:
    if m := DAYS.search(question):
        return float(m.group(1))
    return next((days for pattern, days in WINDOWS if pattern.search(question)), None)
