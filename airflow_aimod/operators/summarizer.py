"""SummarizerOperator: a summary of upstream results or text that passed the faithfulness check."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

AUDIENCES = ("engineer", "stakeholder")


class SummarizerOperator(AgentOperator):
    """Summarize ``source`` (text, templated) and/or the XComs of ``source_task_ids`` for ``audience``.

    Every number, date, name and direction word of the summary is checked against the source; an
    unsupported claim is removed and the summary re-written once. The outcome's ``result`` holds
    ``summary`` (``None`` unless faithful), ``faithful``, ``unsupported`` (the claims that failed,
    with why) and ``draft``; a summary that stays unfaithful ends ``refused`` (add ``refused`` to
    ``fail_on_status`` to fail the task then).

    :param source: the text to summarize (templated); JSON or a rendered dict is read field by field.
    :param source_task_ids: upstream tasks whose return values are summarized (after ``source``).
    :param max_words: the length budget, in words (5–2000).
    :param audience: ``engineer`` (identifiers and errors kept) or ``stakeholder`` (numbers and changes first).
    """

    agent_name = "summarizer"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "source", "source_task_ids")

    def __init__(self, *, source: Any = None, source_task_ids: Sequence[str] = (), max_words: int = 80,
                 audience: str = "engineer", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if source is None and not source_task_ids:
            raise ConfigurationError("give source (text) or source_task_ids (upstream tasks to summarize)")
        if isinstance(source_task_ids, str):
            source_task_ids = [source_task_ids]
        if not isinstance(max_words, int) or not 5 <= max_words <= 2000:
            raise ConfigurationError(f"max_words must be a whole number between 5 and 2000, got {max_words!r}")
        if audience not in AUDIENCES:
            raise ConfigurationError(f"audience must be one of {list(AUDIENCES)}, got {audience!r}")
        self.source, self.source_task_ids = source, list(source_task_ids)
        self.max_words, self.audience = max_words, audience

    def request_text(self) -> str:
        what = ", ".join(self.source_task_ids) or "the given text"
        return f"Summarize {what} for a {self.audience} in at most {self.max_words} words"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[str]:
        """The source as one text: ``source`` then each upstream task's return value, flattened."""
        from airflow_aimod.core.summaries import source_text

        parts = [source_text(self.source)] if self.source not in (None, "") else []
        for task_id in self.source_task_ids:
            value = context["ti"].xcom_pull(task_ids=task_id)
            if value is not None:
                parts.append(source_text(value))
        yield "\n".join(parts)

    def build_graph(self, runtime: AgentRuntime, resources: str, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.summarizer import SummarizerTools, build_graph

        return build_graph(runtime, SummarizerTools(source=resources, max_words=self.max_words,
                                                    audience=self.audience))
