"""PhaseTimer (time injected) and a resume that opens its checkpointer without set-up."""

from __future__ import annotations

import itertools

from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.phases import PhaseTimer


def test_phases_add_up_in_the_order_they_ran():
    ticks = itertools.count(step=0.25)  # every clock read is 250 ms later
    timer = PhaseTimer(clock=lambda: next(ticks))
    with timer.phase("imports"):
        pass
    with timer.phase("run"):
        pass
    with timer.phase("imports"):  # entered twice: adds up
        pass
    assert timer.as_dict() == {"imports": 500.0, "run": 250.0}
    assert list(timer.as_dict()) == ["imports", "run"]


def test_a_phase_that_raises_is_timed_too():
    ticks = itertools.count(step=0.1)
    timer = PhaseTimer(clock=lambda: next(ticks))
    try:
        with timer.phase("run"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert timer.as_dict() == {"run": 100.0}


def test_a_resume_reads_the_checkpoint_its_pause_wrote_without_set_up(tmp_path):
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt
    from typing_extensions import TypedDict

    class State(TypedDict, total=False):
        answer: str

    def ask(state: State) -> State:
        return {"answer": interrupt("approve?")}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    url, config = f"sqlite:///{tmp_path / 'ckpt.sqlite'}", {"configurable": {"thread_id": "t1"}}
    with open_checkpointer(url) as saver:
        builder.compile(checkpointer=saver).invoke({}, config)
    from langgraph.types import Command

    with open_checkpointer(url, setup=False) as saver:
        graph = builder.compile(checkpointer=saver)
        assert graph.get_state(config).tasks[0].interrupts[0].value == "approve?"
        assert graph.invoke(Command(resume="yes"), config) == {"answer": "yes"}
