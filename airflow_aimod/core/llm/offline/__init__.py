"""The deterministic offline engine: route classifier, NL-to-SQL composer and the chat model.

``route/`` scores agents for a request, ``nl2sql/`` composes one SELECT over a live catalog,
``chat.OfflineChatModel`` puts them behind LangChain's chat-model interface. The package import
is cheap: ``OfflineChatModel`` (and LangChain with it) loads only when it is asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OfflineChatModel"]


def __getattr__(name: str) -> Any:
    if name == "OfflineChatModel":
        from airflow_aimod.core.llm.offline.chat import OfflineChatModel

        return OfflineChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
