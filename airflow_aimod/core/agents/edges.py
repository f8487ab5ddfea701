"""Conditional edges every agent graph shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.state import AgentState, Status

NextNode = str | Callable[[AgentState], str]


def unless_done(next_node: NextNode) -> Callable[[AgentState], str]:
    """An edge to ``next_node`` (a name, or a function of the state) while the run is still running, else END."""

    def route(state: AgentState) -> str:
        if state.get("status") != Status.RUNNING.value:
            return END
        return next_node(state) if callable(next_node) else next_node

    return route


def chain(nodes: Any, names: Sequence[str]) -> StateGraph:
    """A graph running ``nodes``' methods ``names`` in order, each edge ``unless_done``, the last one to END."""
    builder = StateGraph(AgentState)
    for name in names:
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, names[0])
    for here, there in zip(names, names[1:]):
        builder.add_conditional_edges(here, unless_done(there))
    builder.add_edge(names[-1], END)
    return builder
