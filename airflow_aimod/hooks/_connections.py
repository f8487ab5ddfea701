"""Fetch an Airflow connection by id, with errors that say what is wrong and how to fix it."""

from __future__ import annotations

import json
import os
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

__all__ = ["fetch_connection"]


def fetch_connection(conn_id: str, *, create_hint: str) -> Any:
    """The connection ``conn_id`` with its secrets registered for masking, or a ConfigurationError.

    An ``AIRFLOW_CONN_<ID>`` variable that is not valid JSON (and not a URI) is reported as such, not as a
    missing connection; ``create_hint`` ends the message when the connection does not exist.
    """
    from airflow.sdk.bases.hook import BaseHook

    from airflow_aimod.hooks._secrets import protect_connection

    _check_environment_variable(conn_id)
    try:
        return protect_connection(BaseHook.get_connection(conn_id))
    except Exception as exc:
        if not any(c.__name__ == "AirflowNotFoundException" for c in type(exc).__mro__):
            raise
        raise ConfigurationError(f"no Airflow connection {conn_id!r}: {create_hint}") from None


def _check_environment_variable(conn_id: str) -> None:
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = os.environ.get(name, "").strip()
    if not value.startswith(("{", "[")):
        return
    try:
        json.loads(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} is not valid JSON ({exc.msg} at character {exc.pos}): fix the JSON, or give a connection URI"
        ) from None
