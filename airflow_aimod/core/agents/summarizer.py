"""Tier 4 summarizer: a summary within a word budget whose every claim the source supports.

Graph: ``draft`` (one LLM call, task ``summarize``) → ``check`` (``FaithfulnessChecker``: each
number, date, name and direction word looked up in the source). An unsupported claim is
removed and the summary re-written once (``draft`` again, told what failed); a summary that
still fails is not delivered: the outcome is ``refused`` and lists the claims that failed.
The checker decides; the model only writes.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.prompts import summary_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.core.summaries import AUDIENCES, FaithfulnessChecker, word_count

MAX_ATTEMPTS = 2
MAX_SOURCE_CHARS = 200_000


class SummarizerTools:
    """The source text, the word budget, the audience and the checker."""

    def __init__(self, *, source: str, max_words: int = 80, audience: str = "engineer",
                 checker: FaithfulnessChecker | None = None) -> None:
        if not isinstance(source, str):
            raise ValueError("the source must be text (use core.summaries.source_text for an XCom value)")
        if not 5 <= max_words <= 2000:
            raise ValueError(f"max_words must be between 5 and 2000, got {max_words}")
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {list(AUDIENCES)}, got {audience!r}")
        self.source, self.max_words, self.audience = source[:MAX_SOURCE_CHARS], max_words, audience
        self.checker = checker or FaithfulnessChecker()


def build_graph(runtime: AgentRuntime, tools: SummarizerTools) -> StateGraph:
    """The summarizer graph, uncompiled."""
    nodes = _SummarizerNodes(runtime, tools)
    builder = StateGraph(AgentState)
    builder.add_node("draft", nodes.draft)
    builder.add_node("check", nodes.check)
    builder.add_edge(START, "draft")
    builder.add_conditional_edges("draft", unless_done("check"))
    builder.add_conditional_edges("check", unless_done("draft"))
    return builder


def _trimmed(summary: str, max_words: int) -> str:
    words = summary.split()
    return summary if len(words) <= max_words else " ".join(words[:max_words]) + " …"


class _SummarizerNodes:
    def __init__(self, runtime: AgentRuntime, tools: SummarizerTools) -> None:
        self.rt, self.tools = runtime, tools

    def draft(self, state: AgentState) -> dict[str, Any]:
        work = state.get("work") or {}
        if not self.tools.source.strip():
            return self.rt.finish("draft", Status.REFUSED, "the source is empty: there is nothing to summarize",
                                  result=self._result(None, False, [], 0))
        failed = list(work.get("unsupported") or [])
        prompt = summary_messages(state["request"], self.tools.source, max_words=self.tools.max_words,
                                  audience=self.tools.audience, unsupported=failed)
        try:
            reply = self.rt.ask_json(state, prompt)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("draft", exc)
        summary = _trimmed(str(reply.data.get("summary") or "").strip(), self.tools.max_words)
        attempts = int(work.get("attempts") or 0) + 1
        return self.rt.update("draft", events=reply.events, token_usage=reply.usage,
                              work={"draft": summary, "attempts": attempts,
                                    "refusal": reply.data.get("refusal"), "confidence": reply.confidence})

    def check(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        summary, attempts = work["draft"], work["attempts"]
        if not summary:
            why = work.get("refusal") or "the model wrote no summary"
            return self.rt.finish("check", Status.REFUSED, str(why)[:500], result=self._result(None, False, [], attempts))
        report = self.tools.checker.check(self.tools.source, summary)
        event = self.rt.tracer.event("guard", "faithfulness", allowed=report.faithful,
                                     claims=len(report.claims), unsupported=len(report.unsupported))
        if report.faithful:
            result = self._result(summary, True, [], attempts, claims=len(report.claims))
            return self.rt.finish("check", Status.ANSWERED, f"a faithful summary in {word_count(summary)} words",
                                  events=[event], confidence=work.get("confidence"), rationale=summary, result=result)
        if attempts < MAX_ATTEMPTS:
            return self.rt.update("check", events=[event], work={"unsupported": report.unsupported})
        claims = "; ".join(f"{u['text']!r} ({u['reason']})" for u in report.unsupported[:5])
        result = self._result(None, False, report.unsupported, attempts, draft=summary, claims=len(report.claims))
        return self.rt.finish("check", Status.REFUSED, f"the summary is not faithful to the source after "
                              f"{attempts} attempts: {claims}"[:1000], events=[event], result=result)

    def _result(self, summary: str | None, faithful: bool, unsupported: list, attempts: int, *,
                draft: str | None = None, claims: int = 0) -> dict[str, Any]:
        return {"summary": summary, "faithful": faithful, "unsupported": unsupported, "draft": draft,
                "audience": self.tools.audience, "max_words": self.tools.max_words,
                "words": word_count(summary) if summary else 0, "claims_checked": claims, "attempts": attempts}
