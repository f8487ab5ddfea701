"""Offline skill ``nl2sql``: compose one query for a question over the catalog in the prompt."""

from __future__ import annotations

from datetime import date
from typing import Any


def answer(context: dict[str, Any]) -> dict[str, Any]:
    from airflow_aimod.core.llm.offline.nl2sql.composer import SqlComposer
    from airflow_aimod.core.schema import Catalog

    today = date.fromisoformat(context["today"]) if context.get("today") else date.today()
    return SqlComposer().compose(context["question"], Catalog.from_dict(context["catalog"]),
                                 dialect=context.get("dialect", "sqlite"), feedback=context.get("feedback", ()),
                                 today=today, examples=context.get("examples") or (),
                                 vocabulary=context.get("vocabulary") or ())
