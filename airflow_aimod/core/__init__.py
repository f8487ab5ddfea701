"""The pure core of airflow_aimod: agent state, registry, guards, budgets, tracing, routing.

Nothing under this package imports Airflow (a test enforces it), so the CLI and the
unit tests run it without starting Airflow.
"""
