"""Offline skill ``write_narrative``: a report's narrative, extracted from its facts (see ``skill_summarize``)."""

from __future__ import annotations

from typing import Any

from airflow_aimod.core.llm import skill_summarize


def answer(context: dict[str, Any]) -> dict[str, Any]:
    reply = skill_summarize.answer(context)
    return {"narrative": reply.get("summary", ""), "confidence": reply.get("confidence", 0.0),
            **({"refusal": reply["refusal"]} if reply.get("refusal") else {})}
