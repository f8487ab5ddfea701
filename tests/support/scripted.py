"""Scripted chat models: they return given replies in order, for tests of misbehaving models."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

Reply = str | dict | Callable[[list[BaseMessage]], str | dict]


class ScriptedChatModel(BaseChatModel):
    """Returns the scripted replies one per call (the last one repeats); records every prompt."""

    replies: list[Any]
    prompts: list[list[BaseMessage]] = []
    tokens_per_call: tuple[int, int] = (100, 20)

    @classmethod
    def of(cls, replies: Iterable[Reply], **kwargs: Any) -> ScriptedChatModel:
        return cls(replies=list(replies), prompts=[], **kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        reply = self.replies[min(len(self.prompts) - 1, len(self.replies) - 1)]
        if callable(reply):
            reply = reply(messages)
        content = reply if isinstance(reply, str) else json.dumps(reply)
        prompt_tokens, completion_tokens = self.tokens_per_call
        usage = {"input_tokens": prompt_tokens, "output_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=content, usage_metadata=usage))])
