"""Which finished runs teach an example (core.examples.learning), on states shaped as the SQL agent leaves them."""

from __future__ import annotations

import pytest

from airflow_aimod.core.examples.learning import carries_pii, learned_route, learned_sql, reviewer_of
from airflow_aimod.core.sqlguard import SqlGuard

GUARD = SqlGuard(pii_columns=["crew.phone"])
ASKED = "SELECT COUNT(*) FROM voyage WHERE port = 'Oslo'"
EDITED = "SELECT COUNT(*) AS voyages FROM voyage WHERE port = 'Oslo'"


def _state(decision="approve", status="answered", ran=ASKED, reasons=(), question="voyages to Oslo", **edits):
    return {"request": question, "status": status, "result": {"sql": ran},
            "proposed_actions": [{"id": "sql-1", "sql": ASKED, "reasons": list(reasons)}],
            "approvals": [{"action_id": "sql-1", "decision": decision, "reviewer": "ana", **edits}]}


def _learn(state, reviewer="ana"):
    return learned_sql(state, reviewer=reviewer, guard=GUARD, conn_id="fleet", schema_fingerprint="f" * 16)


def test_an_approved_or_edited_query_that_ran_is_learned_with_who_and_where():
    example, source = _learn(_state())
    assert (example.question, example.answer, example.source, example.verified_by, example.conn_id,
            example.schema_fingerprint) == ("voyages to Oslo", ASKED, "approved", "ana", "fleet", "f" * 16)
    example, _ = _learn(_state("edit", ran=EDITED, sql=EDITED))
    assert (example.answer, example.source) == (EDITED, "edited")


@pytest.mark.parametrize("state, reviewer, why", [
    (_state("reject", status="rejected"), "ana", "not answered"),
    (_state(status="failed"), "ana", "not answered"),
    (_state(), None, "nobody"),
    (_state(), "timeout", "nobody"),
    ({**_state(), "approvals": []}, "ana", "no person approved"),
    (_state(reasons=["reads PII column crew.phone"]), "ana", "PII"),
    (_state("edit", ran="SELECT phone FROM crew"), "ana", "PII"),  # an edit that reaches for PII
    (_state(question="voyages booked by ana@example.org"), "ana", "personal data"),
])
def test_anything_else_teaches_nothing_and_says_why(state, reviewer, why):
    example, reason = _learn(state, reviewer)
    assert example is None and why in reason


def test_a_reviewers_pick_is_a_router_example_but_not_a_rejection_or_a_timeout():
    example, _ = learned_route("handover figures for the night shift", "sql_agent", reviewer="nurse.lead")
    assert (example.agent, example.answer, example.source, example.verified_by) == (
        "task_router", "sql_agent", "route_review", "nurse.lead")
    assert learned_route("x y", None, reviewer="nurse.lead") == (None, "the reviewer rejected the request")
    assert learned_route("x y", "sql_agent", reviewer=None) == (None, "nobody answered the review")
    assert learned_route("orders of bo@example.org", "sql_agent", reviewer="nurse.lead")[0] is None


def test_who_answered_comes_from_airflows_response():
    assert reviewer_of({"chosen_options": ["Approve"], "responded_by_user": {"id": "u7", "name": "Ana"}}) == "Ana"
    assert reviewer_of({"chosen_options": ["Approve"], "responded_by_user": {"id": "u7", "name": ""}}) == "u7"
    assert reviewer_of({"chosen_options": ["Approve"], "responded_by_user": None}) == "airflow-ui"
    assert reviewer_of({"chosen_options": ["Approve"], "responded_by_user": None, "timedout": True}) is None
    assert reviewer_of({"error": "boom", "error_type": "timeout"}) is None


def test_personal_values_are_recognised_in_a_sentence():
    assert carries_pii("orders of ann@x.org last week") and carries_pii("+44 20 7946 0958")
    assert not carries_pii("How many orders were placed in 2024-01-05?")
