"""Conditional edges every agent graph shares."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.graph import END

from airflow_aimod.core.state import AgentState, Status

NextNode = str | Callable[[AgentState], str]


def unless_done(next_node: NextNode) -> Callable[[AgentState], str]:
    """An edge to ``next_node`` (a name, or a function of the state) while the run is still running, else END."""

    def route(state: AgentState) -> str:
        if state.get("status") != Status.RUNNING.value:
            return END
        return next_node(state) if callable(next_node) else next_node

    return route
