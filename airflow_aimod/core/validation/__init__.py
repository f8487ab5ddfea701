"""Data validation: expectation specs, proposals from a profile, and the Great Expectations runner.

Importing this package loads neither Great Expectations nor pandas; ``GxRunner.validate`` does.
"""

from __future__ import annotations

from airflow_aimod.core.validation.expectations import SUPPORTED, ExpectationSpec, parse_suite
from airflow_aimod.core.validation.gx_runner import GxRunner, frame_from_rows
from airflow_aimod.core.validation.proposals import Proposal, propose_expectations

__all__ = ["SUPPORTED", "ExpectationSpec", "GxRunner", "Proposal", "frame_from_rows", "parse_suite",
           "propose_expectations"]
