"""Tier 2 SQL agent: answer a question with one validated, read-only query.

Graph: ``load_schema`` → ``draft`` → ``validate`` ⇄ ``draft`` (at most two repairs)
→ ``approval`` (only when the envelope requires it: a person decides, ``ask_person``)
→ ``execute`` → end. Every tool call passes the permission envelope
(and so the SQL guard) first; ``execute`` re-validates what it is about to run.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.approval import APPROVE, EDIT, ApprovalRequest, EditableField, request_body
from airflow_aimod.core.grounding import ungrounded_references
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import sql_messages
from airflow_aimod.core.schema import Catalog
from airflow_aimod.core.state import AgentState, Status

MAX_REPAIRS = 2


def tokenize_words(text: str) -> list[str]:
    """Lower-case words with a crude plural strip, as example retrieval reads them."""
    from airflow_aimod.core.examples.retrieval import terms

    return terms(text)


class SqlAgentTools:
    """The SQL agent's tools: a read-only executor and a schema selector."""

    def __init__(self, executor: Any, selector: Any, *, max_rows: int = 1000, today: date | None = None,
                 examples: Any = None, vocabulary: Any = None) -> None:
        self.executor = executor
        self.selector = selector
        self.max_rows = max_rows
        self.today = today
        self.examples = examples  # question -> verified {"question", "sql"} pairs, closest first
        self.vocabulary = vocabulary  # (live Catalog, its samples on demand) -> what verified examples taught

    def verified_examples(self, question: str) -> list[dict[str, str]]:
        """Verified examples close to ``question`` (none without an example source)."""
        return list(self.examples(question)) if self.examples is not None else []

    def relevant_catalog(self, question: str, timeout_s: float) -> tuple[Catalog, list[dict[str, Any]]]:
        """Tables relevant to ``question``, with sample values filled in, and the learned words it uses
        (a learned word's table counts as named when the tables are chosen)."""
        full = self.executor.catalog()
        learned = self.vocabulary(full, lambda: self.executor.with_samples(full, timeout_s=timeout_s)).entries \
            if self.vocabulary is not None else []
        words = set(tokenize_words(question))
        used = [e for e in learned if set(tokenize_words(e.phrase)) <= words]
        hint = " ".join([question, *(f"{e.table} {e.column or ''}" for e in used)])
        chosen = self.selector.select(hint, full)
        catalog = self.selector.fit(hint, self.executor.with_samples(chosen, timeout_s=timeout_s))
        return catalog, [e.to_dict() for e in used]

    def run(self, sql: str, *, approved: bool, timeout_s: float) -> Any:
        """Run ``sql``; a query a person approved goes to the executor's approved-query connection if it has one
        (``executors.pii.PiiAwareExecutor``: ``pii_conn_id``), anything else to the agent's own."""
        run = getattr(self.executor, "run_approved", None) if approved else None
        return (run or self.executor.run)(sql, max_rows=self.max_rows, timeout_s=timeout_s)


def build_graph(runtime: AgentRuntime, tools: SqlAgentTools) -> StateGraph:
    """The SQL agent graph, uncompiled (the runner compiles it with a checkpointer)."""
    nodes = _SqlNodes(runtime, tools)
    builder = StateGraph(AgentState)
    for name in ("load_schema", "draft", "validate", "approval", "execute"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "load_schema")
    builder.add_conditional_edges("load_schema", unless_done("draft"))
    builder.add_conditional_edges("draft", unless_done("validate"))
    builder.add_conditional_edges("validate", _after_validate)
    builder.add_conditional_edges("approval", unless_done("execute"))
    builder.add_edge("execute", END)
    return builder


def _after_validate(state: AgentState) -> str:
    if state.get("status") != Status.RUNNING.value:
        return END
    work = state.get("work") or {}
    if work.get("feedback"):
        return "draft"
    return "approval" if work.get("requires_approval") else "execute"


class _SqlNodes:
    def __init__(self, runtime: AgentRuntime, tools: SqlAgentTools) -> None:
        self.rt = runtime
        self.tools = tools

    def load_schema(self, state: AgentState) -> dict[str, Any]:
        question = state.get("request", "").strip()
        if not question:
            return self.rt.finish("load_schema", Status.REFUSED, "the question is empty: ask something about the data")
        action = Action("db.introspect", target=self.rt.dialect, params={"question_chars": len(question)})
        try:
            out = self.rt.tool(action, lambda: self.tools.relevant_catalog(question, self.rt.spec.call_timeout_s))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("load_schema", exc)
        catalog, vocabulary = out.value
        tables = [t.name for t in catalog.tables]
        return self.rt.update("load_schema", events=out.events,
                              work={"catalog": catalog.to_dict(), "schema_tables": tables, "drafts": 0,
                                    "vocabulary": vocabulary})

    def draft(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        today = (self.tools.today or date.today()).isoformat()
        messages = sql_messages(state["request"], work["catalog"], dialect=self.rt.dialect, today=today,
                                feedback=work.get("feedback") or (),
                                examples=self.tools.verified_examples(state["request"]),
                                vocabulary=work.get("vocabulary") or ())
        try:
            reply = self.rt.ask_json(state, messages)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("draft", exc)
        data = reply.data
        confidence = reply.confidence
        changes = {"token_usage": reply.usage, "confidence": confidence,
                   "rationale": str(data.get("rationale") or "")[:2000]}
        sql = data.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            refusal = str(data.get("refusal") or "the model did not produce a query")
            return self.rt.finish("draft", Status.REFUSED, refusal, events=reply.events, **changes,
                                  result=_empty_result(None))
        drafts = int(work.get("drafts", 0)) + 1
        return self.rt.update("draft", events=reply.events, **changes,
                              work={"sql": sql.strip(), "drafts": drafts, "feedback": []})

    def validate(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        verdict, event = self.rt.check(Action("sql.read", target=self.rt.dialect, params={"sql": work["sql"]}))
        problems = list(verdict.reasons) if not verdict.allowed else []
        if verdict.allowed:
            problems = ungrounded_references(work["sql"], Catalog.from_dict(work["catalog"]))
        if problems and work["drafts"] > MAX_REPAIRS:
            reason = f"no valid query after {MAX_REPAIRS} repairs: " + "; ".join(problems)
            return self.rt.finish("validate", Status.REFUSED, reason, events=[event],
                                  work={"violations": problems}, result=_empty_result(work["sql"]))
        if problems:
            return self.rt.update("validate", events=[event], work={"feedback": problems, "violations": problems})
        details = verdict.details
        proposal = {"id": f"sql-{work['drafts']}", "kind": "sql.read", "sql": details.get("statement") or work["sql"],
                    "tables": details.get("tables", []), "requires_approval": verdict.requires_approval,
                    "reasons": list(verdict.reasons)}
        return self.rt.update("validate", events=[event], proposed_actions=[proposal],
                              work={"statement": proposal["sql"], "tables": proposal["tables"],
                                    "requires_approval": verdict.requires_approval, "feedback": []})

    def approval(self, state: AgentState) -> dict[str, Any]:
        """Pause for a person with the query; approve runs it, edit runs the reviewer's query (guarded again)."""
        proposal = state["proposed_actions"][-1]
        decision = self.rt.ask_person(approval_request(state, proposal, self.rt.spec.name))
        decided = self.rt.decided(decision, proposal["id"])
        if decision.decision == APPROVE:
            return self.rt.update("approval", **decided, work={"approved": True})
        if decision.decision == EDIT:
            return self._apply_edit(decision.edits["sql"], decided)
        return self.rt.finish("approval", Status.REJECTED, f"rejected by {decision.who()}", **decided,
                              result=_empty_result(proposal["sql"]))

    def _apply_edit(self, sql: str, decided: dict[str, Any]) -> dict[str, Any]:
        verdict, guard_event = self.rt.check(Action("sql.read", target=self.rt.dialect, params={"sql": sql}))
        events, approvals = [*decided["events"], guard_event], decided["approvals"]
        if not verdict.allowed:
            return self.rt.finish("approval", Status.REJECTED, "the edited query was refused: " + "; ".join(verdict.reasons),
                                  events=events, approvals=approvals, result=_empty_result(sql))
        statement = verdict.details.get("statement") or sql
        return self.rt.update("approval", events=events, approvals=approvals,
                              work={"approved": True, "statement": statement, "tables": verdict.details.get("tables", [])})

    def execute(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        statement = work["statement"]
        action = Action("sql.read", target=self.rt.dialect, params={"sql": statement})
        run = lambda: self.tools.run(statement, approved=bool(work.get("approved")),  # noqa: E731
                                     timeout_s=self.rt.spec.call_timeout_s)
        try:
            out = self.rt.tool(action, run, approved=bool(work.get("approved")))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("execute", exc)
        result = {"sql": statement, "tables": work.get("tables", []), **out.value.to_dict()}
        return self.rt.finish("execute", Status.ANSWERED, f"{result['row_count']} row(s)", events=out.events,
                              result=result)


def approval_request(state: AgentState, proposal: dict[str, Any], agent: str) -> ApprovalRequest:
    """What a person sees before a query that needs approval runs: the SQL (editable), tables, why."""
    work = state["work"]
    tables = ", ".join(work["tables"]) or "no table"
    editable = (EditableField("sql", work["statement"], "the SQL guard checks the edited query again before it runs"),)
    sections = ["**Proposed SQL:**", "", "```sql", work["statement"], "```", "", f"**Tables:** {tables}"]
    body = request_body(reasons=proposal["reasons"], question=state.get("request"), sections=sections,
                        confidence=state.get("confidence"), rationale=state.get("rationale"),
                        trace_id=state.get("trace_id"), editable=editable)
    return ApprovalRequest(agent=agent, action="sql.read", action_id=proposal["id"],
                           subject=f"{agent}: approve a query on {tables}?", body=body,
                           reasons=tuple(proposal["reasons"]), trace_id=state.get("trace_id"), editable=editable)


def _empty_result(sql: str | None) -> dict[str, Any]:
    """The result of a run that ran no query (the outcome fills the other result keys)."""
    return {"sql": sql}
