"""Verified examples: outcomes a person approved, reused by the agents for similar requests.

``ExampleStore`` keeps them in the AiMod store (migration 4), ``ExampleIndex`` finds the
closest ones lexically (BM25, no network), ``rebind`` reuses a verified query for a new
question of the same shape with the new question's literals.
"""

from __future__ import annotations

from airflow_aimod.core.examples.retrieval import ExampleIndex, closest
from airflow_aimod.core.examples.reuse import rebind, shape
from airflow_aimod.core.examples.routing import teach_router
from airflow_aimod.core.examples.store import Example, ExampleStore

__all__ = ["Example", "ExampleIndex", "ExampleStore", "closest", "rebind", "shape", "teach_router"]
