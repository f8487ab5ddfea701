"""dags/aimod_guarded.py in real Airflow (dag.test): call deadlines, escalation branches, shared budgets.

The LLM is either the offline engine or a real ChatOpenAI talking to the local
OpenAI-compatible server of tests/support/openai_server.py (scripted slow replies,
reported usage); the ledger lives in the embedded AiMod store.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.support.openai_server import OpenAIServer, delay, reply, status

pytestmark = pytest.mark.airflow

ORDERS_SQL = '{"sql": "SELECT count(*) AS n FROM orders", "confidence": 0.9, "rationale": "count rows"}'


@pytest.fixture(scope="module")
def guarded_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("aimod_guarded")


@pytest.fixture
def server(monkeypatch):
    with OpenAIServer(default=reply("Let me think about that.", 3000, 0)) as running:
        conn = {"conn_type": "aimod_llm", "host": running.url + "/v1", "password": "test",
                "extra": {"model": "gpt-test", "timeout": 60, "max_retries": 0}}
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_SCRIPTED_LLM", json.dumps(conn))
        yield running


def run(dag, **conf):
    """Run the DAG; return its state, each task's state and each task's outcome XCom."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=conf)
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dag_run.run_id)}
        values = {}
        for row in session.query(XComModel).filter(XComModel.dag_id == dag.dag_id,
                                                   XComModel.run_id == dag_run.run_id):
            if row.key in ("return_value", "aimod_outcome"):
                values.setdefault(row.task_id, row.value)
    return str(dag_run.state), states, values, dag_run.run_id


def try_number(dag_id: str, run_id: str, task_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
                                                  TaskInstance.task_id == task_id).one().try_number


def stored_events(run_id: str, task_id: str) -> list[tuple]:
    from airflow_aimod.observability.sinks import shared_store, store_url

    return shared_store(store_url()).fetch(
        "SELECT kind, detail FROM aimod_events WHERE run_id = ? AND task_id = ? AND kind IN ('llm_call', 'error') "
        "ORDER BY ts", (run_id, task_id))


def ledger_rows(run_id: str) -> list[tuple]:
    from airflow_aimod.observability.sinks import shared_store, store_url

    return shared_store(store_url()).fetch(
        "SELECT task_key, try_number, task_type, tokens, reserved FROM aimod_token_ledger WHERE run_id = ? "
        "ORDER BY task_key, try_number", (run_id,))


def test_an_answer_takes_the_normal_path_and_is_counted_in_the_ledger(guarded_dag):
    state, states, values, run_id = run(guarded_dag)
    assert state == "success"
    assert states["answer"] == states["followup"] == "success"
    assert states["fallback"] == states["human_review"] == "skipped"
    answer = values["answer"]
    assert answer["status"] == "answered" and answer["escalate_to"] is None and answer["branch"] == ["followup"]
    spent = {(key, task_type): tokens for key, _, task_type, tokens, _ in ledger_rows(run_id)}
    assert spent == {("answer[-1]", "nl2sql"): answer["token_usage"]["total_tokens"],
                     ("followup[-1]", "nl2sql"): values["followup"]["token_usage"]["total_tokens"]}
    assert all(reserved == 0 for *_, reserved in ledger_rows(run_id))


def test_a_slow_model_passes_the_call_deadline_and_the_fallback_takes_over(guarded_dag, server):
    server.push(delay(12, reply(ORDERS_SQL)))
    state, states, values, _ = run(guarded_dag, llm="aimod_scripted_llm")
    assert state == "success"
    assert states["fallback"] == "success"
    assert states["followup"] == states["human_review"] == "skipped"
    answer = values["answer"]
    assert answer["status"] == "escalated" and answer["escalate_to"] == "workflow_coordinator"
    assert "passed its 8 s deadline" in answer["reason"]
    assert values["fallback"]["handled_by"] == "workflow_coordinator"
    assert len(server.chat_requests()) == 1  # max_retries 0 on the connection: one attempt


def test_a_run_budget_too_small_for_the_first_call_goes_to_a_person(guarded_dag, server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", "1200")
    state, states, values, run_id = run(guarded_dag, llm="aimod_scripted_llm")
    assert state == "success"
    assert states["human_review"] == "success" and states["followup"] == states["fallback"] == "skipped"
    answer = values["answer"]
    assert answer["status"] == "budget_exceeded" and answer["escalate_to"] == "human"
    assert "DAG run token budget exhausted" in answer["reason"] and "0 of 1200" in answer["reason"]
    assert server.chat_requests() == [] and ledger_rows(run_id) == []


def test_the_run_budget_is_shared_between_agent_tasks_and_a_spent_budget_is_not_retried(guarded_dag, server,
                                                                                       monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", "8000")
    server.push(reply(ORDERS_SQL, 7000, 0))
    state, states, values, run_id = run(guarded_dag, llm="aimod_scripted_llm")
    assert state == "failed" and states["answer"] == "success" and states["followup"] == "failed"
    assert values["answer"]["token_usage"]["total_tokens"] == 7000
    followup = values["followup"]
    assert followup["status"] == "budget_exceeded" and followup["token_usage"]["llm_calls"] == 0
    assert "7000 of 8000" in followup["reason"] and followup["error"]["retryable"] is False
    assert try_number(guarded_dag.dag_id, run_id, "followup") == 1  # retries=1, but another try would fail alike
    assert len(server.chat_requests()) == 1  # followup sent nothing
    assert [(key, tries, tokens) for key, tries, _, tokens, _ in ledger_rows(run_id)] == [("answer[-1]", 1, 7000)]


def test_a_transient_failure_is_retried_and_the_retry_starts_with_what_its_earlier_try_spent(guarded_dag, server):
    # answer; followup's first try: a prose reply (3000 tokens), then a 500 on the re-ask: retryable.
    server.push(reply(ORDERS_SQL, 500, 0), reply("Let me think about that.", 3000, 0), status(500, retry_after=None))
    state, states, values, run_id = run(guarded_dag, llm="aimod_scripted_llm")
    assert state == "failed" and states["followup"] == "failed"
    assert try_number(guarded_dag.dag_id, run_id, "followup") == 2
    rows = [(key, tries, tokens) for key, tries, _, tokens, _ in ledger_rows(run_id) if key == "followup[-1]"]
    assert rows == [("followup[-1]", 1, 3000), ("followup[-1]", 2, 3000)]
    followup = values["followup"]  # try 2: one more prose reply, then the re-ask would pass 8000
    assert followup["status"] == "budget_exceeded" and followup["token_usage"]["llm_calls"] == 1
    assert "6000 of 8000" in followup["reason"]  # try 2 started from try 1's 3000 tokens
    errors = [detail for kind, detail in stored_events(run_id, "followup") if kind == "error"]
    assert errors == ["LLMBackendError", "BudgetExceeded"]
    assert len(server.chat_requests()) == 4  # answer once, followup twice in try 1 and once in try 2
