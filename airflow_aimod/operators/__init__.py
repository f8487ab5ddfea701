"""Airflow operators wrapping the agents. Importing them never imports langchain or langgraph."""
