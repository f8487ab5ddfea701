"""Offline skill ``propose_features``: candidate features derived from the profile in the prompt, nothing else.

It reads the columns' inferred types and statistics (``ml.feature_proposals``) and abstains, with a reason,
when the profile leaves no column to build a feature from.
"""

from __future__ import annotations

from typing import Any

from airflow_aimod.core.ml.feature_proposals import propose


def answer(context: dict[str, Any]) -> dict[str, Any]:
    columns, target = context.get("columns") or [], str(context.get("target") or "")
    if not target or not any(str(c.get("name", "")).lower() == target.lower() for c in columns):
        return {"proposals": [], "confidence": 0.0,
                "refusal": f"the profile has no target column {target!r}: nothing to propose features for"}
    found = propose(columns, target=target, dialect=str(context.get("dialect") or "sqlite"),
                    max_proposals=int(context.get("max_proposals") or 24))
    if not found:
        return {"proposals": [], "confidence": 0.0,
                "refusal": "no profiled column besides the target can feed a feature (PII, identifiers, constants)"}
    return {"proposals": [p.to_dict() for p in found], "confidence": 0.6}
