"""Register a connection's secrets with Airflow's secrets masker and with AiMod's own scrubber.

Called by every hook when it resolves a connection (LLM, warehouse, store, Airflow API), so the
secrets are hidden in the task log by Airflow and in what AiMod builds itself (outcome reasons,
events, XCom, the AiMod store, CLI output) by ``airflow_aimod.core.redaction``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus

from airflow_aimod.core.redaction import register_secret

__all__ = ["protect_connection", "protect_secret"]

# Extra keys whose values are secrets (like Airflow's sensitive field names).
_SECRET_KEY = re.compile(r"pass|secret|token|api[_-]?key|apikey|private|credential|authorization|auth[_-]?header",
                         re.I)


def protect_secret(value: Any) -> None:
    """Hide ``value`` everywhere: Airflow's masker (task log, and the supervisor's) and AiMod's scrubber."""
    if not isinstance(value, str) or not value:
        return
    forms = {value, quote(value, safe=""), quote_plus(value)}  # as written in a URI too
    for form in forms:
        register_secret(form)
        _airflow_mask(form)


def protect_connection(conn: Any) -> Any:
    """Register the password and every secret-named extra value of an Airflow connection; returns ``conn``."""
    protect_secret(getattr(conn, "password", None))
    try:
        extra = conn.extra_dejson or {}
    except Exception:  # noqa: BLE001 - an unreadable extra holds nothing we could register
        extra = {}
    for key, value in _flatten(extra):
        if _SECRET_KEY.search(key):
            protect_secret(value if isinstance(value, str) else None)
    return conn


def _flatten(extra: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(extra, dict):
        return []
    pairs = []
    for key, value in extra.items():
        name = f"{prefix}{key}"
        pairs += _flatten(value, name + ".") if isinstance(value, dict) else [(name, value)]
    return pairs


def _airflow_mask(value: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]
    mask_secret(value)
