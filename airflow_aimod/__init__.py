"""airflow_aimod: LangGraph agents as Apache Airflow operators, safely.

This module carries the version only. It must never import airflow, langchain,
langgraph or great_expectations: DAG files and the CLI import it.
"""

__version__ = "0.1.0"
