"""Run an agent graph to its end or to its pause, and resume it after a decision.

A run is identified by its thread id; the checkpointer keeps its state between the
pause and the resume, so the resumed graph continues at the node that paused, with
the person's answer, and nothing before it runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from airflow_aimod.core.state import AgentState, Status

RECURSION_LIMIT = 25  # graph steps per run: no agent loops without bound


@dataclass
class RunResult:
    """The state after a run, and the interrupt payload when it paused for a person."""

    state: AgentState
    interrupt: dict[str, Any] | None = None
    thread_id: str = ""
    carried_on: bool = False  # an earlier try's thread (waiting for or decided by a person) went on

    @property
    def paused(self) -> bool:
        return self.interrupt is not None


class AgentRunner:
    """Compiles one agent graph with a checkpointer and drives it on one thread id."""

    def __init__(self, builder: Any, checkpointer: Any, *, thread_id: str) -> None:
        self.graph = builder.compile(checkpointer=checkpointer)
        self.thread_id = thread_id
        self.config = {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}

    def start(self, initial: AgentState) -> RunResult:
        """Run from the start with ``initial`` as input."""
        self.graph.invoke(initial, self.config)
        return self._result()

    def resume(self, answer: dict[str, Any]) -> RunResult:
        """Continue a paused run with a person's ``answer``."""
        if self.pending() is None:
            raise RuntimeError(f"thread {self.thread_id} is not waiting for a decision")
        return self._answer(answer)

    def _answer(self, answer: dict[str, Any]) -> RunResult:
        from langgraph.types import Command

        self.graph.invoke(Command(resume=answer), self.config)
        return self._result()

    def continue_with(self, answer: dict[str, Any]) -> RunResult:
        """Resume with ``answer`` if the thread still waits; a thread past its pause is finished, never re-asked.

        A worker can die after the answer was applied but before the run ended: the remaining nodes
        then run from the last checkpoint (LangGraph is at-least-once per node).
        """
        snapshot = self.graph.get_state(self.config)  # one read of the checkpoint decides
        if _interrupt(snapshot) is not None:
            return self._answer(answer)
        if not snapshot.values:
            raise RuntimeError(f"no checkpoint for thread {self.thread_id}: check the checkpoint URL")
        if snapshot.next:
            self.graph.invoke(None, self.config)
        return self._result()

    def carry_on(self, earlier: Sequence[str]) -> RunResult | None:
        """Continue the latest of the ``earlier`` threads (the task's earlier tries, newest first) when it waits
        for a person or a person decided in it; ``None`` (start afresh) when it ended without a person or when
        no earlier try started a graph.

        Nothing before the pause runs again: a thread still waiting is returned paused, to be asked again (its
        try failed before the answer reached the graph — e.g. Airflow 3.3.2 failing a task answered as it
        parked, before it resumed); after a decision, unfinished nodes run from the last checkpoint, a run that
        ended on a retryable error (a timeout, a dropped connection) runs again from just after the decision,
        and any other end is returned as it was — the person is not asked twice, the approved action does not
        run twice.
        """
        for thread in earlier:
            config = {**self.config, "configurable": {"thread_id": thread}}
            snapshot = self.graph.get_state(config)
            if not snapshot.values:
                continue  # that try stopped before its graph started
            waiting = _interrupt(snapshot) is not None
            if not waiting and not snapshot.values.get("approvals"):
                return None
            self.thread_id, self.config = thread, config
            if not waiting:
                if snapshot.next:
                    self.graph.invoke(None, self.config)
                elif ((snapshot.values.get("work") or {}).get("error") or {}).get("retryable"):
                    self.graph.invoke(None, self._just_decided())
            return replace(self._result(), carried_on=True)
        return None

    def _just_decided(self) -> dict[str, Any]:
        """The config of the thread's first checkpoint after a person's decision (its next nodes pending)."""
        decided = [s for s in self.graph.get_state_history(self.config)
                   if s.values.get("approvals") and s.next and _interrupt(s) is None]
        return decided[-1].config if decided else self.config  # history is newest first

    def pending(self) -> dict[str, Any] | None:
        """The interrupt payload the thread waits on, or ``None``."""
        return _interrupt(self.graph.get_state(self.config))

    def _result(self) -> RunResult:
        snapshot = self.graph.get_state(self.config)
        state, payload = dict(snapshot.values), _interrupt(snapshot)
        if payload is not None:
            state["status"] = Status.NEEDS_APPROVAL.value
            state["reason"] = "waiting for a person's approval: " + "; ".join(payload.get("reasons") or [])
        return RunResult(AgentState(**state), payload, self.thread_id)


def _interrupt(snapshot: Any) -> dict[str, Any] | None:
    """The interrupt payload a state snapshot waits on, or ``None``."""
    for task in snapshot.tasks:
        for item in getattr(task, "interrupts", ()) or ():
            return item.value
    return None
