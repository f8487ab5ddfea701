"""Tier 4 report generator: HTML/Markdown/PDF reports whose numbers come from the data, never the model.

Graph: ``assemble`` (the report kind's sections from the upstream outcomes and store metrics:
tables and charts) → ``narrate`` (one LLM call, task ``write_narrative``, written from the sections'
facts and checked by the summarizer's ``FaithfulnessChecker``; an unfaithful narrative is re-written
once, then left out) → ``publish`` (rendered, each file written through ``report.write``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import narrative_messages
from airflow_aimod.core.reporting import KINDS, ReportRenderer, build_sections, facts_text
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.core.summaries import FaithfulnessChecker

MAX_ATTEMPTS = 2


class ReportTools:
    """The report kind, its inputs (task id → outcome; store metrics), the renderer and the file writer."""

    def __init__(self, *, kind: str, inputs: Mapping[str, Mapping[str, Any]], renderer: ReportRenderer,
                 write: Callable[[str, bytes], str], metrics: Mapping[str, Any] | None = None,
                 meta: Mapping[str, Any] | None = None, narrative_words: int = 80) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}; use one of {sorted(KINDS)}")
        self.kind, self.inputs, self.renderer, self.write = kind, dict(inputs), renderer, write
        self.metrics, self.meta, self.narrative_words = dict(metrics or {}), dict(meta or {}), narrative_words


def build_graph(runtime: AgentRuntime, tools: ReportTools) -> StateGraph:
    """The report generator graph, uncompiled."""
    nodes = _ReportNodes(runtime, tools)
    builder = StateGraph(AgentState)
    for name in ("assemble", "narrate", "publish"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "assemble")
    builder.add_conditional_edges("assemble", unless_done("narrate"))
    builder.add_conditional_edges("narrate", unless_done(lambda s: "publish" if s["work"].get("narrated") else "narrate"))
    builder.add_edge("publish", END)
    return builder


class _ReportNodes:
    def __init__(self, runtime: AgentRuntime, tools: ReportTools) -> None:
        self.rt, self.tools = runtime, tools

    def assemble(self, state: AgentState) -> dict[str, Any]:
        sections = build_sections(self.tools.kind, self.tools.inputs, self.tools.metrics)
        if not sections:
            return self.rt.finish("assemble", Status.REFUSED, f"no data for a {self.tools.kind} report: give "
                                  "source_task_ids whose outcomes it reads", result={"kind": self.tools.kind})
        return self.rt.update("assemble", work={"sections": sections, "facts": facts_text(sections)})

    def narrate(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        failed = list(work.get("unsupported") or [])
        prompt = narrative_messages(state["request"], self.tools.kind, work["facts"],
                                    max_words=self.tools.narrative_words, unsupported=failed)
        try:
            reply = self.rt.ask_json(state, prompt)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("narrate", exc)
        text = " ".join(str(reply.data.get("narrative") or reply.data.get("summary") or "").split())
        attempts = int(work.get("attempts") or 0) + 1
        report = FaithfulnessChecker().check(work["facts"], text) if text else None
        faithful = bool(report and report.faithful)
        done = faithful or attempts >= MAX_ATTEMPTS
        return self.rt.update("narrate", events=reply.events, token_usage=reply.usage, work={
            "attempts": attempts, "narrated": done, "narrative": text if faithful else None,
            "unsupported": report.unsupported if report else [], "faithful": faithful})

    def publish(self, state: AgentState) -> dict[str, Any]:
        work, tools = state["work"], self.tools
        title = f"{KINDS[tools.kind][0]} — {tools.meta.get('dag_id') or 'AiMod'}"
        trace_ids = sorted({str(o.get("trace_id")) for o in tools.inputs.values() if o.get("trace_id")})
        document = {"title": title, "sections": work["sections"], "narrative": work.get("narrative"),
                    "faithful": work.get("faithful", False), "trace_ids": trace_ids, "trace_id": state["trace_id"],
                    "dag_id": tools.meta.get("dag_id", ""), "run_id": tools.meta.get("run_id", ""),
                    "generated_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        events: list[dict[str, Any]] = []
        files: dict[str, str] = {}
        try:
            rendered = tools.renderer.render(document)
            for name, data in rendered.items():
                out = self.rt.tool(Action("report.write", target=name, params={"bytes": len(data)}),
                                   lambda name=name, data=data: tools.write(name, data))
                files[name], events = out.value, [*events, *out.events]
        except ValueError as exc:
            return self.rt.finish("publish", Status.REFUSED, str(exc), events=events, result={"kind": tools.kind})
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("publish", exc, events=events)
        result = {"kind": tools.kind, "title": title, "files": files, "uris": _by_format(files),
                  "sections": [{"heading": s["heading"], "columns": s["table"]["columns"], "rows": s["table"]["rows"]}
                               for s in work["sections"]],
                  "narrative": work.get("narrative"), "faithful": work.get("faithful", False),
                  "unsupported": work.get("unsupported") or [], "trace_ids": trace_ids}
        reason = f"{tools.kind} report written: {', '.join(sorted(_by_format(files)))}"
        if not work.get("faithful"):
            reason += " (the narrative failed the faithfulness check and was left out)"
        return self.rt.finish("publish", Status.ANSWERED, reason, events=events, result=result)


def _by_format(files: Mapping[str, str]) -> dict[str, str]:
    return {name.rsplit(".", 1)[-1]: uri for name, uri in files.items() if not name.endswith(".png")}


__all__: Sequence[str] = ("ReportTools", "build_graph")
