"""Airflow-side observability: metrics through Airflow's Stats, the store sinks, the health rule."""

from __future__ import annotations
