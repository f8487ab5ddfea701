"""Airflow hooks: LLM connections (``llm``) and read-only warehouse access (``warehouse``)."""
