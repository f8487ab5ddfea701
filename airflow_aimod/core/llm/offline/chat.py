"""The deterministic offline engine, behind LangChain's chat-model interface.

It answers the prompts of ``airflow_aimod.core.prompts`` from their context block
only: routing with a real text classifier over the agents' descriptions and
examples, NL-to-SQL with a semantic parser over the live catalog. Anything else, it
declines in JSON. Usage is counted from the text it read and wrote.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from airflow_aimod.core.budget import estimate_tokens
from airflow_aimod.core.llm.engine import answer_context
from airflow_aimod.core.prompts import read_context


class OfflineChatModel(BaseChatModel):
    """Deterministic chat model that needs no key and no network."""

    model_name: str = "aimod-offline-1"

    @property
    def _llm_type(self) -> str:
        return "aimod-offline"

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:
        """Tools are not used by the offline engine; returning self keeps agent code uniform."""
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        prompt = "\n".join(_text(m) for m in messages)
        context = None
        for message in reversed(messages):
            context = read_context(_text(message))
            if context is not None:
                break
        content = json.dumps(answer_context(context), sort_keys=True)
        usage = {"input_tokens": estimate_tokens(prompt), "output_tokens": estimate_tokens(content)}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        message = AIMessage(content=content, usage_metadata=usage,
                            response_metadata={"model_name": self.model_name})
        return ChatResult(generations=[ChatGeneration(message=message)])


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else json.dumps(message.content)
