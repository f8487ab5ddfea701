"""The AiMod dashboard: an Airflow 3 plugin (FastAPI app in the api-server + a nav entry in the UI)."""

from __future__ import annotations
