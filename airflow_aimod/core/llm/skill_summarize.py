"""Offline skill ``summarize``: an extractive summary of the source, nothing else.

Whole source sentences are picked by what they carry (``ExtractiveSummarizer``), so every
claim is the source's own; sentences holding a claim an earlier draft got wrong are left out.
"""

from __future__ import annotations

from typing import Any

from airflow_aimod.core.summaries import ExtractiveSummarizer


def answer(context: dict[str, Any]) -> dict[str, Any]:
    source = str(context.get("source") or "").strip()
    if not source:
        return {"summary": "", "refusal": "the source is empty: there is nothing to summarize", "confidence": 0.0}
    try:
        summarizer = ExtractiveSummarizer(max_words=int(context.get("max_words") or 80),
                                          audience=str(context.get("audience") or "engineer"))
    except (TypeError, ValueError) as exc:
        return {"summary": "", "refusal": str(exc), "confidence": 0.0}
    avoid = [str(u.get("text")) for u in context.get("unsupported") or () if isinstance(u, dict) and u.get("text")]
    summary = summarizer.summarize(source, exclude=avoid)
    return {"summary": summary, "confidence": 0.7 if summary else 0.0}
