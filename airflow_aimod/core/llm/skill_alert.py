"""Offline skill ``compose_alert``: one headline per message, written from its alerts' own fields."""

from __future__ import annotations

from collections import Counter
from typing import Any

WORDS = {"send": "", "resolve": "resolved: ", "escalation": "ESCALATED, not acknowledged: ", "digest": "digest: "}


def answer(context: dict[str, Any]) -> dict[str, Any]:
    headlines: dict[str, str] = {}
    for batch in context.get("batches") or ():
        alerts = [a for a in batch.get("alerts") or () if isinstance(a, dict) and a.get("title")]
        if not alerts:
            continue
        prefix = WORDS.get(str(batch.get("kind")), "")
        if len(alerts) == 1:
            a = alerts[0]
            repeats = f" ({a['repeats']} repeats held back)" if a.get("repeats") else ""
            where = f" from {a['source']}" if a.get("source") else ""
            headlines[str(batch.get("id"))] = f"{prefix}{a.get('severity', 'warning')} alert{where}: {a['title']}{repeats}"
            continue
        by = Counter(str(a.get("severity")) for a in alerts)
        mix = ", ".join(f"{n} {sev}" for sev, n in sorted(by.items(), key=lambda kv: -kv[1]))
        group = f" in {batch['group']}" if batch.get("group") and batch.get("kind") != "digest" else ""
        headlines[str(batch.get("id"))] = f"{prefix}{len(alerts)} alerts{group} ({mix})"
    return {"headlines": headlines, "confidence": 0.8 if headlines else 0.0}
