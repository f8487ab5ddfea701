"""Planning for the workflow coordinator: clauses of a request, and bounded plans of agent steps."""

from airflow_aimod.core.planning.clauses import Clause, split_clauses
from airflow_aimod.core.planning.plan import (
    HUMAN_REVIEW, NOT_STEPS, RUN, STEP_ACTIONS, STEP_INPUTS, UNSUPPORTED, PlanCheck, PlanPolicy, Step, parse_steps,
)

__all__ = ["HUMAN_REVIEW", "NOT_STEPS", "RUN", "STEP_ACTIONS", "STEP_INPUTS", "UNSUPPORTED", "Clause", "PlanCheck",
           "PlanPolicy", "Step", "parse_steps", "split_clauses"]
