"""Triggers the triggerer runs; they live in the package because a triggerer cannot load DAG-file code."""
