"""The offline engine's brain, free of LangChain: prompt context in, JSON answer out.

``OfflineChatModel`` wraps it for graphs; the CLI calls it directly so ``aimod route``
answers without loading LangChain. Both paths give the same answer for the same prompt.
"""

from __future__ import annotations

from datetime import date
from typing import Any


def answer_context(context: dict[str, Any] | None) -> dict[str, Any]:
    """Answer one prompt context (see ``airflow_aimod.core.prompts``)."""
    task = (context or {}).get("task")
    if task == "route":
        from airflow_aimod.core.llm.classifier import RouteClassifier

        return RouteClassifier().classify(context["request"], context["agents"])
    if task == "nl2sql":
        return _compose_sql(context)
    return {"refusal": f"the offline engine has no skill for task {task!r}; configure an LLM connection",
            "confidence": 0.0}


def _compose_sql(context: dict[str, Any]) -> dict[str, Any]:
    from airflow_aimod.core.llm.nl2sql import SqlComposer
    from airflow_aimod.core.schema import Catalog

    today = date.fromisoformat(context["today"]) if context.get("today") else date.today()
    return SqlComposer().compose(context["question"], Catalog.from_dict(context["catalog"]),
                                 dialect=context.get("dialect", "sqlite"), feedback=context.get("feedback", ()),
                                 today=today)
