"""Offline skill ``plan_workflow``: split the request into clauses and route each with the route classifier.

Honest by construction: every step is a clause of the request, its agent is the classifier's best
guess over the agents' descriptions (with its confidence), and a clause no agent matches gets no agent.
"""

from __future__ import annotations

from typing import Any


def answer(context: dict[str, Any]) -> dict[str, Any]:
    from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier
    from airflow_aimod.core.planning.clauses import split_clauses

    limit = int(context.get("max_steps") or 5) + 1  # one more than allowed: the policy says it is too long
    clauses = split_clauses(context.get("request") or "", limit=limit)
    if not clauses:
        return {"steps": [], "rationale": "the request has no clause to plan", "confidence": 0.0}
    classifier, steps = RouteClassifier(), []
    for i, clause in enumerate(clauses):
        scores = classifier.classify(clause.text, context["agents"], schema=context.get("schema") or ())["scores"]
        agent, confidence = max(scores.items(), key=lambda kv: (kv[1], kv[0])) if scores else (None, 0.0)
        previous = steps[-1] if steps else None
        depends = [previous["id"]] if previous and clause.after_previous else list(previous["depends_on"]) \
            if previous else []
        steps.append({"id": f"s{i + 1}", "agent": agent, "request": clause.text, "depends_on": depends,
                      "confidence": round(float(confidence), 4)})
    lowest = min(s["confidence"] for s in steps)
    return {"steps": steps, "confidence": lowest,
            "rationale": f"{len(steps)} clause(s), each routed by the descriptions of the agents; "
                         f"lowest confidence {lowest:.2f}"}
