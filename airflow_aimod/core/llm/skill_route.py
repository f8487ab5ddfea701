"""Offline skill ``route``: score the specialists for a request with the route classifier."""

from __future__ import annotations

from typing import Any


def answer(context: dict[str, Any]) -> dict[str, Any]:
    from airflow_aimod.core.llm.offline.route.classifier import RouteClassifier

    return RouteClassifier().classify(context["request"], context["agents"], schema=context.get("schema") or ())
