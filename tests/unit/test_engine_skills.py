"""The offline engine's skills table: every task it names has a module that answers it."""

from __future__ import annotations

import importlib

import pytest

from airflow_aimod.core.llm.engine import SKILLS, answer_context


@pytest.mark.parametrize("task", sorted(SKILLS))
def test_every_skill_module_exists_and_answers(task: str) -> None:
    assert callable(importlib.import_module(SKILLS[task]).answer)


@pytest.mark.parametrize("context", [None, {}, {"task": "write_poem"}, {"task": ["route"]}])
def test_unknown_tasks_are_declined_in_json(context: object) -> None:
    reply = answer_context(context)  # type: ignore[arg-type]
    assert reply["confidence"] == 0.0 and "no skill" in reply["refusal"]
