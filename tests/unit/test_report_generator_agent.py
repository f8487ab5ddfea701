"""The report generator graph: sections from the outcomes, a checked narrative, files written through report.write."""

from __future__ import annotations

from airflow_aimod.core.agents.report_generator import ReportTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.reporting import ReportRenderer
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from tests.support.scripted import ScriptedChatModel

INPUTS = {
    "orders_check": {"agent": "anomaly_detector", "status": "answered", "reason": "1 of 12 point(s) flagged",
                     "trace_id": "tr-1", "token_usage": {"total_tokens": 314},
                     "result": {"subject": "orders per hour", "assessment": {"verdict": "anomalous"},
                                "detection": {"flags": [{"value": 410}]}}},
    "brief": {"agent": "summarizer", "status": "refused", "reason": "not faithful", "trace_id": "tr-2",
              "token_usage": {"total_tokens": 1207}, "result": {}},
}


def run(tmp_path, model=None, kind="pipeline_health", formats=("html", "md")):
    spec = get_agent("report_generator")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-r", agent=spec.name, sinks=[ListSink()]))

    def write(name, data):
        (tmp_path / name).write_bytes(data)
        return str(tmp_path / name)

    tools = ReportTools(kind=kind, inputs=INPUTS, renderer=ReportRenderer(formats=formats, basename=kind), write=write,
                        meta={"dag_id": "d", "run_id": "r"})
    with open_checkpointer("memory://") as saver:
        state = initial_state(request="report", agent=spec.name, tier=4, trace_id="t-r")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="r").start(state).state


def test_the_report_holds_the_outcomes_numbers_a_chart_and_a_faithful_narrative(tmp_path):
    state = run(tmp_path)
    result = state["result"]
    assert state["status"] == "answered" and result["faithful"] and result["narrative"]
    html = (tmp_path / "pipeline_health.html").read_text()
    assert "data:image/png;base64," in html and ">314<" in html and ">1207<" in html and "tr-1" in html
    markdown = (tmp_path / "pipeline_health.md").read_text()
    assert "| orders_check | anomaly_detector | answered | 314 |" in markdown
    assert any(p.suffix == ".png" and p.stat().st_size > 1000 for p in tmp_path.iterdir())
    writes = [e for e in state["events"] if e["kind"] == "tool_call"]
    assert len(writes) == len(result["files"]) == 3


def test_a_narrative_with_invented_numbers_is_rewritten_once_then_left_out(tmp_path):
    lie = {"narrative": "Tokens rose to 9,999 after the Berlin outage.", "confidence": 1.0}
    state = run(tmp_path, ScriptedChatModel.of([lie, lie]))
    result = state["result"]
    assert state["status"] == "answered" and result["narrative"] is None and not result["faithful"]
    assert {u["text"] for u in result["unsupported"]} >= {"9,999"}
    assert "9,999" not in (tmp_path / "pipeline_health.html").read_text()


def test_a_data_quality_report_of_outcomes_without_checks_still_lists_the_runs(tmp_path):
    state = run(tmp_path, kind="data_quality", formats=("md",))
    assert [s["heading"] for s in state["result"]["sections"]] == ["Checks", "Agent tasks of this run"]
