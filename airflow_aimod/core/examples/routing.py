"""Verified examples teach the router: each becomes one more example of the agent it went to.

A request a reviewer sent to an agent (``task_router`` examples, answer = the agent) and a
question the SQL agent answered and a person verified (``sql_agent`` examples) both say
"requests like this go there". The router's agents list gains them as examples, which the
offline classifier and an LLM both read; at most ``per_agent`` per agent, most recent first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_aimod.core.examples.store import Example


def route_of(example: Example) -> str | None:
    """The agent ``example`` teaches the router to pick, or None."""
    return example.answer.strip() if example.agent == "task_router" else example.agent


def teach_router(agents: Sequence[Mapping[str, Any]], examples: Sequence[Example], *,
                 per_agent: int = 50) -> list[dict[str, Any]]:
    """``agents`` with verified requests appended to their ``examples`` (unknown agents are skipped)."""
    taught: dict[str, list[str]] = {}
    for example in sorted(examples, key=lambda e: -e.verified_at):
        name = route_of(example)
        if name and len(taught.setdefault(name, [])) < per_agent and example.question not in taught[name]:
            taught[name].append(example.question[:500])
    return [{**dict(a), "examples": [*a.get("examples", ()), *taught.get(a["name"], ())]} for a in agents]
