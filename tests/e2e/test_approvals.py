"""Approvals end to end: real Airflow (api-server, scheduler, dag-processor) on a Postgres metadata DB.

Every scenario is one run of ``dags/aimod_approvals.py``, triggered at once so they progress in
parallel: PII questions pause the SQL agent as native HITL requests; the tests answer them through
``PATCH .../hitlDetails`` as named users, only after the task is parked *and* the scheduler has
processed its worker's exit (answering earlier races Airflow 3.3.2; see ARCHITECTURE.md).
The scheduler is restarted while six requests wait; every run is answered afterwards.
Checkpoints live in a second throwaway Postgres database. The pure translation between HITL
responses and the graph's answers is tested first, without Airflow processes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from airflow_aimod.core.approval import APPROVE_LABEL as APPROVE, REJECT_LABEL as REJECT
from airflow_aimod.core.approval import ApprovalDecision, ApprovalRequest, EditableField
from airflow_aimod.operators.approval import decision_from_event
from tests.conftest import REPO
from tests.support.stack import AirflowStack, count_events
from tests.pg import throwaway_database
from tests.support.browser import Browser

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID, EXPIRES = "aimod_approvals", "aimod_approval_expires"
PII = "List the email addresses of customers in Germany"
VAGUE = "can you help me with the thing from yesterday"
RUNS = {"approve": PII, "reject": PII, "edit-ok": PII, "edit-bad": PII, "review": VAGUE, "review-reject": VAGUE,
        "expires": PII, "at-once": PII}
# run id -> request; "expires" runs aimod_approval_expires (20 s timeout), the rest DAG_ID; "expires" and
# "at-once" start later, in their own tests
LATER = ("expires", "at-once")
USERS = {"reviewer": "reviewer-pw-1", "outsider": "outsider-pw-1"}  # the DAG assigns admin and reviewer
EDITED = "SELECT count(*) AS n FROM customers WHERE country = 'Germany'"


# -- the pure translation --------------------------------------------------------------------

PROPOSED = "SELECT email FROM customers"
REQUEST = ApprovalRequest(agent="sql_agent", action="sql.read", action_id="sql-1", subject="s", body="b",
                          editable=(EditableField("sql", PROPOSED, "checked again"),))


def test_approve_reject_and_edits_become_graph_answers():
    alice = {"id": "alice", "name": "Alice"}
    same = decision_from_event({"chosen_options": [APPROVE], "params_input": {"sql": " SELECT email\nFROM customers "},
                                "responded_by_user": alice}, REQUEST)
    assert same == ApprovalDecision("approve", "Alice")
    edited = decision_from_event({"chosen_options": [APPROVE], "params_input": {"sql": "SELECT 1"},
                                  "responded_by_user": alice}, REQUEST)
    assert edited == ApprovalDecision("edit", "Alice", {"sql": "SELECT 1"})
    assert decision_from_event({"chosen_options": [REJECT], "params_input": {"sql": "SELECT 1"},
                                "responded_by_user": alice}, REQUEST).decision == "reject"


def test_timeouts_errors_and_unknown_options_fail_closed():
    timed_out = {"chosen_options": [REJECT], "params_input": {"sql": PROPOSED}, "responded_by_user": None,
                 "timedout": True}
    assert decision_from_event(timed_out, REQUEST) == ApprovalDecision("reject", "timeout")
    assert decision_from_event({"error": "no answer", "error_type": "timeout"}, REQUEST).decision == "reject"
    assert decision_from_event({"chosen_options": ["Maybe"]}, REQUEST).decision == "reject"
    assert decision_from_event({"chosen_options": [APPROVE, REJECT]}, REQUEST).decision == "reject"


def test_the_request_shows_what_is_proposed():
    from airflow_aimod.core.agents.sql_agent import approval_request

    state = {"request": "emails?", "trace_id": "t-1", "confidence": 0.8, "rationale": "emails",
             "work": {"statement": PROPOSED, "tables": ["customers"]}}
    request = approval_request(state, {"id": "sql-1", "reasons": ["touches PII column customers.email"]}, "sql_agent")
    assert "customers" in request.subject and [f.name for f in request.editable] == ["sql"]
    for part in (PROPOSED, "customers.email", "0.80", "emails", "`t-1`", "emails?"):
        assert part in request.body
    assert ApprovalRequest.from_payload(request.to_payload()) == request


def test_airflow_before_3_3_defers_to_the_standard_hitl_trigger():
    import uuid
    from datetime import timedelta
    from types import SimpleNamespace

    from airflow.sdk.exceptions import TaskDeferred

    from airflow_aimod.operators.sql import SQLAgentOperator

    from airflow_aimod.operators.approval import _defer_to_trigger

    op = SQLAgentOperator(task_id="q", question="q", conn_id="w", hitl=True, response_timeout=timedelta(minutes=5))
    resume = {"thread_id": "d/r/q/-1/1", "trace_id": "t-1", "request": REQUEST.to_payload()}
    context = {"task_instance": SimpleNamespace(id=uuid.uuid4()), "task": op}
    with pytest.raises(TaskDeferred) as deferred:
        _defer_to_trigger(op.hitl_settings, context, [APPROVE, REJECT], {}, [REJECT], resume)
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath.endswith("HITLTrigger") and kwargs["defaults"] == [REJECT] and kwargs["timeout_datetime"]
    assert deferred.value.method_name == "execute_complete" and deferred.value.kwargs == resume


def test_tasks_starting_together_set_up_a_fresh_postgres_checkpoint_database():
    """Parallel first tasks used to race in the saver's migrations (duplicate key, deadlock)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from airflow_aimod.core.checkpoints import open_checkpointer

    barrier = threading.Barrier(4)

    def first_use(url: str) -> str:
        barrier.wait()
        with open_checkpointer(url):
            return "ok"

    with throwaway_database("aimod_ckpt") as url, ThreadPoolExecutor(4) as pool:
        assert list(pool.map(first_use, [url] * 4)) == ["ok"] * 4


# -- the stack ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-airflow")
    with throwaway_database("aimod_e2e") as metadata, throwaway_database("aimod_ckpt") as checkpoints:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=REPO / "dags", users=USERS,
                               env={"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints})
        with airflow:
            for dag_id in (DAG_ID, EXPIRES):
                airflow.wait_for(lambda d=dag_id: airflow.api("GET", f"/dags/{d}", user="reviewer").status_code == 200,
                                 timeout=120, what=f"the dag-processor to parse {dag_id}")
            for run_id in RUNS:
                if run_id not in LATER:  # started after the scheduler restart, so no task runs during it
                    trigger(airflow, run_id)
            yield airflow


def trigger(stack: AirflowStack, run_id: str) -> None:
    """Start run ``run_id`` unless it exists."""
    if stack.api("GET", f"/dags/{dag_of(run_id)}/dagRuns/{run_id}", user="reviewer").status_code == 200:
        return
    resp = stack.api("POST", f"/dags/{dag_of(run_id)}/dagRuns", user="reviewer",
                     json={"dag_run_id": run_id, "logical_date": None, "conf": {"request": RUNS[run_id]}})
    assert resp.status_code == 200, resp.text


def dag_of(run_id: str) -> str:
    return EXPIRES if run_id == "expires" else DAG_ID


def ti_path(run_id: str, task_id: str) -> str:
    return f"/dags/{dag_of(run_id)}/dagRuns/{run_id}/taskInstances/{task_id}"


def task_instance(stack: AirflowStack, run_id: str, task_id: str) -> dict:
    resp = stack.api("GET", ti_path(run_id, task_id), user="reviewer")
    return resp.json() if resp.status_code == 200 else {}


def parked(stack: AirflowStack, run_id: str, task_id: str) -> dict:
    """Wait until the task awaits input and the scheduler has seen its worker exit; return the HITL detail."""
    def probe():
        ti = task_instance(stack, run_id, task_id)
        return (ti.get("state") == "awaiting_input"
                and stack.worker_exited(dag_of(run_id), run_id, task_id, try_number=ti.get("try_number")))

    stack.wait_for(probe, timeout=240, what=f"{run_id}/{task_id} to be parked with its worker gone")
    return stack.api("GET", f"{ti_path(run_id, task_id)}/-1/hitlDetails", user="reviewer").json()


def answer(stack: AirflowStack, run_id: str, task_id: str, user: str, options: list[str], params=None):
    return stack.api("PATCH", f"{ti_path(run_id, task_id)}/-1/hitlDetails", user=user,
                     json={"chosen_options": options, "params_input": params or {}})


def finished(stack: AirflowStack, run_id: str, task_id: str) -> dict:
    done = ("success", "failed", "skipped", "upstream_failed")
    return stack.wait_for(lambda: (ti := task_instance(stack, run_id, task_id)).get("state") in done and ti,
                          timeout=180, what=f"{run_id}/{task_id} to finish")


def outcome(stack: AirflowStack, run_id: str, task_id: str = "sql_agent") -> dict:
    resp = stack.api("GET", f"{ti_path(run_id, task_id)}/xcomEntries/return_value", user="reviewer")
    assert resp.status_code == 200, resp.text
    return resp.json()["value"]


def events(stack: AirflowStack, run_id: str, task_id: str = "sql_agent") -> list[dict]:
    """The agent's JSON events from the task log (one attempt: the pause and the resume)."""
    return stack.agent_events(dag_of(run_id), run_id, task_id)


def test_pii_questions_wait_as_native_hitl_requests_holding_no_worker_slot(stack):
    waiting = {run: "sql_agent" if RUNS[run] == PII else "human_review" for run in RUNS if run not in LATER}
    details = {run: parked(stack, run, task_id) for run, task_id in waiting.items()}
    # six tasks wait at once with parallelism=2: a waiting task holds no executor slot
    states = [task_instance(stack, run, task_id)["state"] for run, task_id in waiting.items()]
    assert states == ["awaiting_input"] * len(waiting)
    hitl = details["approve"]
    assert hitl["options"] == [APPROVE, REJECT] and hitl["defaults"] == [REJECT] and not hitl["response_received"]
    assert {u["id"] for u in hitl["assigned_users"]} == {"admin", "reviewer"}
    assert "customers" in hitl["subject"]
    sql = hitl["params"]["sql"]["value"]
    assert "email" in sql.lower() and sql in hitl["body"]
    for part in ("customers.email", "**Confidence:**", "**Rationale:**", "**Trace id:**"):
        assert part in hitl["body"]


def test_the_required_actions_page_shows_the_pending_request_with_its_sql(stack):
    """Headless Chromium, signed in as an assignee, opens the link the operator logs for the paused task."""
    from playwright.sync_api import expect

    hitl = parked(stack, "approve", "sql_agent")
    sql = hitl["params"]["sql"]["value"]
    with Browser() as browser:
        page = browser.signed_in(stack.base_url, "reviewer", USERS["reviewer"])
        page.goto(f"{stack.base_url}/dags/{DAG_ID}/runs/approve/tasks/sql_agent/required_actions?map_index=-1")
        expect(page.get_by_text(hitl["subject"], exact=True)).to_be_visible()
        expect(page.locator("code", has_text=sql).first).to_be_visible()  # the body's "Proposed SQL" block
        expect(page.locator("textarea[name=element_sql]")).to_have_value(sql)  # the editable sql field
        expect(page.get_by_text("touches PII column customers.email").first).to_be_visible()
        expect(page.get_by_text("Awaiting Input").first).to_be_visible()
        for option in (APPROVE, REJECT):
            expect(page.get_by_role("button", name=option, exact=True)).to_be_enabled()
        browser.screenshot(page, "required-actions-pii-request")
    assert task_instance(stack, "approve", "sql_agent")["state"] == "awaiting_input"  # looking answers nothing


def test_restarting_the_scheduler_loses_no_waiting_approval(stack):
    waiting = {run: "sql_agent" if RUNS[run] == PII else "human_review" for run in RUNS if run not in LATER}
    for run, task_id in waiting.items():
        parked(stack, run, task_id)
    stack.restart("scheduler")
    for run, task_id in waiting.items():
        detail = stack.api("GET", f"{ti_path(run, task_id)}/-1/hitlDetails", user="reviewer").json()
        assert task_instance(stack, run, task_id)["state"] == "awaiting_input" and not detail["response_received"]
    trigger(stack, "expires")
    # every later test answers one of these runs with the restarted scheduler: 0 lost, 0 duplicated


def test_a_user_who_is_not_an_assignee_gets_403_and_changes_nothing(stack):
    parked(stack, "approve", "sql_agent")
    resp = answer(stack, "approve", "sql_agent", "outsider", [APPROVE])
    assert resp.status_code == 403, resp.text
    detail = stack.api("GET", f"{ti_path('approve', 'sql_agent')}/-1/hitlDetails", user="reviewer").json()
    assert not detail["response_received"] and detail["chosen_options"] is None
    assert task_instance(stack, "approve", "sql_agent")["state"] == "awaiting_input"


def test_approving_resumes_the_graph_from_its_checkpoint_and_returns_rows(stack):
    parked(stack, "approve", "sql_agent")
    resp = answer(stack, "approve", "sql_agent", "reviewer", [APPROVE])
    assert resp.status_code == 200, resp.text
    ti = finished(stack, "approve", "sql_agent")
    assert ti["state"] == "success" and ti["try_number"] == 1
    out = outcome(stack, "approve")
    assert out["status"] == "answered" and out["result"]["rows"] and "email" in out["result"]["sql"].lower()
    assert out["approvals"] == [{"action_id": "sql-1", "decision": "approve", "reviewer": "reviewer"}]
    assert out["trace_id"] == outcome(stack, "approve", "route")["trace_id"]
    found = events(stack, "approve")
    # nothing before the pause ran twice: one LLM call, one schema read; the query ran once, after the answer
    assert out["token_usage"]["llm_calls"] == 1 and count_events(found, "llm_call", "chat") == 1
    assert count_events(found, "tool_call", "db.introspect") == 1 and count_events(found, "tool_call", "sql.read") == 1
    assert stack.task_log(DAG_ID, "approve", "sql_agent").count("waiting for a person") == 1
    assert answer(stack, "approve", "sql_agent", "reviewer", [REJECT]).status_code == 409  # asked once, answered once


def test_rejecting_ends_with_status_rejected_and_runs_no_query(stack):
    parked(stack, "reject", "sql_agent")
    assert answer(stack, "reject", "sql_agent", "reviewer", [REJECT]).status_code == 200
    assert finished(stack, "reject", "sql_agent")["state"] == "success"
    out = outcome(stack, "reject")
    assert out["status"] == "rejected" and out["result"]["rows"] is None and "reviewer" in out["reason"]
    assert out["token_usage"]["llm_calls"] == 1
    assert count_events(events(stack, "reject"), "tool_call", "sql.read") == 0


def test_an_edited_query_is_validated_again_then_run(stack, warehouse):
    parked(stack, "edit-ok", "sql_agent")
    assert answer(stack, "edit-ok", "sql_agent", "reviewer", [APPROVE], {"sql": EDITED}).status_code == 200
    assert finished(stack, "edit-ok", "sql_agent")["state"] == "success"
    out = outcome(stack, "edit-ok")
    expected = sqlite3.connect(warehouse).execute(EDITED).fetchone()[0]
    assert out["status"] == "answered" and out["result"]["rows"] == [[expected]]
    assert out["approvals"][0]["decision"] == "edit" and out["approvals"][0]["sql"] == EDITED
    assert out["token_usage"]["llm_calls"] == 1  # the edit is checked by the guard, not sent to the model


def test_a_dangerous_edit_is_refused_and_nothing_runs(stack, warehouse):
    before = sqlite3.connect(warehouse).execute("SELECT count(*) FROM customers").fetchone()[0]
    parked(stack, "edit-bad", "sql_agent")
    dangerous = "DELETE FROM customers"
    assert answer(stack, "edit-bad", "sql_agent", "reviewer", [APPROVE], {"sql": dangerous}).status_code == 200
    assert finished(stack, "edit-bad", "sql_agent")["state"] == "success"
    out = outcome(stack, "edit-bad")
    assert out["status"] == "rejected" and "refused" in out["reason"] and out["token_usage"]["llm_calls"] == 1
    assert count_events(events(stack, "edit-bad"), "tool_call", "sql.read") == 0
    assert sqlite3.connect(warehouse).execute("SELECT count(*) FROM customers").fetchone()[0] == before


def test_a_person_picks_the_agent_when_the_router_is_unsure(stack):
    hitl = parked(stack, "review", "human_review")
    assert hitl["options"] == ["sql_agent", REJECT] and VAGUE in hitl["body"]
    assert task_instance(stack, "review", "dispatch_sql_agent")["state"] == "skipped"
    assert answer(stack, "review", "human_review", "reviewer", ["sql_agent"]).status_code == 200
    assert finished(stack, "review", "human_review")["state"] == "success"
    assert outcome(stack, "review", "human_review")["agent"] == "sql_agent"
    assert finished(stack, "review", "sql_agent")["state"] == "success"  # the DAG went down the chosen branch
    assert outcome(stack, "review")["status"] in {"answered", "refused"}


def test_rejecting_the_review_skips_every_agent(stack):
    parked(stack, "review-reject", "human_review")
    assert answer(stack, "review-reject", "human_review", "reviewer", [REJECT]).status_code == 200
    assert finished(stack, "review-reject", "human_review")["state"] == "success"
    assert finished(stack, "review-reject", "sql_agent")["state"] == "skipped"
    assert outcome(stack, "review-reject", "human_review")["agent"] is None


def test_an_unanswered_request_times_out_to_reject_and_runs_nothing(stack):
    trigger(stack, "expires")
    ti = finished(stack, "expires", "sql_agent")
    assert ti["state"] == "success" and ti["try_number"] == 1
    out = outcome(stack, "expires")
    assert out["status"] == "rejected" and out["approvals"][0]["reviewer"] == "timeout"
    assert count_events(events(stack, "expires"), "tool_call", "sql.read") == 0
    hitl = stack.api("GET", f"{ti_path('expires', 'sql_agent')}/-1/hitlDetails", user="reviewer").json()
    assert hitl["chosen_options"] == [REJECT] and hitl["responded_by_user"] is None


def test_an_answer_given_the_moment_the_task_parks_still_ends_answered(stack):
    """Airflow 3.3.2 can fail a task answered before its scheduler processed the parked worker's exit: after
    the resumed agent finished, or before it resumed. The agent task's default retry carries on the thread:
    finished → it ends with that answer; still paused → the same request is asked again (the first answer
    never reached the graph), nothing re-drafted. Either way the run ends answered, the query runs once."""
    trigger(stack, "at-once")
    stack.wait_for(lambda: task_instance(stack, "at-once", "sql_agent").get("state") == "awaiting_input",
                   timeout=240, what="at-once/sql_agent to await input", every=0.1)
    first = stack.api("GET", f"{ti_path('at-once', 'sql_agent')}/-1/hitlDetails", user="reviewer").json()
    assert answer(stack, "at-once", "sql_agent", "reviewer", [APPROVE]).status_code == 200
    done = ("success", "failed", "skipped", "upstream_failed")
    ti = stack.wait_for(lambda: (t := task_instance(stack, "at-once", "sql_agent")).get("state") in done and t
                        or (t.get("state") == "awaiting_input" and t.get("try_number", 1) > 1 and t),
                        timeout=240, what="at-once/sql_agent to finish or ask again on its retry")
    answers = 1
    if ti["state"] == "awaiting_input":  # the race failed try 1 before it resumed: the retry asks the same again
        again = parked(stack, "at-once", "sql_agent")
        assert again["params"]["sql"]["value"] == first["params"]["sql"]["value"]
        assert answer(stack, "at-once", "sql_agent", "reviewer", [APPROVE]).status_code == 200
        answers, ti = 2, finished(stack, "at-once", "sql_agent")
    assert ti["state"] == "success", (ti, stack.log_tails())
    out = outcome(stack, "at-once")
    assert out["status"] == "answered" and out["result"]["rows"] and out["token_usage"]["llm_calls"] == 1
    tries = range(1, ti["try_number"] + 1)
    logs = "".join(stack.task_log(DAG_ID, "at-once", "sql_agent", n) for n in tries)
    queries = sum(count_events(events_of_try(stack, n), "tool_call", "sql.read") for n in tries)
    assert logs.count("waiting for a person") == answers and queries == 1, (ti["try_number"], answers, queries)
    print(f"answered on parking: ended on try {ti['try_number']} after {answers} answer(s) "
          "(try 2 = Airflow's race hit and the retry carried on)")


def events_of_try(stack: AirflowStack, try_number: int) -> list[dict]:
    return stack.agent_events(DAG_ID, "at-once", "sql_agent", try_number)


def test_stopping_the_stack_leaves_no_process_behind(stack):
    assert Path(stack.home).exists()
    stack.stop()
    assert stack.stray_pids() == []
