"""OpenTelemetry spans of agent runs (Airflow's tracing on, an in-memory exporter) and refusals (a success
with a warning by default, a failure with ``"refused"`` in ``fail_on_status``), under dag.test."""

from __future__ import annotations

import pytest

from tests.conftest import example_dag

pytestmark = pytest.mark.airflow
QUESTION = "How many orders were placed in 2024?"


@pytest.fixture(scope="module")
def exporter():
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another test set the global tracer provider first"
    return memory


def test_agent_runs_emit_genai_spans_under_the_current_span(airflow_db, exporter, monkeypatch):
    from opentelemetry import trace

    monkeypatch.setenv("AIRFLOW__TRACES__OTEL_ON", "True")
    dag = example_dag("aimod_conventions")
    with trace.get_tracer("test").start_as_current_span("dag-test") as parent:
        dag_run = dag.test(run_conf={"request": QUESTION})
    assert str(dag_run.state) == "success"
    spans = exporter.get_finished_spans()
    ours = [s for s in spans if s.attributes.get("aimod.trace_id")]
    llm = [s for s in ours if s.attributes["gen_ai.operation.name"] == "chat"]
    tools = [s for s in ours if s.attributes["gen_ai.operation.name"] == "execute_tool"]
    assert {s.attributes["gen_ai.agent.name"] for s in llm} == {"task_router", "sql_agent"}
    assert {s.attributes["gen_ai.tool.name"] for s in tools} >= {"sql.read"}
    assert len({s.attributes["aimod.trace_id"] for s in ours}) == 1  # the router's trace id, carried downstream
    ids = {s.context.span_id for s in spans} | {parent.get_span_context().span_id}
    for span in ours:
        assert span.context.trace_id == parent.get_span_context().trace_id
        assert span.parent is not None and span.parent.span_id in ids
        assert span.end_time >= span.start_time
    for span in llm:
        assert span.name == f"chat {span.attributes['gen_ai.request.model']}"
        assert span.attributes["gen_ai.usage.input_tokens"] > 0 and span.attributes["gen_ai.usage.output_tokens"] > 0


def test_no_spans_when_tracing_is_off(airflow_db, exporter, monkeypatch):
    monkeypatch.setenv("AIRFLOW__TRACES__OTEL_ON", "False")
    exporter.clear()
    dag_run = example_dag("aimod_conventions").test(run_conf={"request": QUESTION})
    assert str(dag_run.state) == "success"
    assert not [s for s in exporter.get_finished_spans() if s.attributes.get("aimod.trace_id")]


def test_refused_is_a_success_with_a_warning_unless_fail_on_status_names_it(airflow_db, capfd):
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = example_dag("aimod_strict").test(
        run_conf={"question": "Which of our pets prefers the blue haircut on Mondays?"})
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == "aimod_strict", TaskInstance.run_id == dag_run.run_id)}
        xcoms = {(x.task_id, x.key): x.value for x in session.query(XComModel).filter(
            XComModel.dag_id == "aimod_strict", XComModel.run_id == dag_run.run_id)}
    assert states == {"lenient": "success", "strict": "failed"}
    assert xcoms[("lenient", "return_value")]["status"] == "refused"
    assert xcoms[("strict", "aimod_outcome")]["status"] == "refused"
    logged = capfd.readouterr()
    assert "refused: " in logged.out + logged.err and "add 'refused' to fail_on_status" in logged.out + logged.err
