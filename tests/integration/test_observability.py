"""Airflow side of observability: metrics through Airflow's Stats, the health rule through a real
BaseNotifier, the sinks built from ``[aimod]`` config, and a run's outcome recorded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from airflow.sdk import BaseNotifier

from airflow_aimod.core.store import DashboardQueries, Outcome, StoreSink, open_store
from airflow_aimod.core.tracing import LogSink, Tracer
from airflow_aimod.observability import sinks as sinks_module
from airflow_aimod.observability.health import HealthRule
from airflow_aimod.observability.stats import StatsSink, stats_backend
from tests.unit import test_store as shared


class Recorder:
    """A StatsD-shaped backend that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def incr(self, stat, count=1, rate=1, *, tags=None):
        self.calls.append(("incr", stat, count, tags))

    def decr(self, stat, count=1, rate=1, *, tags=None):
        self.calls.append(("decr", stat, count, tags))

    def gauge(self, stat, value, rate=1, delta=False, *, tags=None):
        self.calls.append(("gauge", stat, value, tags))

    def timing(self, stat, dt, *, tags=None):
        self.calls.append(("timing", stat, dt, tags))


class RecordingNotifier(BaseNotifier):
    """A real Airflow notifier whose message is templated from the alert context."""

    template_fields = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.sent: list[str] = []

    def notify(self, context):
        self.sent.append(self.message)


@pytest.fixture
def airflow_stats():
    """Route Airflow's real Stats facade to a Recorder for one test, then restore it."""
    from airflow.sdk._shared.observability.metrics import stats as module

    saved = (module._factory, module._backend, module._export_legacy_names)
    recorder = Recorder()
    module.initialize(factory=lambda: recorder, export_legacy_names=False)
    yield recorder
    module._factory, module._backend, module._export_legacy_names = saved


def test_llm_calls_errors_and_outcomes_become_airflow_metrics(airflow_stats):
    assert stats_backend().incr.__module__.startswith("airflow.sdk")
    sink = StatsSink()
    tracer = Tracer(trace_id="t", agent="sql_agent", sinks=[sink])
    tracer.event("llm_call", "chat", model="m", input_tokens=120, output_tokens=30, latency_ms=250.0)
    tracer.event("error", "generate", error_type="AgentTimeout", message="slow")
    sink.outcome(Outcome(trace_id="t", agent="sql_agent", status="answered", started_at=10.0, ended_at=12.5))
    tags = {"agent": "sql_agent"}
    assert airflow_stats.calls == [
        ("incr", "aimod.agent.sql_agent.llm_calls", 1, tags), ("incr", "aimod.agent.sql_agent.llm_tokens", 150, tags),
        ("incr", "aimod.agent.sql_agent.llm_tokens_in", 120, tags),
        ("incr", "aimod.agent.sql_agent.llm_tokens_out", 30, tags),
        ("timing", "aimod.agent.sql_agent.llm_latency", 250.0, tags),
        ("incr", "aimod.agent.sql_agent.errors", 1, tags), ("incr", "aimod.agent.sql_agent.timeouts", 1, tags),
        ("incr", "aimod.agent.sql_agent.status.answered", 1, tags),
        ("timing", "aimod.agent.sql_agent.latency", 2500.0, tags)]


def test_a_broken_metrics_backend_never_breaks_the_run():
    class Broken:
        def incr(self, *a, **k):
            raise OSError("statsd down")

    Tracer(trace_id="t", agent="a", sinks=[StatsSink(Broken())]).event("llm_call", "chat", input_tokens=1)


def _queries(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    shared.build_dataset(store)
    return DashboardQueries(store)


def test_health_rule_alerts_through_a_notifier_when_success_drops(tmp_path):
    queries = _queries(tmp_path)  # sql_agent: 18 of 20 succeeded (90%); task_router 100%
    notifier = RecordingNotifier("{{ aimod_summary }} [{{ aimod_breaches | length }}]")
    assert HealthRule(min_success_rate=0.9).check(queries, notifier, now=shared.NOW) == []
    assert notifier.sent == []
    breaches = HealthRule(min_success_rate=0.95, window=timedelta(hours=1)).check(queries, notifier, now=shared.NOW)
    assert [(b.agent, b.success_rate, b.failed) for b in breaches] == [("sql_agent", 0.9, 2)]
    assert notifier.sent == ["AiMod health: 1 agent(s) below 95% of runs without error — sql_agent: 90% without "
                             "error over the last 1 h (2 of 20 runs failed) [1]"]


def test_the_health_rule_alerts_on_errors_and_not_on_escalations(tmp_path):
    """A router that hands most requests to a person is working as designed; one whose runs fail is not."""
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    for i, status in enumerate(["escalated"] * 7 + ["answered"] * 3 + ["failed"] * 2):
        agent = "task_router" if i < 10 else "summarizer"
        store.record_outcome(Outcome(trace_id=f"e{i}", agent=agent, status=status, started_at=shared.NOW - 600 + i,
                                     ended_at=shared.NOW - 500 + i, dag_id="d", run_id=f"r{i}", task_id=agent))
    for i in range(3):  # the summarizer: 2 failed of 5
        store.record_outcome(Outcome(trace_id=f"s{i}", agent="summarizer", status="answered",
                                     started_at=shared.NOW - 400 + i, ended_at=shared.NOW - 300 + i))
    breaches = HealthRule(min_success_rate=0.9).evaluate(DashboardQueries(store), now=shared.NOW)
    assert [(b.agent, b.success_rate, b.failed, b.escalated, b.finished) for b in breaches] == [
        ("summarizer", 0.6, 2, 0, 5)]


def test_health_rule_needs_enough_runs_and_valid_settings(tmp_path):
    queries = _queries(tmp_path)
    assert HealthRule(min_success_rate=0.95, min_runs=21).evaluate(queries, now=shared.NOW) == []
    assert HealthRule(min_success_rate=0.95, agents={"task_router"}).evaluate(queries, now=shared.NOW) == []
    assert HealthRule(window=7200).window == timedelta(hours=2)
    with pytest.raises(ValueError, match="0.9 means 90%"):
        HealthRule(min_success_rate=90)


def _context():
    ti = SimpleNamespace(dag_id="aimod_quickstart", run_id="manual__1", task_id="sql_agent",
                         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    return {"ti": ti}


def test_event_sinks_follow_the_store_url_config(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", f"sqlite:///{tmp_path / 's.sqlite'}")
    sinks = sinks_module.event_sinks(_context())
    assert [type(s) for s in sinks] == [LogSink, StatsSink, StoreSink]
    assert sinks[2].scope == {"dag_id": "aimod_quickstart", "run_id": "manual__1", "task_id": "sql_agent"}
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", "off")
    assert [type(s) for s in sinks_module.event_sinks(_context())] == [LogSink, StatsSink]


def test_default_store_is_embedded_under_airflow_home(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW__AIMOD__STORE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert sinks_module.store_url() == f"sqlite:///{tmp_path}/aimod/store.sqlite"


def test_record_run_stores_the_outcome_with_cost(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'run.sqlite'}"
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", url)
    monkeypatch.setenv("AIRFLOW__AIMOD__PRICE_TABLE", '{"gpt-4o-mini": {"input_per_1k": 0.15, "output_per_1k": 0.6}}')
    out = {"agent": "sql_agent", "status": "answered", "trace_id": "tr", "approvals": [{"decision": "approve"}],
           "token_usage": {"input_tokens": 2000, "output_tokens": 500, "llm_calls": 2}}
    events = [{"kind": "llm_call", "data": {"model": "gpt-4o-mini"}}]
    ended = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() + 42
    outcome = sinks_module.record_run(_context(), out, events=events, ended_at=ended)
    assert outcome.cost == pytest.approx(0.6) and outcome.needed_human
    row = open_store(url).fetch("SELECT dag_id, task_id, status, model, ended_at - started_at, needed_human FROM aimod_outcomes")
    assert row == [("aimod_quickstart", "sql_agent", "answered", "gpt-4o-mini", 42.0, 1)]
    monkeypatch.setenv("AIRFLOW__AIMOD__STORE_URL", "mysql://nope")
    assert sinks_module.record_run(_context(), out) is None  # logged, not raised
