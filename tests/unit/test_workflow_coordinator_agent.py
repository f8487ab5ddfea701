"""The workflow coordinator graph: the offline engine plans, a hostile model cannot slip a bad plan through,
and a plan that needs a person pauses once, whole, and resumes from the checkpoint (approve, reject, edit)."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.workflow_coordinator import CoordinatorTools, build_graph
from airflow_aimod.core.approval import ApprovalRequest
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.planning import PlanPolicy
from airflow_aimod.core.registry import get_agent, routing_catalog
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel


class Harness:
    """Builds the graph fresh for every call, as a resumed Airflow task would."""

    def __init__(self, url, model=None, policy=None):
        self.url, self.model, self.policy = url, model or OfflineChatModel(), policy or PlanPolicy()
        self.spec = get_agent("workflow_coordinator")

    def _runner(self, saver, thread):
        runtime = AgentRuntime(spec=self.spec, envelope=self.spec.envelope, llm=self.model,
                               tracer=Tracer(trace_id="plan-trace", agent=self.spec.name, sinks=[ListSink()]))
        tools = CoordinatorTools(self.policy, agents=routing_catalog())
        return AgentRunner(build_graph(runtime, tools), saver, thread_id=thread)

    def start(self, request, thread="t"):
        with open_checkpointer(self.url) as saver:
            state = initial_state(request=request, agent=self.spec.name, tier=1, trace_id="plan-trace")
            return self._runner(saver, thread).start(state)

    def resume(self, answer, thread="t"):
        with open_checkpointer(self.url) as saver:
            return self._runner(saver, thread).resume(answer)


@pytest.fixture
def harness(tmp_path):
    return lambda **kw: Harness(f"sqlite:///{tmp_path}/checkpoints.sqlite", **kw)


def agents(result):
    return [(s["agent"], s["depends_on"]) for s in result["steps"]]


@pytest.mark.parametrize(("request_text", "expected"), [
    ("how many orders were placed per country, then profile the customers table",
     [("sql_agent", []), ("data_profiler", ["s1"])]),
    ("profile the products table and count orders by status; then summarize the results",
     [("data_profiler", []), ("sql_agent", []), ("summarizer", ["s2"])]),
    ("1) show the top 5 products by sales 2) give me a short summary of those numbers",
     [("sql_agent", []), ("summarizer", ["s1"])]),
])
def test_the_offline_engine_plans_runnable_requests(harness, request_text, expected):
    run = harness().start(request_text)
    assert run.state["status"] == "answered", run.state["reason"]
    result = run.state["result"]
    assert result["decision"] == "run" and agents(result) == expected
    assert all(s["token_budget"] == 24_000 // len(expected) for s in result["steps"])
    assert run.state["token_usage"]["llm_calls"] == 1


def test_a_capability_no_agent_has_is_marked_unsupported_and_said(harness):
    run = harness().start("count orders by status, then bake a birthday cake for the team")
    result = run.state["result"]
    assert run.state["status"] == "refused" and result["decision"] == "unsupported"
    assert [s["status"] for s in result["steps"]] == ["ok", "unsupported"]
    assert "bake a birthday cake" in run.state["reason"]
    assert not run.interrupt


def test_an_unsure_step_pauses_the_whole_plan_once_and_approval_runs_it(harness):
    h = harness()
    paused = h.start("check the payments table for nulls and outliers, then summarize the findings")
    assert paused.paused
    request = ApprovalRequest.from_payload(paused.interrupt)
    # "nulls and outliers" splits between the profiler and the anomaly detector: either best guess, unsure
    assert request.action == "handoff" and "below 0.85" in request.body
    assert "| s1 | data_profiler |" in request.body or "| s1 | anomaly_detector |" in request.body
    assert json.loads(request.editable[0].value)[1]["agent"] == "summarizer"
    done = h.resume({"decision": "approve", "reviewer": "ana"})
    result = done.state["result"]
    assert done.state["status"] == "answered" and result["decision"] == "run" and result["reviewed_by"] == "ana"
    assert done.state["approvals"][0]["decision"] == "approve" and done.state["token_usage"]["llm_calls"] == 1


def test_rejection_and_edits_are_checked_again(harness):
    h = harness()
    h.start("check the payments table for nulls and outliers, then summarize the findings", thread="a")
    rejected = h.resume({"decision": "reject", "reviewer": "bo"}, thread="a")
    assert rejected.state["status"] == "refused" and rejected.state["result"]["decision"] == "refused"
    loop = [{"id": "s1", "agent": "sql_agent", "request": "count rows"},
            {"id": "s2", "agent": "data_profiler", "request": "profile payments", "depends_on": ["s1"]},
            {"id": "s3", "agent": "sql_agent", "request": "count again", "depends_on": ["s2"]}]
    h.start("check the payments table for nulls and outliers, then summarize the findings", thread="b")
    bad = h.resume({"decision": "edit", "edits": {"plan": json.dumps(loop)}, "reviewer": "eve"}, thread="b")
    assert bad.state["status"] == "refused" and "revisits sql_agent" in bad.state["reason"]
    h.start("check the payments table for nulls and outliers, then summarize the findings", thread="c")
    good = h.resume({"decision": "edit", "edits": {"plan": json.dumps(loop[:2])}, "reviewer": "ana"}, thread="c")
    assert good.state["status"] == "answered" and agents(good.state["result"]) == [("sql_agent", []),
                                                                                   ("data_profiler", ["s1"])]


def step(i, agent="sql_agent", deps=(), conf=0.99):
    return {"id": f"s{i}", "agent": agent, "request": f"part {i}", "depends_on": list(deps), "confidence": conf}


@pytest.mark.parametrize(("reply", "needle"), [
    ({"steps": [step(i) for i in range(50)]}, "more than the maximum"),
    ({"steps": [step(1, deps=["s2"]), step(2, "data_profiler", ["s1"])]}, "cycle"),
    ({"steps": [step(1), step(2, "data_profiler", ["s1"]), step(3, "sql_agent", ["s2"])]}, "revisits sql_agent"),
    ({"steps": [step(1), step(2, "workflow_coordinator", ["s1"])]}, "revisits workflow_coordinator"),
    ({"steps": "DROP TABLE plans"}, "no usable plan"),
    ({"steps": [step(1, conf=7.0), step(2, "data_profiler", ["s1"], conf=0.2)]}, "below 0.85"),
])
def test_a_hostile_plan_goes_to_a_person_with_the_reason(harness, reply, needle):
    run = harness(model=ScriptedChatModel.of([reply])).start("do several things")
    assert run.paused, run.state.get("reason")
    request = ApprovalRequest.from_payload(run.interrupt)
    assert needle in request.body


@pytest.mark.parametrize(("reply", "needle"), [
    ({"steps": [step(1), step(2, "wizard", ["s1"])]}, "'wizard' is not an agent"),
    ({"steps": [step(1), step(2, "training_orchestrator", ["s1"])]}, "cannot run as a plan step"),
])
def test_a_hostile_plan_naming_agents_outside_the_envelope_is_unsupported(harness, reply, needle):
    run = harness(model=ScriptedChatModel.of([reply])).start("do several things")
    assert run.state["status"] == "refused" and needle in run.state["reason"] and not run.paused


def test_an_agent_whose_envelope_needs_approval_pauses_the_plan(harness):
    env = get_agent("sql_agent").envelope.override({"require_approval": ["sql.read"]})
    run = harness(policy=PlanPolicy(envelopes={"sql_agent": env})).start("count orders by status")
    assert run.paused and "sql.read by sql_agent needs a person's approval" in run.interrupt["body"]


def test_an_envelope_without_handoff_ends_the_run_for_a_person_not_with_a_crash(tmp_path):
    h = Harness(f"sqlite:///{tmp_path}/c.sqlite")
    spec = get_agent("workflow_coordinator")
    h.spec = type(spec)(**{**spec.__dict__, "envelope": spec.envelope.override(
        {"allow": ["llm.call", "airflow.read", "airflow.trigger_dag"]})})
    run = h.start("count orders by status, then profile the customers table")
    assert run.state["status"] == "escalated" and "handoff" in run.state["reason"]


class Ledger:
    """A run ledger with ``left`` tokens: ``reserve`` holds the plan's tokens or raises, as PlanReservation does."""

    def __init__(self, left):
        self.left, self.held = left, []

    def reserve(self, tokens):
        from airflow_aimod.exceptions import BudgetExceeded

        if tokens > self.left:
            raise BudgetExceeded(f"the plan needs {tokens} tokens but the run has {self.left} left")
        self.held.append(tokens)


class ReservingHarness(Harness):
    def __init__(self, url, ledger):
        super().__init__(url)
        self.ledger = ledger

    def _runner(self, saver, thread):
        runtime = AgentRuntime(spec=self.spec, envelope=self.spec.envelope, llm=self.model,
                               tracer=Tracer(trace_id="plan-trace", agent=self.spec.name, sinks=[ListSink()]))
        tools = CoordinatorTools(self.policy, agents=routing_catalog(), reserve=self.ledger.reserve)
        return AgentRunner(build_graph(runtime, tools), saver, thread_id=thread)


RUNNABLE = "how many orders were placed per country, then profile the customers table"


def test_an_accepted_plan_reserves_its_total(tmp_path):
    ledger = Ledger(30_000)
    run = ReservingHarness(f"sqlite:///{tmp_path}/c.sqlite", ledger).start(RUNNABLE)
    assert run.state["status"] == "answered" and run.state["result"]["reserved_tokens"] == 24_000
    assert ledger.held == [24_000]


def test_a_plan_the_run_cannot_afford_goes_to_a_person_and_an_unchanged_approval_is_refused(tmp_path):
    harness = ReservingHarness(f"sqlite:///{tmp_path}/c.sqlite", Ledger(20_000))
    paused = harness.start(RUNNABLE)
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert "the plan needs 24000 tokens but the run has 20000 left" in request.body
    refused = harness.resume({"decision": "approve", "reviewer": "ana"})
    assert refused.state["status"] == "refused" and refused.state["result"]["reserved_tokens"] == 0
    assert "the approved plan cannot run: the plan needs 24000 tokens" in refused.state["reason"]


def test_a_person_who_lowers_the_step_budgets_lets_the_plan_run(tmp_path):
    ledger = Ledger(20_000)
    harness = ReservingHarness(f"sqlite:///{tmp_path}/c.sqlite", ledger)
    plan = json.loads(ApprovalRequest.from_payload(harness.start(RUNNABLE).interrupt).editable[0].value)
    for step in plan:
        step["token_budget"] = 5000
    run = harness.resume({"decision": "edit", "reviewer": "ana", "edits": {"plan": json.dumps(plan)}})
    assert run.state["status"] == "answered" and run.state["result"]["reserved_tokens"] == 10_000
    assert ledger.held == [10_000] and run.state["result"]["reviewed_by"] == "ana"
