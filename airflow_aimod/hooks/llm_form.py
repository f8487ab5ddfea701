"""The ``aimod_llm`` connection form, once: provider info and ``AimodLLMHook.get_ui_field_behaviour`` read it.

Pure data (no Airflow import), so ``get_provider_info`` stays cheap. ``CONN_FIELDS`` are the extra
keys the hook accepts (``hooks/llm.py::EXTRA_FIELDS``; a test keeps the two key sets equal).
"""

from __future__ import annotations

from typing import Any

HIDDEN_FIELDS = ("schema", "port", "login")
RELABELING = {"host": "Base URL (OpenAI-compatible, optional)", "password": "API key"}
PLACEHOLDERS = {
    "host": "https://api.openai.com/v1",
    "extra": '{"backend": "openai", "model": "gpt-4o-mini", "timeout": 60, "max_retries": 3, '
             '"temperature": 0, "max_output_tokens": 1024}',
}


def _field(label: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": schema}


CONN_FIELDS = {
    "backend": _field("Backend", "openai: any OpenAI-compatible server (host + API key); offline: the built-in "
                      "deterministic engine, no network.",
                      {"type": ["string", "null"], "enum": ["openai", "offline"], "default": "openai"}),
    "model": _field("Model", "Model name sent to the server (default gpt-4o-mini).", {"type": ["string", "null"]}),
    "timeout": _field("Timeout (s)", "Per-request timeout in seconds (default 60).",
                      {"type": ["number", "null"], "exclusiveMinimum": 0}),
    "max_retries": _field("Max retries", "Retries on 429/5xx/timeouts, made by AiMod within the budget and deadline "
                          "(default 3).", {"type": ["integer", "null"], "minimum": 0}),
    "temperature": _field("Temperature", "Sampling temperature (default 0).", {"type": ["number", "null"], "minimum": 0}),
    "max_output_tokens": _field("Max output tokens", "Cap on tokens per reply (default 1024).",
                                {"type": ["integer", "null"], "minimum": 1}),
}


def ui_field_behaviour() -> dict[str, Any]:
    """The form layout as ``get_ui_field_behaviour`` returns it (Airflow < 3.2 reads the hook)."""
    return {"hidden_fields": list(HIDDEN_FIELDS), "relabeling": dict(RELABELING), "placeholders": dict(PLACEHOLDERS)}


def connection_type() -> dict[str, Any]:
    """The ``connection-types`` entry of provider info (Airflow ≥ 3.2 reads the form from here)."""
    return {
        "hook-class-name": "airflow_aimod.hooks.llm.AimodLLMHook",
        "hook-name": "AiMod LLM",
        "connection-type": "aimod_llm",
        "ui-field-behaviour": {"hidden-fields": list(HIDDEN_FIELDS), "relabeling": dict(RELABELING),
                               "placeholders": dict(PLACEHOLDERS)},
        "conn-fields": CONN_FIELDS,
    }
