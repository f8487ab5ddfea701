"""Chat models from a small, validated configuration: OpenAI(-compatible) or offline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

BACKENDS = ("openai", "offline")


@dataclass(frozen=True)
class LLMConfig:
    """How to reach a model. ``base_url`` points at any OpenAI-compatible server."""

    backend: str = "offline"
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    base_url: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    temperature: float = 0.0
    max_output_tokens: int = 1024

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigurationError(f"unknown LLM backend {self.backend!r}; use one of {', '.join(BACKENDS)}")
        if self.timeout_s <= 0 or self.max_retries < 0 or self.max_output_tokens <= 0:
            raise ConfigurationError("timeout must be positive, max_retries >= 0, max_output_tokens > 0")
        if self.backend == "openai" and not (self.api_key or self.base_url):
            raise ConfigurationError("the openai backend needs an API key (connection password) or a base URL "
                                     "of an OpenAI-compatible server (connection host)")


def build_chat_model(config: LLMConfig) -> Any:
    """Return a LangChain chat model for ``config`` (heavy imports happen here, not at import time)."""
    if config.backend == "offline":
        from airflow_aimod.core.llm.offline import OfflineChatModel

        return OfflineChatModel()
    from langchain_openai import ChatOpenAI

    from airflow_aimod.core.llm.deadline import deadline_http_client

    return ChatOpenAI(
        model=config.model, api_key=config.api_key or "not-needed", base_url=config.base_url,
        timeout=config.timeout_s, max_retries=config.max_retries, temperature=config.temperature,
        max_completion_tokens=config.max_output_tokens,
        use_responses_api=False,  # chat completions: what every OpenAI-compatible server speaks
        http_client=deadline_http_client(config.timeout_s),  # each request ends by its deadline, even a trickle
    )
