"""Bounded autonomy in a DAG: call deadlines, escalation branches, a token budget shared by the run.

``answer`` asks the SQL agent a question. Each of its LLM and database calls has an 8 s
deadline (``call_timeout_s``). How it ended decides where the DAG goes:

- answered or refused → ``followup``, a second agent task of the same run;
- timed out → ``fallback`` (the registry's fallback agent, ``workflow_coordinator``, takes over);
- any other escalation (token budget, envelope violation, backend error) → ``human_review``.

``followup`` fails on any escalation. A transient one (a timeout, a 5xx, a dropped connection) is
retried (``retries=1``); one that would happen again (a spent budget, a blocked action) is not.
Every agent task of a run shares ``[aimod] dag_run_token_budget`` tokens (or set
``default_args={"dag_run_token_budget": 50_000}``); the count lives in the AiMod store, so a
retry of ``followup`` starts with what its earlier tries spent. Params: ``question``,
``followup``, and ``llm`` (an ``aimod_llm`` connection id). Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.operators.sql import SQLAgentOperator

PII = ["customers.email", "customers.phone", "customers.full_name"]

with DAG(
    dag_id="aimod_guarded",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"question": Param("How many orders were placed in 2024?", type="string", minLength=1),
            "followup": Param("What is the total revenue by country in 2024?", type="string", minLength=1),
            "llm": Param("aimod_llm_default", type="string", minLength=1)},
    doc_md=__doc__,
) as dag:
    answer = SQLAgentOperator(task_id="answer", question="{{ params.question }}", conn_id="aimod_warehouse",
                              llm_conn_id="{{ params.llm }}", pii_columns=PII, call_timeout_s=8,
                              fallback_task_id="fallback", human_task_id="human_review")
    followup = SQLAgentOperator(task_id="followup", question="{{ params.followup }}", conn_id="aimod_warehouse",
                                llm_conn_id="{{ params.llm }}", pii_columns=PII, token_budget=8_000,
                                fail_on_status=("failed", "budget_exceeded", "escalated"),
                                retries=1, retry_delay=timedelta(seconds=0))

    @task(task_id="fallback")
    def fallback(outcome: dict) -> dict:
        """The agent ran out of time: hand the request to the fallback agent the registry names."""
        return {"handled_by": outcome["escalate_to"], "request_trace": outcome["trace_id"],
                "reason": outcome["reason"]}

    @task(task_id="human_review")
    def human_review(outcome: dict) -> dict:
        """Record what the agent could not do on its own, for a person to pick up."""
        return {"handled_by": "human", "status": outcome["status"], "reason": outcome["reason"],
                "trace_id": outcome["trace_id"]}

    answer >> [followup, fallback(answer.output), human_review(answer.output)]
